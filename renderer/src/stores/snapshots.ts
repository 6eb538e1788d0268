import { create } from 'zustand';
import type { SnapshotList } from '../../../common/contract';

export interface VmSnapshots {
  /** The engine's last answer to `snapshot.list`; kept while a refresh is in flight. */
  list: SnapshotList | null;
  status: 'loading' | 'ready' | 'error';
  error: string | null;
}

export interface SnapshotsState {
  /** By VM id: only VMs whose Snapshots tab was opened. */
  byVm: Record<string, VmSnapshots>;
  /** Screen images by `${vmId}/${snapshotId}`: a data URL, or null when the snapshot has none. */
  thumbs: Record<string, string | null>;
}

/** Only `actions/snapshots.ts` writes to it. */
export const useSnapshotsStore = create<SnapshotsState>()(() => ({ byVm: {}, thumbs: {} }));

export function thumbKey(vmId: string, snapshotId: string): string {
  return `${vmId}/${snapshotId}`;
}
