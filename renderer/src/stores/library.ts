import { create } from 'zustand';
import type { VmSummary } from '../../../common/contract';

export type LibraryStatus = 'loading' | 'ready' | 'error';

export interface LibraryState {
  /** The VMs exactly as the engine last reported them, in the engine's order. */
  vms: VmSummary[];
  status: LibraryStatus;
  /** Why the list could not be loaded (status 'error'). */
  error: string | null;
}

/** Holds what the engine reported; only `actions/library.ts` writes to it. */
export const useLibraryStore = create<LibraryState>()(() => ({
  vms: [],
  status: 'loading',
  error: null,
}));

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
