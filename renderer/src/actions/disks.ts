import type { Params, DiskInfo, TaskInfo, VmSummary } from '../../../common/contract';
import { getBridge, toApiError } from '../bridge';
import { useDisksStore, type VmDisks } from '../stores/disks';
import { applyTaskEvent } from './tasks';

import { outcome, type Outcome } from './outcome';
export type { Outcome } from './outcome';

const seqs = new Map<string, number>();

/** Asks for a VM's disks with their sizes on the host (the newest request wins). */
export async function loadDisks(vmId: string): Promise<void> {
  const seq = (seqs.get(vmId) ?? 0) + 1;
  seqs.set(vmId, seq);
  const set = (patch: Partial<VmDisks>) =>
    useDisksStore.setState((s) => ({
      byVm: {
        ...s.byVm,
        [vmId]: { storage: s.byVm[vmId]?.storage ?? null, error: null, ...patch },
      },
    }));
  try {
    const storage = await getBridge().call('disk.list', { vm: vmId });
    if (seqs.get(vmId) === seq) set({ storage, error: null });
  } catch (err) {
    if (seqs.get(vmId) === seq) set({ error: toApiError(err).message });
  }
}

/** Each change answers with the VM (or the disk); the list is read again for the sizes. */
async function thenReload<T>(vmId: string, p: Promise<T>): Promise<Outcome<T>> {
  const res = await outcome(p);
  void loadDisks(vmId);
  return res;
}

export function addDisk(params: Params<'disk.add'>): Promise<Outcome<VmSummary>> {
  return thenReload(params.vm, getBridge().call('disk.add', params));
}

export function detachDisk(params: Params<'disk.detach'>): Promise<Outcome<VmSummary>> {
  return thenReload(params.vm, getBridge().call('disk.detach', params));
}

export function resizeDisk(params: Params<'disk.resize'>): Promise<Outcome<DiskInfo>> {
  return thenReload(params.vm, getBridge().call('disk.resize', params));
}

export function updateDisk(params: Params<'disk.update'>): Promise<Outcome<VmSummary>> {
  return thenReload(params.vm, getBridge().call('disk.update', params));
}

/** Starts the import task; its progress shows in the task panel, like every task. */
export async function importDisk(params: Params<'disk.import'>): Promise<Outcome<TaskInfo>> {
  const res = await outcome(getBridge().call('disk.import', params));
  if (res.ok) applyTaskEvent(res.value);
  return res;
}
