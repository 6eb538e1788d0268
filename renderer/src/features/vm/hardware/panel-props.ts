import type { VmSummary } from '../../../../../common/contract';

/** What each kind's panel receives from the Hardware tab. */
export interface HardwarePanelProps {
  vm: VmSummary;
  /** The Hardware tab is shown. */
  active: boolean;
  /** The user chose this kind in "Add hardware": open the panel's add form at once. */
  adding: boolean;
  /** The add form closed (added or cancelled), so a later "Add hardware" opens it again. */
  onAddDone: () => void;
}
