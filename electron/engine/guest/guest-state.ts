/**
 * What one start of a VM learnt about its guest (when it became reachable, the agent's facts), in
 * the VM's runtime folder: every Vivarium process on the library reads the same answer, and a
 * new start makes the old one void (it names the start it belongs to).
 */
import { readFile } from 'node:fs/promises';
import type { GuestAgentInfo } from '../../../common/contract';
import { writeFileAtomic } from '../library/atomic-file';
import type { VmFiles } from '../paths';

export interface GuestState {
  /** The VM's `runtime.startedAt` this state belongs to. */
  startedAt: string;
  readyAt: string | null;
  via: 'ssh' | 'agent' | null;
  agent: GuestAgentInfo | null;
}

export async function readGuestState(
  files: VmFiles,
  startedAt: string,
): Promise<GuestState | null> {
  try {
    const state = JSON.parse(await readFile(files.guestState, 'utf8')) as GuestState;
    return state.startedAt === startedAt ? state : null;
  } catch {
    return null;
  }
}

export async function writeGuestState(files: VmFiles, state: GuestState): Promise<void> {
  await writeFileAtomic(files.guestState, `${JSON.stringify(state)}\n`, false, {
    sync: false,
  }).catch(() => undefined);
}

/**
 * Whether the guest agent answered since the VM's current start: only then is it worth asking
 * (a channel without an agent behind it answers nothing, and every ask waits for its timeout).
 */
export async function agentAnswered(
  files: VmFiles,
  config: { guestAgent: boolean },
  startedAt: string | null,
): Promise<boolean> {
  if (!config.guestAgent || !startedAt) return false;
  const state = await readGuestState(files, startedAt);
  return state?.agent != null || state?.via === 'agent';
}
