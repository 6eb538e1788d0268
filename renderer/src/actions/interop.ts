import type { LibvirtDiskMode, TaskInfo } from '../../../common/contract';
import { getBridge, toApiError, type ApiError } from '../bridge';
import { applyTaskEvent } from './tasks';

export interface LibvirtExportDraft {
  dir: string;
  disks: LibvirtDiskMode;
  nat: 'network' | 'user';
}

/**
 * Starts an export to libvirt: a task whose progress arrives as task events (the tasks store has
 * it at once). Refusals (a running VM, an export already there) come back here, before any task.
 */
export async function startLibvirtExport(
  vmId: string,
  draft: LibvirtExportDraft,
): Promise<{ ok: true; task: TaskInfo } | { ok: false; error: ApiError }> {
  try {
    const task = await getBridge().call('vm.exportLibvirt', {
      vm: vmId,
      dir: draft.dir.trim(),
      disks: draft.disks,
      nat: draft.nat,
    });
    applyTaskEvent(task);
    return { ok: true, task };
  } catch (err) {
    return { ok: false, error: toApiError(err) };
  }
}
