import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EnginePaths {
  /** Everything that persists: VM folders, caches. */
  home: string;
  vmsDir: string;
  cacheDir: string;
  /** Short folder for unix sockets and pid files (socket paths must stay under ~100 bytes). */
  runtimeDir: string;
}

/** The platform's app-data folder, or VIVARIUM_HOME when set (tests, portable installs). */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIVARIUM_HOME) return env.VIVARIUM_HOME;
  switch (process.platform) {
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Vivarium');
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Vivarium');
    default:
      return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'vivarium');
  }
}

/**
 * The runtime folder is derived from the home folder so that two homes (two test runs, a
 * portable install) never share sockets, and kept short: XDG_RUNTIME_DIR when it exists,
 * else the temp folder, plus an 8-character hash.
 */
export function defaultRuntimeDir(home: string, env: NodeJS.ProcessEnv = process.env): string {
  const tag = createHash('sha256').update(home).digest('hex').slice(0, 8);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const base =
    env.XDG_RUNTIME_DIR && process.platform === 'linux'
      ? join(env.XDG_RUNTIME_DIR, 'vivarium')
      : process.platform === 'win32'
        ? join(tmpdir(), 'vivarium')
        : join('/tmp', `vivarium-${uid}`);
  return join(base, tag);
}

export function enginePaths(home = defaultHome(), runtimeDir?: string): EnginePaths {
  return {
    home,
    vmsDir: join(home, 'vms'),
    cacheDir: join(home, 'cache'),
    runtimeDir: runtimeDir ?? defaultRuntimeDir(home),
  };
}

/** Per-VM files. Only ids make paths: names are free text. */
export interface VmFiles {
  dir: string;
  config: string;
  /** Runtime facts that must outlive the process that saw them (how QEMU last ended). */
  runtimeState: string;
  logsDir: string;
  serialLog: string;
  qemuLog: string;
  eventsLog: string;
  nvram: string;
  screenshotsDir: string;
  /** The snapshot tree (snapshots/): names, parents, "you are here". */
  snapshotsIndex: string;
  /** Which VMs' disks are overlays on this VM's bases, and the other way round. */
  linksFile: string;
  run: string;
  /**
   * QMP serves one client per socket, so QEMU listens on three: the app takes the first free one
   * from the front, a CLI command from the back, and a second app window still finds one.
   */
  qmpSockets: string[];
  vncSock: string;
  serialSock: string;
  monitorSock: string;
  pidFile: string;
  /** swtpm's TPM state (persistent, beside the disks). */
  tpmStateDir: string;
  /** swtpm's control socket, pid file and log. */
  tpmSock: string;
  tpmPidFile: string;
  tpmLog: string;
  /** The guest agent's virtio-serial channel (QEMU listens, one client at a time). */
  qgaSock: string;
  /** What this start learnt about the guest (ready, agent facts), shared by every process. */
  guestState: string;
  /** The key pair Vivarium made for a cloud guest, and the guest's SSH host keys as first seen. */
  sshDir: string;
  knownHosts: string;
  /**
   * Suspend to disk (saved-state/): the memory and device state being written (`.partial`, never
   * read back), the finished one, and its description, whose presence makes the VM `saved`.
   */
  savedStateDir: string;
  savedStatePartial: string;
  savedState: string;
  savedStateMeta: string;
  /** The socket QEMU streams a save into (the engine listens and writes the file). */
  saveSock: string;
}

export function vmFiles(paths: EnginePaths, id: string): VmFiles {
  const dir = join(paths.vmsDir, id);
  const logsDir = join(dir, 'logs');
  const run = join(paths.runtimeDir, id);
  return {
    dir,
    config: join(dir, 'vm.json'),
    runtimeState: join(dir, 'runtime.json'),
    logsDir,
    serialLog: join(logsDir, 'serial.log'),
    qemuLog: join(logsDir, 'qemu.log'),
    eventsLog: join(logsDir, 'events.log'),
    nvram: join(dir, 'uefi-vars.qcow2'),
    screenshotsDir: join(dir, 'thumbnails'),
    snapshotsIndex: join(dir, 'snapshots.json'),
    linksFile: join(dir, 'links.json'),
    run,
    qmpSockets: [join(run, 'qmp.sock'), join(run, 'qmp-1.sock'), join(run, 'qmp-2.sock')],
    vncSock: join(run, 'vnc.sock'),
    serialSock: join(run, 'serial.sock'),
    monitorSock: join(run, 'monitor.sock'),
    pidFile: join(run, 'qemu.pid'),
    tpmStateDir: join(dir, 'tpm'),
    tpmSock: join(run, 'swtpm.sock'),
    tpmPidFile: join(run, 'swtpm.pid'),
    tpmLog: join(logsDir, 'swtpm.log'),
    qgaSock: join(run, 'qga.sock'),
    guestState: join(run, 'guest.json'),
    sshDir: join(dir, 'ssh'),
    knownHosts: join(dir, 'ssh', 'known_hosts'),
    savedStateDir: join(dir, 'saved-state'),
    savedStatePartial: join(dir, 'saved-state', 'state.partial'),
    savedState: join(dir, 'saved-state', 'state.vmstate'),
    savedStateMeta: join(dir, 'saved-state', 'state.json'),
    saveSock: join(run, 'save.sock'),
  };
}
