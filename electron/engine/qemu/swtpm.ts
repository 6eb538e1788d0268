/**
 * swtpm beside QEMU: a VM's TPM 2.0. Started (detached, like QEMU) before QEMU, which connects to
 * its control socket; `--terminate` makes it exit when QEMU disconnects, so powering the VM off or
 * a QEMU crash ends it too. Its state lives in the VM's folder (tpm/), so keys survive restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { VivariumError } from '../errors';
import { processAlive, readTail } from './process-info';

export interface TpmLaunch {
  /** The swtpm binary. */
  binary: string;
  stateDir: string;
  socket: string;
  pidFile: string;
  log: string;
}

/** swtpm's argv for a VM's TPM 2.0. Pure. */
export function swtpmArgs(t: Omit<TpmLaunch, 'binary'>): string[] {
  return [
    'socket',
    '--tpm2',
    '--tpmstate',
    `dir=${t.stateDir}`,
    '--ctrl',
    `type=unixio,path=${t.socket}`,
    '--log',
    `file=${t.log}`,
    '--pid',
    `file=${t.pidFile}`,
    '--terminate',
  ];
}

async function readPid(file: string): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

async function isSwtpm(pid: number): Promise<boolean> {
  const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  // Without /proc (macOS, the BSDs) trust the pid file: it lives in our private run folder.
  return cmd === null ? processAlive(pid) : cmd.includes('swtpm');
}

/** Ends a swtpm left from an earlier start (QEMU never connected, say): it holds the state lock. */
export async function stopSwtpm(pidFile: string): Promise<void> {
  const pid = await readPid(pidFile);
  if (pid !== null && processAlive(pid) && (await isSwtpm(pid))) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    const deadline = Date.now() + 3000;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (processAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  await rm(pidFile, { force: true });
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isSocket();
  } catch {
    return false;
  }
}

/** Starts swtpm and waits until its control socket is there; returns its pid. */
export async function startSwtpm(t: TpmLaunch, timeoutMs = 10_000): Promise<number> {
  await stopSwtpm(t.pidFile);
  await rm(t.socket, { force: true });
  await mkdir(t.stateDir, { recursive: true, mode: 0o700 });
  const log = await open(t.log, 'a');
  let child: ChildProcess;
  let outcome: Promise<Error | null>;
  try {
    child = spawn(t.binary, swtpmArgs(t), {
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
      `Could not run ${t.binary} for the VM's TPM: ${err.message}. Install swtpm (Debian/Ubuntu: sudo apt install swtpm swtpm-tools) or turn the TPM off.`,
    );
  }
  child.unref();
  const pid = child.pid ?? 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await isSocket(t.socket)) && (await readPid(t.pidFile)) !== null) return pid;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const tail = (await readTail(t.log, 1024)).trim();
      throw new VivariumError(
        'QEMU_FAILED',
        `swtpm (the VM's TPM) did not start${tail ? `: ${tail.split('\n').slice(-3).join(' ')}` : ''}.`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
