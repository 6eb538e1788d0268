import { create } from 'zustand';
import type { ApplianceSummary } from '../../../common/contract';

/** "Import an appliance": the package chosen, what the engine read from it, and the import. */
export interface ApplianceState {
  /** The .ova/.ovf path on the computer that runs Vivarium (typed, or where an upload landed). */
  path: string;
  upload: { name: string; bytesSent: number; bytesTotal: number; error: string | null } | null;
  reading: boolean;
  summary: ApplianceSummary | null;
  /** Why the package was refused (or could not be read). */
  error: string | null;
  name: string;
  /** The import task, once started. */
  taskId: string | null;
  importError: string | null;
}

export const APPLIANCE_INITIAL: ApplianceState = {
  path: '',
  upload: null,
  reading: false,
  summary: null,
  error: null,
  name: '',
  taskId: null,
  importError: null,
};

/** Only `actions/wizard/appliance.ts` writes to it. */
export const useApplianceStore = create<ApplianceState>()(() => ({ ...APPLIANCE_INITIAL }));
