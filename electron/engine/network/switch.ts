/**
 * A private network's layer 2: one `vde_switch` daemon, rootless, whose control folder guests
 * join with `-netdev vde,sock=DIR`. It is started detached with a pid file so it outlives the
 * app (like the VMs on it), and found again by that pid file and its control socket.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { VivariumError } from '../errors';
import type { EnginePaths } from '../paths';
import { readPidFile } from '../qemu/pid-file';
import { processAlive } from '../qemu/process-info';

/** A network's runtime files: short paths (unix sockets must stay under ~100 bytes). */
export interface NetworkRunFiles {
  run: string;
  /** The switch's control folder (what `-netdev vde,sock=` names). */
  switchDir: string;
  switchPid: string;
  routerPid: string;
  routerQmp: string;
}

export function networkRunFiles(paths: EnginePaths, id: string): NetworkRunFiles {
  const run = join(paths.runtimeDir, 'net', id);
  return {
    run,
    switchDir: join(run, 'switch'),
    switchPid: join(run, 'switch.pid'),
    routerPid: join(run, 'router.pid'),
    routerQmp: join(run, 'router.sock'),
  };
}

export const VDE_SWITCH = 'vde_switch';

/** The Debian package that has it, for the message when it is missing. */
const INSTALL_HINT = 'install vde2 (Debian/Ubuntu: sudo apt install vde2)';

/** The switch's argv: a daemon with a pid file; its control folder private to the user. */
export function switchArgs(files: NetworkRunFiles): string[] {
  return ['-s', files.switchDir, '-m', '700', '-d', '-p', files.switchPid];
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isSocket();
  } catch {
    return false;
  }
}

/**
 * Whether `pid` is a vde_switch of ours serving `dir`: a pid reused after the switch died, or a
 * switch someone else runs, must not be taken for it. Without /proc, trust the private pid file.
 */
async function isOurSwitch(pid: number, dir: string): Promise<boolean> {
  if (!processAlive(pid)) return false;
  if (process.platform !== 'linux') return true;
  try {
    const [st, exe, cmdline] = await Promise.all([
      stat(`/proc/${pid}`),
      readlink(`/proc/${pid}/exe`),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
    const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    return (
      st.uid === uid && basename(exe).startsWith(VDE_SWITCH) && cmdline.split('\0').includes(dir)
    );
  } catch {
    return false;
  }
}

/** The pid of the network's live switch, or null. */
export async function liveSwitch(files: NetworkRunFiles): Promise<number | null> {
  const pid = await readPidFile(files.switchPid);
  if (pid === null || !(await isOurSwitch(pid, files.switchDir))) return null;
  return (await isSocket(join(files.switchDir, 'ctl'))) ? pid : null;
}

/** Starts the switch unless it runs; returns its control folder. */
export async function ensureSwitch(
  files: NetworkRunFiles,
  binary = VDE_SWITCH,
  timeoutMs = 5000,
): Promise<string> {
  if ((await liveSwitch(files)) !== null) return files.switchDir;
  await stopSwitch(files);
  await mkdir(files.run, { recursive: true, mode: 0o700 });
  const child = spawn(binary, switchArgs(files), {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (err) => resolve(err));
  });
  if (spawned) {
    throw new VivariumError(
      'QEMU_MISSING',
      `Could not run ${binary} (the private network's switch): ${spawned.message}. To use private networks, ${INSTALL_HINT}.`,
    );
  }
  child.unref();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await liveSwitch(files)) !== null) {
      child.stderr.destroy();
      return files.switchDir;
    }
    // `-d` forks: the first process exits 0 once the daemon runs; anything else failed.
    const failed = child.exitCode !== null && child.exitCode !== 0;
    if (failed || Date.now() > deadline) {
      const why = stderr.trim().split('\n').slice(-2).join(' ');
      throw new VivariumError(
        'QEMU_FAILED',
        `The private network's switch (${binary}) did not start${why ? `: ${why}` : ''}.`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Ends the switch (the VMs on it lose their cable) and removes its files. */
export async function stopSwitch(files: NetworkRunFiles): Promise<void> {
  const pid = await readPidFile(files.switchPid);
  if (pid !== null && (await isOurSwitch(pid, files.switchDir))) await terminate(pid);
  await rm(files.switchDir, { recursive: true, force: true });
  await rm(files.switchPid, { force: true });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function terminate(pid: number, graceMs = 3000): Promise<void> {
  const kill = (signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  };
  kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (processAlive(pid)) kill('SIGKILL');
  while (processAlive(pid)) await new Promise((r) => setTimeout(r, 10));
}
