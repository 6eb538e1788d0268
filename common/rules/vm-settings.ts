/**
 * What a user may set on a VM, decided by the engine (vm.create, vm.update) and shown by the
 * Settings view and the CLI before they ask: one definition of each rule.
 */

/** Bounds the contract's schemas enforce; the UI shows them beside its inputs. */
export const MEMORY_MIB_MIN = 16;
export const MEMORY_MIB_MAX = 1024 * 1024;
export const CPU_COUNT_MIN = 1;
export const CPU_COUNT_MAX = 64;

/** Config fields that can change while QEMU runs; every other one needs the VM shut down. */
export const LIVE_EDITABLE_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'notes',
  // Whether Power off, Reset and Revert ask first: the front doors' concern, never QEMU's.
  'confirmDestructive',
]);

export function canChangeWhileRunning(field: string): boolean {
  return LIVE_EDITABLE_FIELDS.has(field);
}

/** The fields of a change that a running VM refuses, in the order given. */
export function fieldsNeedingStop(fields: Iterable<string>): string[] {
  return [...fields].filter((f) => !canChangeWhileRunning(f));
}

export function stopToChangeMessage(blocked: readonly string[]): string {
  return `Shut the VM down to change ${blocked.join(', ')}: they cannot change while it runs.`;
}

/**
 * Fields that may change while the VM is saved to disk. The saved memory and device state only
 * load into the same hardware over the same disks, so the same few as while it runs.
 */
export const SAVED_EDITABLE_FIELDS: ReadonlySet<string> = LIVE_EDITABLE_FIELDS;

export function canChangeWhileSaved(field: string): boolean {
  return SAVED_EDITABLE_FIELDS.has(field);
}

/** The fields of a change that a saved VM refuses, in the order given. */
export function fieldsNeedingDiscard(fields: Iterable<string>): string[] {
  return [...fields].filter((f) => !canChangeWhileSaved(f));
}

/** What a saved VM offers instead of a change it refuses. */
const SAVED_WAY_OUT =
  'Start it (it resumes where it was) and shut it down, or discard its saved state ' +
  '(vivarium discard-state), first.';

export function savedToChangeMessage(blocked: readonly string[]): string {
  return (
    `The VM is saved to disk, so ${blocked.join(', ')} cannot change: its saved memory only ` +
    `fits the hardware it was saved with. ${SAVED_WAY_OUT}`
  );
}

/**
 * Operations a saved VM refuses, because they change or copy its disks (the saved memory refers
 * to the disks exactly as they were) or make a state that would not include the saved memory.
 */
export const SAVED_REFUSES = {
  snapshot: 'take a snapshot or revert to one',
  clone: 'clone it',
  disks: 'add, remove, resize or import disks',
  nics: 'add or change network cards',
  firmware: 'change its firmware or TPM',
  media: 'change its CD or attach and detach USB devices',
  export: 'export it',
} as const;
export type SavedRefusal = keyof typeof SAVED_REFUSES;

/** Why a saved VM refuses `what`, and what the user does about it. */
export function savedRefusalMessage(what: SavedRefusal): string {
  return (
    `The VM is saved to disk, so you cannot ${SAVED_REFUSES[what]} now: its saved memory ` +
    `expects its disks and hardware as they are. ${SAVED_WAY_OUT}`
  );
}

/** Secure Boot runs only on UEFI firmware on the q35 machine (OVMF's SMM build). */
export function secureBootFits(c: { firmware: string; machine: string }): boolean {
  return c.firmware === 'uefi' && c.machine === 'q35';
}

export const SECURE_BOOT_NEEDS =
  'Secure Boot needs UEFI firmware on the q35 machine: choose them, or turn Secure Boot off.';

/** Why a memory or CPU amount does not fit this host, or null. */
export function hostMemoryProblem(memoryMiB: number, hostTotalMiB: number): string | null {
  return memoryMiB > hostTotalMiB
    ? `At most ${hostTotalMiB} MiB (all of this computer’s memory)`
    : null;
}

export function hostCpuProblem(cpuCount: number, hostCpus: number): string | null {
  return cpuCount > hostCpus ? `This computer has ${hostCpus} CPUs` : null;
}

/**
 * Network cards are hardware: QEMU wires them at start. Forwards on a NAT card are rules in its
 * user-mode network, which QEMU changes while the guest runs.
 */
export const NICS_NEED_STOP =
  'Shut the VM down to add or change network cards; forwards change while it runs.';

/** How people number cards (the UI's "Card 1", the CLI's N): from 1, where the contract counts from 0. */
export function nicLabel(index: number): string {
  return `Card ${index + 1}`;
}

/** What a VM is when it would move to another architecture. */
export interface ArchChangeState {
  /** The VM's process runs (or is starting, paused...): anything but stopped, crashed or saved. */
  qemuRunning: boolean;
  /** Saved to disk (suspended): its saved memory is of the old machine. */
  saved: boolean;
  snapshots: number;
}

/**
 * Why a VM cannot move to another architecture now, or null. Saved memory and live snapshots
 * hold the old machine's state and would never load again; disk-only snapshots would boot a
 * disk installed for the other architecture.
 */
export function archChangeProblem(state: ArchChangeState): string | null {
  if (state.qemuRunning) return 'Shut the VM down to change its architecture.';
  if (state.saved) {
    return 'The VM is saved to disk for its current architecture: start it and shut it down, or discard its saved state, before changing the architecture.';
  }
  if (state.snapshots > 0) {
    const n = state.snapshots === 1 ? 'its snapshot' : `its ${state.snapshots} snapshots`;
    return `The VM has snapshots of its current architecture: delete ${n} before changing the architecture, or clone it first and change the clone.`;
  }
  return null;
}
