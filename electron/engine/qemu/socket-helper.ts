/**
 * A helper process QEMU connects to over a unix socket (swtpm, virtiofsd): started detached, like
 * QEMU, with its output in a log, and ready once its socket is there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { VivariumError } from '../errors';
import { readTail } from './process-info';

export interface SocketHelperLaunch {
  binary: string;
  args: string[];
  socket: string;
  log: string;
  /** Names it in errors: "swtpm (the VM's TPM)". */
  what: string;
  /** What the user does when it cannot run at all (the binary is missing...). */
  cannotRun: (reason: string) => string;
  /** What the user does when it started and died, or never made its socket ('' for nothing). */
  otherwise: string;
  /** More than the socket it must have made before it counts as ready. */
  ready?: () => Promise<boolean>;
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isSocket();
  } catch {
    return false;
  }
}

/** Starts the helper and waits until its socket is there; returns its pid. */
export async function startSocketHelper(h: SocketHelperLaunch, timeoutMs: number): Promise<number> {
  const log = await open(h.log, 'a');
  let child: ChildProcess;
  let outcome: Promise<Error | null>;
  try {
    child = spawn(h.binary, h.args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
    outcome = new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err: Error) => resolve(err));
    });
  } finally {
    await log.close();
  }
  const err = await outcome;
  if (err) throw new VivariumError('QEMU_MISSING', h.cannotRun(err.message));
  child.unref();
  const pid = child.pid ?? 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await isSocket(h.socket)) && (!h.ready || (await h.ready()))) return pid;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const tail = (await readTail(h.log, 1024)).trim();
      throw new VivariumError(
        'QEMU_FAILED',
        `${h.what} did not start${tail ? `: ${tail.split('\n').slice(-3).join(' ')}` : ''}.${h.otherwise ? ` ${h.otherwise}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
