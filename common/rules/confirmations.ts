/**
 * Which operations ask before they run and what their question says is lost. Power off, Reset and
 * Revert throw the guest's unsaved state away; a user may turn their question off per VM
 * (`confirmDestructive`). Deleting a VM always asks: once it is gone there is no VM left whose
 * setting could have said otherwise.
 */
export type DestructiveOp = 'powerOff' | 'reset' | 'revert' | 'delete';

export function asksFirst(op: DestructiveOp, vm: { confirmDestructive: boolean }): boolean {
  return op === 'delete' || vm.confirmDestructive;
}

export interface PowerQuestion {
  title: (vmName: string) => string;
  /** What is lost, said plainly. */
  lost: string;
  /** What the guest sees next. */
  next: string;
  /** The confirming button. */
  button: string;
}

/** The questions of the two operations that act like the machine's own switches. */
export const POWER_QUESTIONS: Record<'powerOff' | 'reset', PowerQuestion> = {
  powerOff: {
    title: (name) => `Power off “${name}”?`,
    lost: 'Like pulling the plug: unsaved work in the guest is lost, and files it was writing may be damaged.',
    next: 'The VM stops at once. “Shut down” asks the guest to close its programs first instead.',
    button: 'Power off',
  },
  reset: {
    title: (name) => `Reset “${name}”?`,
    lost: 'Like pulling the plug and plugging it back in: unsaved work in the guest is lost, and files it was writing may be damaged.',
    next: 'The guest restarts from its firmware at once; its disks keep what was written to them.',
    button: 'Reset',
  },
};
