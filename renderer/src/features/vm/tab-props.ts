import type { VmSummary } from '../../../../common/contract';

/** What every tab of the VM window receives. */
export interface TabProps {
  vm: VmSummary;
  /** The tab is the one shown (visited tabs stay mounted, hidden, to keep their sessions). */
  active: boolean;
}
