import { create } from 'zustand';
import { parseHash, type Route } from '../lib/route';
import { isString, isStringArray, readStored } from '../lib/storage';

/** What a user can ask a VM to do from the library and the VM window. */
export type VmOperation =
  'start' | 'pause' | 'resume' | 'suspend' | 'shutdown' | 'powerOff' | 'reset';

export const SORTS = ['name', 'state', 'created', 'memory'] as const;
export type LibrarySort = (typeof SORTS)[number];

/**
 * Modal dialogs, one at a time. A new kind is a compile error in components/Dialogs.tsx until it is
 * rendered there. `newVm` opens the New-VM wizard.
 */
export type Dialog =
  | { type: 'newVm' }
  | { type: 'deleteVm'; vmId: string }
  | { type: 'shortcuts' }
  | { type: 'deleteMedia'; sha256: string }
  | { type: 'discardState'; vmId: string }
  | { type: 'migrate'; vmId: string }
  | { type: 'exportLibvirt'; vmId: string }
  | { type: 'confirmPower'; vmId: string; op: 'powerOff' | 'reset' };

export interface UiState {
  route: Route;
  search: string;
  sort: LibrarySort;
  /** Host notices the user dismissed (by text); remembered across reloads. */
  dismissedNotices: string[];
  /** Operations sent to the engine and not yet answered, by VM id. */
  pending: Record<string, VmOperation>;
  dialog: Dialog | null;
}

const isSort = (v: unknown): v is LibrarySort => isString(v) && SORTS.some((s) => s === v);

/** View state; only `actions/*` write to it. */
export const useUiStore = create<UiState>()(() => ({
  route: parseHash(window.location.hash),
  search: '',
  sort: readStored('vivarium.sort', 'name', isSort),
  dismissedNotices: readStored('vivarium.dismissedNotices', [], isStringArray),
  pending: {},
  dialog: null,
}));
