/**
 * Live port forwards on a running QEMU's user-mode networks. QEMU 7.2 offers them only in HMP
 * (through QMP's `human-monitor-command`), and HMP reports a failure as the text of a successful
 * reply: every answer is read here, never assumed.
 */
import { VivariumError } from '../errors';
import { nicNetdevId } from '../qemu/args';

export interface HostForwardRule {
  protocol: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: number;
}

export interface UsernetForward extends HostForwardRule {
  guestAddress: string;
  guestPort: number;
}

/** Runs one HMP command line on the VM's QEMU and returns its text. */
export type Hmp = (commandLine: string) => Promise<string>;

/** `hostfwd_add net0 tcp:127.0.0.1:8080-:80` (the guest address left to QEMU: its one guest). */
export function hostfwdAddCommand(nic: number, f: HostForwardRule & { guestPort: number }): string {
  return `hostfwd_add ${nicNetdevId(nic)} ${f.protocol}:${f.hostAddress}:${f.hostPort}-:${f.guestPort}`;
}

/** `hostfwd_remove net0 tcp:127.0.0.1:8080`: QEMU finds the rule by its host side. */
export function hostfwdRemoveCommand(nic: number, f: HostForwardRule): string {
  return `hostfwd_remove ${nicNetdevId(nic)} ${f.protocol}:${f.hostAddress}:${f.hostPort}`;
}

/** hostfwd_add answers nothing when it worked; any text is why it did not. */
export function hostfwdAddProblem(reply: string): string | null {
  const text = reply.trim();
  return text === '' ? null : text;
}

/** hostfwd_remove's answer: removed, not there (nothing to undo), or something else went wrong. */
export function hostfwdRemoveOutcome(reply: string): 'removed' | 'absent' | { problem: string } {
  const text = reply.trim();
  if (/\bremoved\b/.test(text)) return 'removed';
  if (/\bnot found\b/.test(text)) return 'absent';
  return { problem: text || 'QEMU gave no answer' };
}

/**
 * The host forwards in `info usernet`, per netdev id. Its table, one block per user-mode network:
 *
 *     Hub -1 (net0):
 *       Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ
 *       TCP[HOST_FORWARD]   8       127.0.0.1 18181       10.0.2.15    80     0     0
 *
 * libslirp writes `*` for a rule on every address.
 */
export function parseUsernet(text: string): Map<string, UsernetForward[]> {
  const out = new Map<string, UsernetForward[]>();
  let current: UsernetForward[] | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const hub = /^Hub\s+-?\d+\s+\((.+)\):$/.exec(line);
    if (hub) {
      current = [];
      out.set(hub[1] ?? '', current);
      continue;
    }
    const row = /^(TCP|UDP)\[HOST_FORWARD\]\s+\d+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (!row || !current) continue;
    current.push({
      protocol: row[1] === 'UDP' ? 'udp' : 'tcp',
      hostAddress: row[2] === '*' ? '0.0.0.0' : (row[2] ?? ''),
      hostPort: Number(row[3]),
      guestAddress: row[4] ?? '',
      guestPort: Number(row[5]),
    });
  }
  return out;
}

/** Whether `rule` is among a netdev's live forwards. */
export function isForwardLive(
  live: ReadonlyMap<string, readonly UsernetForward[]>,
  nic: number,
  rule: HostForwardRule,
): boolean {
  return (live.get(nicNetdevId(nic)) ?? []).some(
    (f) =>
      f.protocol === rule.protocol &&
      f.hostPort === rule.hostPort &&
      f.hostAddress === rule.hostAddress,
  );
}

/** Adds a rule to the running QEMU, or throws with QEMU's own words and what to do. */
export async function addLiveForward(
  hmp: Hmp,
  nic: number,
  f: HostForwardRule & { guestPort: number },
): Promise<void> {
  const problem = hostfwdAddProblem(await hmp(hostfwdAddCommand(nic, f)));
  if (problem) {
    throw new VivariumError(
      'QMP_ERROR',
      `QEMU could not forward ${f.protocol} ${f.hostAddress}:${f.hostPort} (${problem}): choose another host port`,
      { 'forward.hostPort': 'QEMU could not listen there' },
    );
  }
}

/** Removes a rule from the running QEMU; one that is not there is already gone. */
export async function removeLiveForward(hmp: Hmp, nic: number, f: HostForwardRule): Promise<void> {
  const outcome = hostfwdRemoveOutcome(await hmp(hostfwdRemoveCommand(nic, f)));
  if (typeof outcome === 'object') {
    throw new VivariumError(
      'QMP_ERROR',
      `QEMU could not remove the forward ${f.protocol} ${f.hostAddress}:${f.hostPort}: ${outcome.problem}`,
    );
  }
}
