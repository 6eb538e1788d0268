import { create } from 'zustand';

/** What a user can ask a VM to do from the library. */
export type VmOperation = 'start' | 'pause' | 'resume' | 'shutdown' | 'powerOff';

export interface UiState {
  search: string;
  /** Host notices the user dismissed (by text) in this window. */
  dismissedNotices: string[];
  /** Operations sent to the engine and not yet answered, by VM id. */
  pending: Record<string, VmOperation>;
}

/** View state; only `actions/*` write to it. */
export const useUiStore = create<UiState>()(() => ({
  search: '',
  dismissedNotices: [],
  pending: {},
}));
