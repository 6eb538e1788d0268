/**
 * swtpm beside QEMU: a VM's TPM 2.0. Started (detached, like QEMU) before QEMU, which connects to
 * its control socket; `--terminate` makes it exit when QEMU disconnects, so powering the VM off or
 * a QEMU crash ends it too. Its state lives in the VM's folder (tpm/), so keys survive restarts.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { processAlive } from './process-info';
import { startSocketHelper } from './socket-helper';

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

/** Starts swtpm and waits until its control socket is there; returns its pid. */
export async function startSwtpm(t: TpmLaunch, timeoutMs = 10_000): Promise<number> {
  await stopSwtpm(t.pidFile);
  await rm(t.socket, { force: true });
  await mkdir(t.stateDir, { recursive: true, mode: 0o700 });
  return startSocketHelper(
    {
      binary: t.binary,
      args: swtpmArgs(t),
      socket: t.socket,
      log: t.log,
      what: "swtpm (the VM's TPM)",
      cannotRun: (reason) =>
        `Could not run ${t.binary} for the VM's TPM: ${reason}. Install swtpm (Debian/Ubuntu: sudo apt install swtpm swtpm-tools) or turn the TPM off.`,
      otherwise: '',
      ready: async () => (await readPid(t.pidFile)) !== null,
    },
    timeoutMs,
  );
}
