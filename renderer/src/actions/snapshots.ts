import type { SnapshotNode, TaskInfo } from '../../../common/contract';
import { getBridge, toApiError } from '../bridge';
import { thumbKey, useSnapshotsStore, type VmSnapshots } from '../stores/snapshots';
import { useTasksStore } from '../stores/tasks';
import { notifyError } from './notifications';
import { applyTaskEvent } from './tasks';

const loadSeq = new Map<string, number>();
const thumbsInFlight = new Set<string>();

function patchVm(vmId: string, patch: Partial<VmSnapshots>): void {
  useSnapshotsStore.setState((s) => {
    const prev = s.byVm[vmId] ?? { list: null, status: 'loading' as const, error: null };
    return { byVm: { ...s.byVm, [vmId]: { ...prev, ...patch } } };
  });
}

/** Asks the engine for the VM's snapshot tree (the newest request wins). */
export async function loadSnapshots(vmId: string): Promise<void> {
  const seq = (loadSeq.get(vmId) ?? 0) + 1;
  loadSeq.set(vmId, seq);
  if (!useSnapshotsStore.getState().byVm[vmId]) patchVm(vmId, { status: 'loading' });
  watchSnapshotTasks();
  try {
    const list = await getBridge().call('snapshot.list', { vm: vmId });
    if (loadSeq.get(vmId) !== seq) return;
    patchVm(vmId, { list, status: 'ready', error: null });
  } catch (err) {
    if (loadSeq.get(vmId) !== seq) return;
    const message = toApiError(err).message;
    useSnapshotsStore.setState((s) => {
      const prev = s.byVm[vmId];
      const next: VmSnapshots = prev?.list
        ? { ...prev, error: message }
        : { list: null, status: 'error', error: message };
      return { byVm: { ...s.byVm, [vmId]: next } };
    });
  }
}

/** Fetches a snapshot's screen image once (they never change). */
export async function loadThumbnail(vmId: string, node: SnapshotNode): Promise<void> {
  const key = thumbKey(vmId, node.id);
  if (key in useSnapshotsStore.getState().thumbs || thumbsInFlight.has(key)) return;
  if (!node.hasThumbnail) {
    useSnapshotsStore.setState((s) => ({ thumbs: { ...s.thumbs, [key]: null } }));
    return;
  }
  thumbsInFlight.add(key);
  try {
    const t = await getBridge().call('snapshot.thumbnail', { vm: vmId, snapshot: node.id });
    const url = t.pngBase64 ? `data:image/png;base64,${t.pngBase64}` : null;
    useSnapshotsStore.setState((s) => ({ thumbs: { ...s.thumbs, [key]: url } }));
  } catch {
    // A missing image is not worth a notification: the card shows a placeholder.
    useSnapshotsStore.setState((s) => ({ thumbs: { ...s.thumbs, [key]: null } }));
  } finally {
    thumbsInFlight.delete(key);
  }
}

/** Shows a task the engine just returned, unless its events got here first (they are newer). */
function track(task: TaskInfo): void {
  if (!useTasksStore.getState().tasks[task.id]) applyTaskEvent(task);
}

export function isSnapshotTask(task: TaskInfo, vmId: string): boolean {
  return task.vmId === vmId && task.kind.startsWith('snapshot.');
}

export async function createSnapshot(
  vmId: string,
  name: string,
  description: string,
): Promise<boolean> {
  try {
    track(await getBridge().call('snapshot.create', { vm: vmId, name, description }));
    return true;
  } catch (err) {
    notifyError(`Couldn’t take snapshot “${name}”`, err);
    void loadSnapshots(vmId);
    return false;
  }
}

export async function revertSnapshot(vmId: string, node: SnapshotNode): Promise<boolean> {
  try {
    track(await getBridge().call('snapshot.revert', { vm: vmId, snapshot: node.id }));
    return true;
  } catch (err) {
    notifyError(`Couldn’t revert to “${node.name}”`, err);
    void loadSnapshots(vmId);
    return false;
  }
}

export async function deleteSnapshot(vmId: string, node: SnapshotNode): Promise<boolean> {
  try {
    track(await getBridge().call('snapshot.delete', { vm: vmId, snapshot: node.id }));
    return true;
  } catch (err) {
    notifyError(`Couldn’t delete snapshot “${node.name}”`, err);
    void loadSnapshots(vmId);
    return false;
  }
}

/** Renames and/or re-describes a snapshot; only what changed is sent. */
export async function updateSnapshot(
  vmId: string,
  node: SnapshotNode,
  changes: { name?: string; description?: string },
): Promise<boolean> {
  const req: { vm: string; snapshot: string; name?: string; description?: string } = {
    vm: vmId,
    snapshot: node.id,
  };
  if (changes.name !== undefined && changes.name !== node.name) req.name = changes.name;
  if (changes.description !== undefined && changes.description !== node.description) {
    req.description = changes.description;
  }
  if (req.name === undefined && req.description === undefined) return true;
  try {
    await getBridge().call('snapshot.update', req);
    await loadSnapshots(vmId);
    return true;
  } catch (err) {
    notifyError(`Couldn’t save the changes to “${node.name}”`, err);
    return false;
  }
}

let watching = false;

/**
 * There is no snapshot event: the tree is re-read when a snapshot task of a VM whose timeline was
 * opened ends (whoever started it: this page, another window, the CLI through the same engine).
 */
function watchSnapshotTasks(): void {
  if (watching) return;
  watching = true;
  const seen = new Map<string, TaskInfo['state']>();
  for (const t of Object.values(useTasksStore.getState().tasks)) seen.set(t.id, t.state);
  useTasksStore.subscribe((s) => {
    for (const t of Object.values(s.tasks)) {
      const before = seen.get(t.id);
      if (before === t.state) continue;
      seen.set(t.id, t.state);
      if (!t.vmId || !t.kind.startsWith('snapshot.')) continue;
      if (!useSnapshotsStore.getState().byVm[t.vmId]) continue;
      // Started (the VM's state may change: canSnapshot) or ended (the tree changed).
      void loadSnapshots(t.vmId);
    }
  });
}
