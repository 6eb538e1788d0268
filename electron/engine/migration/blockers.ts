/**
 * What would stop a save or a migration half-way, asked of QEMU before it starts: QEMU registers
 * a migration blocker for devices whose state it cannot move (the qemu-vdagent clipboard chardev
 * always, a 9p share once mounted...) and lists them in query-migrate's `blocked-reasons`.
 */
import type { QmpClient } from '../qmp/client';

/** Anything that runs QMP commands (the QMP client, or a supervisor's adapter of it). */
export type QmpRunner = Pick<QmpClient, 'execute'>;

/** QEMU's words for a device, in the user's. */
const DEVICE_WORDS: Array<[RegExp, string]> = [
  [/vdagent/i, 'the clipboard sharing channel (qemu-vdagent)'],
  [/9p|virtfs/i, 'a shared folder (9p)'],
  [/vhost-user-fs|virtiofs/i, 'a shared folder (virtiofs)'],
  [/vfio/i, 'a passed-through host device (VFIO)'],
  [/invtsc/i, 'the invariant TSC CPU feature'],
];

/**
 * The reasons QEMU would refuse a migration (or a save) of this VM now, each naming the device
 * in the user's words with QEMU's own text after it; empty when nothing blocks it.
 */
export async function migrationBlockers(qmp: QmpRunner): Promise<string[]> {
  const info = await qmp.execute<{ 'blocked-reasons'?: string[] }>('query-migrate');
  return (info['blocked-reasons'] ?? []).map((reason) => {
    const words = DEVICE_WORDS.find(([re]) => re.test(reason))?.[1];
    return words
      ? `${capitalise(words)} cannot be moved: remove it from the VM first (QEMU: ${reason})`
      : `QEMU cannot move this VM's state: ${reason}`;
  });
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
