/**
 * The VM-state vocabulary every process uses: the supervisor's state machine decides, the UI and
 * the CLI show. Two different questions are asked of a state, and each has one name here.
 */
export const VM_STATES = [
  'stopped',
  'starting',
  'running',
  'pausing',
  'paused',
  'resuming',
  'saving',
  'restoring',
  'stopping',
  'crashed',
  'saved',
] as const;
export type VmState = (typeof VM_STATES)[number];

/** A state that is on its way to another one; operations wait until it settles. */
export const TRANSITIONAL_STATES: ReadonlySet<VmState> = new Set([
  'starting',
  'pausing',
  'resuming',
  'saving',
  'restoring',
  'stopping',
]);

export function isTransitional(state: VmState): boolean {
  return TRANSITIONAL_STATES.has(state);
}

/**
 * A QEMU process exists for the VM (starting, running, going down...): its disks and files are in
 * use, so hardware changes, deletion and disk operations must wait.
 */
export function isLive(state: VmState): boolean {
  return state !== 'stopped' && state !== 'crashed' && state !== 'saved';
}

/**
 * Suspended to disk: no QEMU, but its memory and device state wait in a file in the VM's folder
 * and Start resumes the guest where it was. That state only fits the hardware and disks it was
 * saved with, so they stay as they are (see common/rules/vm-settings.ts) until it is resumed or
 * its saved state discarded.
 */
export function isSaved(state: VmState): boolean {
  return state === 'saved';
}

/**
 * The guest machine is up and settled (running or paused): the display and consoles can connect,
 * and a snapshot of it includes its memory.
 */
export function isGuestUp(state: VmState): boolean {
  return state === 'running' || state === 'paused';
}

/**
 * Settled with no QEMU and nothing saved: the VM can be started, edited, cloned or deleted. A
 * saved VM is not off: it can be started (resumed) or deleted, and only its name and notes change.
 */
export function isOff(state: VmState): boolean {
  return state === 'stopped' || state === 'crashed';
}
