/** The last step: vm.create with the user's choices, the chosen disk, then start or customize. */
import type { CreateVmRequest, VmSummary } from '../../../../common/contract';
import { getBridge, toApiError } from '../../bridge';
import { diskSizeText } from '../../features/wizard/lib';
import { derive } from '../../features/wizard/model';
import { useHostStore } from '../../stores/host';
import { upsertVm, useLibraryStore } from '../../stores/library';
import { useTasksStore } from '../../stores/tasks';
import { WIZARD_STEPS, type DiskMode, type WizardStep } from '../../stores/wizard';
import { notify } from '../notifications';
import { applyTaskEvent } from '../tasks';
import { closeDialog, openVm } from '../ui';
import { get, notifyNext, set, takenNames, waitForTask } from './shared';
import { goToStep } from './steps';

/** Which step a field the engine refused lives on. */
const FIELD_STEP: Record<string, WizardStep> = {
  name: 'name',
  memoryMiB: 'resources',
  cpus: 'resources',
  diskSize: 'resources',
  iso: 'media',
  os: 'os',
};

/**
 * vm.create with the profile's os and the user's choices, then the disk they asked for, then
 * (for "Create and start") vm.start. Opens the VM's Display tab, or Settings to customize.
 */
export async function createFromWizard(then: 'start' | 'customize'): Promise<void> {
  const s = get();
  if (s.creating) return;
  const host = useHostStore.getState().info;
  const d = derive(s, useTasksStore.getState().tasks, takenNames(), host?.totalMemoryMiB ?? null);
  const blocked = WIZARD_STEPS.find((step) => d.blockers[step]);
  if (blocked) {
    goToStep(blocked);
    return;
  }
  if (!d.defaults) return;
  const request: CreateVmRequest = {
    name: s.name.trim(),
    os: d.defaults.os,
    memoryMiB: s.memoryMiB,
    cpus: s.cpus,
    diskSize: s.diskMode === 'new' ? diskSizeText(s.diskGiB) : '0',
  };
  if (d.media.file && s.mediaKind !== 'none') request.iso = d.media.file;
  set({ creating: then, createError: null });

  let vm: VmSummary;
  const api = getBridge();
  try {
    vm = await api.call('vm.create', request);
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, vm) }));
  } catch (err) {
    const e = toApiError(err);
    const fields = e.fields ?? {};
    const step = Object.keys(fields)
      .map((f) => FIELD_STEP[f])
      .find(Boolean);
    set({ creating: null, createError: { message: e.message, fields }, ...(step ? { step } : {}) });
    if (step === 'name') return; // the field says it; nothing else to do
    notifyNext(
      'Couldn’t create the VM',
      e,
      step
        ? 'The wizard shows the field to change.'
        : 'Change the choices in the wizard and try again.',
    );
    return;
  }

  // The disk the user chose instead of a new one.
  const diskOk = await attachChosenDisk(vm, s.diskMode, s.diskFile.trim(), d.defaults.diskBus);
  const name = vm.name;
  if (then === 'customize' || !diskOk) {
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'settings');
    notify(
      {
        kind: 'info',
        title: `Created “${name}”`,
        message: 'Adjust its settings, then start it from the top bar to see the installer.',
      },
      8000,
    );
    return;
  }
  try {
    const started = await api.call('vm.start', { vm: vm.id });
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, started) }));
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'display');
    notify(
      {
        kind: 'info',
        title: `Started “${name}”`,
        message: request.iso
          ? 'Its installer appears on this tab. When the install is done, use “Eject install media and boot from disk” on the Overview tab.'
          : 'Its screen appears on this tab.',
      },
      9000,
    );
  } catch (err) {
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'overview');
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `“${name}” was created but did not start`,
      message: `${e.message} Its Overview shows what QEMU said: fix it in Settings, then start it.`,
      code: e.code,
      action: { type: 'openVm', vmId: vm.id, tab: 'settings', label: 'Open its settings' },
    });
  }
}

async function attachChosenDisk(
  vm: VmSummary,
  mode: DiskMode,
  file: string,
  bus: VmSummary['config']['disks'][number]['bus'],
): Promise<boolean> {
  if (mode !== 'existing' && mode !== 'import') return true;
  const api = getBridge();
  try {
    if (mode === 'existing') {
      const updated = await api.call('disk.add', { vm: vm.id, file, bus });
      useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, updated) }));
      return true;
    }
    const task = await api.call('disk.import', { vm: vm.id, file, bus });
    applyTaskEvent(task);
    const done = await waitForTask(task.id);
    if (done.state === 'succeeded') return true;
    notify({
      kind: 'error',
      title: `“${vm.name}” was created, but its disk was not imported`,
      message: `${done.error?.message ?? 'The import did not finish.'} Add a disk in its Settings, then start it.`,
    });
    return false;
  } catch (err) {
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `“${vm.name}” was created, but its disk was not attached`,
      message: `${e.message} Add a disk in its Settings, then start it.`,
      code: e.code,
    });
    return false;
  }
}
