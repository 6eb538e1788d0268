import { create } from 'zustand';
import type { AppSettings } from '../../../common/contract';

export interface SettingsState {
  /** The engine's app settings; null until `settings.get` answers. */
  settings: AppSettings | null;
  /** Why they could not be read or saved, while that is the last word. */
  error: string | null;
  /** A change sent and not yet answered. */
  saving: boolean;
}

/** App settings (what happens to VMs when Vivarium quits); only `actions/settings.ts` writes. */
export const useSettingsStore = create<SettingsState>()(() => ({
  settings: null,
  error: null,
  saving: false,
}));
