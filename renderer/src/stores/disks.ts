import { create } from 'zustand';
import type { VmStorage } from '../../../common/contract';

export interface VmDisks {
  /** The engine's last answer to `disk.list` (sizes on the host); kept while a refresh runs. */
  storage: VmStorage | null;
  error: string | null;
}

/** Disks by VM id: only VMs whose Hardware tab, Overview or Settings was opened. */
export interface DisksState {
  byVm: Record<string, VmDisks>;
}

/** Only `actions/disks.ts` writes to it. */
export const useDisksStore = create<DisksState>()(() => ({ byVm: {} }));
