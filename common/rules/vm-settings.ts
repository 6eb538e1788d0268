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
export const LIVE_EDITABLE_FIELDS: ReadonlySet<string> = new Set(['name', 'notes']);

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
