/**
 * What keeps QEMU from saving or migrating a VM, asked before a save or a migration starts so the
 * user hears which device is in the way (and what to do) instead of a failure half-way through.
 */

/** The part of a QMP connection this check needs (a QmpClient, or a supervisor's command). */
export interface QmpLike {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

/** The name the migration side uses for the same thing. */
export type QmpRunner = QmpLike;

interface Known {
  match: RegExp;
  say: (m: RegExpExecArray) => string;
}

/**
 * QEMU 7.2's blocker texts for devices Vivarium (or a user's extra arguments) can add, in the
 * user's words. Anything else is passed on in QEMU's own words with the same advice.
 */
const KNOWN: Known[] = [
  {
    // ui/vdagent.c registers this one as soon as the chardev exists, used or not.
    match: /vdagent chardev/i,
    say: () =>
      'Clipboard sharing (the qemu-vdagent channel) cannot be saved or migrated: turn clipboard ' +
      'sharing off (remove the qemu-vdagent chardev from the VM’s extra QEMU arguments), restart ' +
      'the VM, then try again.',
  },
  {
    // hw/9pfs: registered while the guest has the share mounted.
    match: /VirtFS export path '([^']*)' is mounted in the guest using mount_tag '([^']*)'/i,
    say: (m) =>
      `The shared folder "${m[2] ?? ''}" (${m[1] ?? ''}, 9p) is mounted in the guest: unmount ` +
      'it in the guest (umount), then try again.',
  },
  {
    match: /non-migratable device '([^']*)'/i,
    say: (m) =>
      `The device ${m[1] ?? ''} cannot be saved or migrated: remove it from the VM (its extra ` +
      'QEMU arguments), restart the VM, then try again.',
  },
  {
    match: /invtsc/i,
    say: () =>
      'The CPU model exposes an invariant TSC (invtsc), which QEMU cannot save or migrate: choose ' +
      'another CPU model (or drop +invtsc), restart the VM, then try again.',
  },
];

/** One of QEMU's blocker texts in the user's words. */
export function describeBlocker(reason: string): string {
  for (const known of KNOWN) {
    const m = known.match.exec(reason);
    if (m) return known.say(m);
  }
  const text = reason.trim().replace(/\.$/, '');
  return `QEMU cannot save or migrate this VM: ${text}. Remove what it names from the VM, restart the VM, then try again.`;
}

/**
 * The reasons QEMU gives (query-migrate's `blocked-reasons`) why this VM cannot be saved or
 * migrated now, each naming the device and what to do; empty when nothing blocks it.
 */
export async function migrationBlockers(qmp: QmpLike): Promise<string[]> {
  const info = await qmp.execute<{ 'blocked-reasons'?: string[] }>('query-migrate');
  const reasons = info['blocked-reasons'] ?? [];
  return [...new Set(reasons.map(describeBlocker))];
}
