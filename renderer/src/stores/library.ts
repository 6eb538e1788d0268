import { create } from 'zustand';
import type { ApiEvent, VmSummary } from '../../../common/contract';
import { assertNever } from '../lib/assert-never';

export type LibraryStatus = 'loading' | 'ready' | 'error';

export interface LibraryState {
  /** The VMs exactly as the engine last reported them, in the engine's order. */
  vms: VmSummary[];
  status: LibraryStatus;
  /** Why the list could not be loaded (status 'error'). */
  error: string | null;
}

/** The engine's events about the library's VMs. */
export type VmEvent = Extract<ApiEvent, { type: 'vm.state' | 'vm.added' | 'vm.removed' }>;

/** Holds what the engine reported; only actions write to it. */
export const useLibraryStore = create<LibraryState>()(() => ({
  vms: [],
  status: 'loading',
  error: null,
}));

export function findVm(id: string): VmSummary | undefined {
  return useLibraryStore.getState().vms.find((v) => v.id === id);
}

/** Replaces the VM with the same id, or appends it. */
export function upsertVm(vms: readonly VmSummary[], vm: VmSummary): VmSummary[] {
  const i = vms.findIndex((v) => v.id === vm.id);
  if (i < 0) return [...vms, vm];
  const next = vms.slice();
  next[i] = vm;
  return next;
}

export function removeVm(vms: readonly VmSummary[], id: string): VmSummary[] {
  return vms.filter((v) => v.id !== id);
}

/** The list after one event: the VM it carries replaces the old one, or goes. */
export function reduceVms(vms: readonly VmSummary[], event: VmEvent): VmSummary[] {
  switch (event.type) {
    case 'vm.state':
    case 'vm.added':
      return upsertVm(vms, event.vm);
    case 'vm.removed':
      return removeVm(vms, event.id);
    default:
      return assertNever(event);
  }
}
