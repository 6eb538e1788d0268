/**
 * virtiofsd beside QEMU: one per virtiofs share. Started (detached, like QEMU) before QEMU, which
 * connects to its vhost-user socket; virtiofsd exits when QEMU lets go of that socket, so a power
 * off or a QEMU crash ends it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import { VivariumError } from '../errors';
import { readTail } from './process-info';

export interface VirtiofsLaunch {
  binary: string;
  tag: string;
  /** The shared folder (refused earlier when its path has a comma: virtiofsd splits on them). */
  source: string;
  socket: string;
  log: string;
}

/** virtiofsd's argv for one share. Pure. */
export function virtiofsdArgs(v: Omit<VirtiofsLaunch, 'binary' | 'tag'>): string[] {
  return [`--socket-path=${v.socket}`, '-o', `source=${v.source}`, '-o', 'cache=auto', '-f'];
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isSocket();
  } catch {
    return false;
  }
}

/** Starts virtiofsd and waits until its socket is there; returns its pid. */
export async function startVirtiofsd(v: VirtiofsLaunch, timeoutMs = 10_000): Promise<number> {
  await rm(v.socket, { force: true });
  const log = await open(v.log, 'a');
  let child: ChildProcess;
  let outcome: Promise<Error | null>;
  try {
    child = spawn(v.binary, virtiofsdArgs(v), {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    });
    outcome = new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err: Error) => resolve(err));
    });
  } finally {
    await log.close();
  }
  const err = await outcome;
  if (err) {
    throw new VivariumError(
      'QEMU_MISSING',
      `Could not run ${v.binary} for the shared folder '${v.tag}': ${err.message}. Share it over 9p instead.`,
    );
  }
  child.unref();
  const pid = child.pid ?? 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isSocket(v.socket)) return pid;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const tail = (await readTail(v.log, 1024)).trim();
      throw new VivariumError(
        'QEMU_FAILED',
        `virtiofsd (the shared folder '${v.tag}') did not start${tail ? `: ${tail.split('\n').slice(-3).join(' ')}` : ''}. Share it over 9p instead.`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
