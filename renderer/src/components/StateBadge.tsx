import type { VmState } from '../../../common/contract';
import { isTransitional } from '../../../common/vm-state';
import { STATES } from '../lib/vm-state';

/** The state word, colored by tone; transitional states pulse. */
export function StateBadge({ state }: { state: VmState }) {
  const info = STATES[state];
  return (
    <span
      data-testid="vm-state"
      className={`badge badge--${info.tone}${isTransitional(state) ? ' badge--pulse' : ''}`}
    >
      <span className="badge__dot" aria-hidden="true" />
      {state}
    </span>
  );
}
