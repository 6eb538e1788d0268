/**
 * How the UI shows a VM state and which buttons it offers. What a state means (transitional,
 * guest up, off) is the shared vocabulary in common/vm-state.ts.
 */
import type { VmState } from '../../../common/vm-state';
import type { VmOperation } from '../stores/ui';

export type StateTone = 'neutral' | 'good' | 'busy' | 'paused' | 'saved' | 'bad';

interface StateInfo {
  tone: StateTone;
  /** Operations the library offers in this state. */
  allowed: readonly VmOperation[];
}

/** One entry per state: a new state in the vocabulary is a compile error until handled here. */
export const STATES: Record<VmState, StateInfo> = {
  stopped: { tone: 'neutral', allowed: ['start'] },
  starting: { tone: 'busy', allowed: [] },
  running: { tone: 'good', allowed: ['pause', 'suspend', 'shutdown', 'powerOff', 'reset'] },
  pausing: { tone: 'busy', allowed: [] },
  // The engine resumes a paused guest before pressing its power button.
  paused: { tone: 'paused', allowed: ['resume', 'suspend', 'shutdown', 'powerOff', 'reset'] },
  resuming: { tone: 'busy', allowed: [] },
  saving: { tone: 'busy', allowed: [] },
  restoring: { tone: 'busy', allowed: [] },
  // A guest that ignores the power button stays here: forcing it off is the way out.
  stopping: { tone: 'busy', allowed: ['powerOff'] },
  crashed: { tone: 'bad', allowed: ['start'] },
  // Start resumes it from its saved state (the buttons say Resume, see startLabel).
  saved: { tone: 'saved', allowed: ['start'] },
};

/**
 * Whether a button is enabled: the state allows it and nothing is in flight for this VM, except
 * that Power off stays available during a (possibly long) shut down.
 */
export function canRun(state: VmState, op: VmOperation, pending: VmOperation | undefined): boolean {
  if (!STATES[state].allowed.includes(op)) return false;
  if (pending === undefined) return true;
  return op === 'powerOff' && pending === 'shutdown';
}
