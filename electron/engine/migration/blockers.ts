/**
 * What keeps QEMU from saving or migrating a VM, asked before a save or a migration starts so the
 * user hears which device is in the way (and what to do) instead of a failure half-way through.
 */

import {
  clipboardBlocksMessage,
  shareMountedMessage,
  virtiofsBlocksMessage,
  type BlockedOperation,
  type BlockerContext,
} from '../../../common/rules/shares';

/** The part of a QMP connection this check needs (a QmpClient, or a supervisor's command). */
export interface QmpLike {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

/** The name the migration side uses for the same thing. */
export type QmpRunner = QmpLike;

interface Known {
  match: RegExp;
  say: (m: RegExpExecArray, op: BlockedOperation, ctx: BlockerContext) => string;
}

/** QEMU's blocker text of the clipboard channel (ui/vdagent.c, registered with the chardev). */
export const VDAGENT_BLOCKER = /vdagent chardev/i;

/**
 * QEMU 7.2's blocker texts for devices Vivarium (or a user's extra arguments) can add, in the
 * user's words (common/rules/shares.ts for the shares and the clipboard, so the UI and the CLI
 * say the same). Anything else is passed on in QEMU's own words with the same advice.
 */
const KNOWN: Known[] = [
  {
    // ui/vdagent.c registers this one as soon as the chardev exists, used or not.
    match: VDAGENT_BLOCKER,
    say: (_m, op, ctx) => clipboardBlocksMessage(op, !ctx.clipboard),
  },
  {
    // hw/9pfs: registered while the guest has the share mounted.
    match: /VirtFS export path '([^']*)' is mounted in the guest using mount_tag '([^']*)'/i,
    say: (m, op) => shareMountedMessage(m[2] ?? '', op),
  },
  {
    // vhost-user-fs (virtiofs) is marked unmigratable: 7.2 lists it as
    // "non-migratable device: 0000:00:03.0/vhost-user-fs" in blocked-reasons (checked here).
    match: /non-migratable device:? '?([^'\s]*vhost-user-fs[^'\s]*)'?/i,
    say: (_m, op, ctx) => virtiofsBlocksMessage(ctx.virtiofsTags, op),
  },
  {
    match: /non-migratable device:? '?([^'\s]+)'?/i,
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
export function describeBlocker(
  reason: string,
  op: BlockedOperation = 'save',
  ctx: BlockerContext = { virtiofsTags: [], clipboard: true },
): string {
  for (const known of KNOWN) {
    const m = known.match.exec(reason);
    if (m) return known.say(m, op, ctx);
  }
  const text = reason.trim().replace(/\.$/, '');
  return `QEMU cannot save or migrate this VM: ${text}. Remove what it names from the VM, restart the VM, then try again.`;
}

/** QEMU's own reasons (query-migrate's `blocked-reasons`, 7.2 lists devices and blockers). */
export async function blockedReasons(qmp: QmpLike): Promise<string[]> {
  const info = await qmp.execute<{ 'blocked-reasons'?: string[] }>('query-migrate');
  return info['blocked-reasons'] ?? [];
}

/**
 * The reasons QEMU gives why this VM cannot be saved or migrated now, each naming the device and
 * what to do; empty when nothing blocks it.
 */
export async function migrationBlockers(
  qmp: QmpLike,
  op: BlockedOperation = 'save',
  ctx: BlockerContext = { virtiofsTags: [], clipboard: true },
): Promise<string[]> {
  const reasons = await blockedReasons(qmp);
  return [...new Set(reasons.map((r) => describeBlocker(r, op, ctx)))];
}
