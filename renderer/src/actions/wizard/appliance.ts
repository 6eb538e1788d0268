/**
 * "Import an appliance": a package (an .ova uploaded from the browser into the media cache, or a
 * path on the computer that runs Vivarium) read by the engine, which says what the VM gets and
 * what it cannot carry over; then the import runs as a task whose progress the tasks store has.
 */
import type { VmSummary } from '../../../../common/contract';
import { getBridge, localFiles, pathForFile, toApiError, uploadFile } from '../../bridge';
import { APPLIANCE_INITIAL, useApplianceStore, type ApplianceState } from '../../stores/appliance';
import { useTasksStore } from '../../stores/tasks';
import { applyTaskEvent } from '../tasks';
import { closeDialog, openVm } from '../ui';
import { set as setWizard } from './shared';

const set = (patch: Partial<ApplianceState>): void => useApplianceStore.setState(patch);
const get = (): ApplianceState => useApplianceStore.getState();

let readSeq = 0;
let abortUpload: (() => void) | null = null;

export function showApplianceImport(on: boolean): void {
  abortUpload?.();
  abortUpload = null;
  readSeq++;
  useApplianceStore.setState({ ...APPLIANCE_INITIAL });
  setWizard({ appliance: on });
}

export function setAppliancePath(path: string): void {
  set({ path, summary: null, error: null });
}

export function setApplianceName(name: string): void {
  set({ name, importError: null });
}

/** Asks the engine to read and check the package at `path` (nothing is written). */
export async function readAppliance(path = get().path.trim()): Promise<void> {
  if (!path) return;
  const seq = ++readSeq;
  set({ path, reading: true, summary: null, error: null });
  try {
    const summary = await getBridge().call('appliance.inspect', { file: path });
    if (seq !== readSeq) return;
    set({ reading: false, summary, name: summary.name });
  } catch (err) {
    if (seq !== readSeq) return;
    set({ reading: false, error: toApiError(err).message });
  }
}

/** A dropped or chosen file: used where it is (Electron) or uploaded (a browser). */
export function takeApplianceFile(file: File): void {
  if (localFiles() === 'path') {
    const path = pathForFile(file);
    if (path) void readAppliance(path);
    return;
  }
  void uploadAppliance(file);
}

async function uploadAppliance(file: File): Promise<void> {
  abortUpload?.();
  const handle = uploadFile(file, ({ sent, total }) => {
    const up = get().upload;
    if (up) set({ upload: { ...up, bytesSent: sent, bytesTotal: total } });
  });
  abortUpload = () => handle.abort();
  set({
    path: '',
    summary: null,
    error: null,
    upload: { name: file.name, bytesSent: 0, bytesTotal: file.size, error: null },
  });
  try {
    const r = await handle.done;
    abortUpload = null;
    set({ upload: null });
    await readAppliance(r.file);
  } catch (err) {
    abortUpload = null;
    const up = get().upload;
    if (up) set({ upload: { ...up, error: toApiError(err).message } });
  }
}

/** Starts the import; when it succeeds the dialog closes on the new VM's page. */
export async function importAppliance(): Promise<void> {
  const { summary, name } = get();
  if (!summary) return;
  set({ importError: null });
  try {
    const task = await getBridge().call('appliance.import', {
      file: summary.file,
      name: name.trim() || summary.name,
    });
    applyTaskEvent(task);
    set({ taskId: task.id });
    const done = await new Promise<VmSummary | string>((resolve) => {
      const check = (): boolean => {
        const t = useTasksStore.getState().tasks[task.id];
        if (!t || t.state === 'running') return false;
        resolve(
          t.state === 'succeeded'
            ? (t.result as VmSummary)
            : (t.error?.message ?? 'The import was cancelled.'),
        );
        return true;
      };
      if (check()) return;
      const off = useTasksStore.subscribe(() => {
        if (check()) off();
      });
    });
    if (typeof done === 'string') {
      set({ taskId: null, importError: done });
      return;
    }
    showApplianceImport(false);
    closeDialog();
    openVm(done.id);
  } catch (err) {
    set({ taskId: null, importError: toApiError(err).message });
  }
}
