import type { VmState } from '../../../common/contract';
import type { VmOperation } from '../stores/ui';

export type StateTone = 'neutral' | 'good' | 'busy' | 'paused' | 'bad';

interface StateInfo {
  tone: StateTone;
  /** A transition is under way: every button but Power off waits for it. */
  transitional: boolean;
  /** Operations the library offers in this state. */
  allowed: readonly VmOperation[];
}

/** One entry per state: a new state in the contract is a compile error until handled here. */
export const STATES: Record<VmState, StateInfo> = {
  stopped: { tone: 'neutral', transitional: false, allowed: ['start'] },
  starting: { tone: 'busy', transitional: true, allowed: [] },
  running: {
    tone: 'good',
    transitional: false,
    allowed: ['pause', 'shutdown', 'powerOff', 'reset'],
  },
  pausing: { tone: 'busy', transitional: true, allowed: [] },
  // The engine resumes a paused guest before pressing its power button.
  paused: {
    tone: 'paused',
    transitional: false,
    allowed: ['resume', 'shutdown', 'powerOff', 'reset'],
  },
  resuming: { tone: 'busy', transitional: true, allowed: [] },
  saving: { tone: 'busy', transitional: true, allowed: [] },
  restoring: { tone: 'busy', transitional: true, allowed: [] },
  // A guest that ignores the power button stays here: forcing it off is the way out.
  stopping: { tone: 'busy', transitional: true, allowed: ['powerOff'] },
  crashed: { tone: 'bad', transitional: false, allowed: ['start'] },
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

/** QEMU is up: the display and the consoles can connect. */
export function isLive(state: VmState): boolean {
  return state === 'running' || state === 'paused';
}
