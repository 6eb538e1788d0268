import { readFile, readlink, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { processAlive } from './process-info';

export async function readPidFile(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** What /proc says about a process, as far as telling our QEMU apart needs it. */
export interface ProcessFacts {
  /** The owner of /proc/PID. */
  uid: number;
  /** readlink /proc/PID/exe. */
  exe: string;
  /** /proc/PID/comm, which `-name process=qemu-<id>` sets (the kernel keeps 15 bytes). */
  comm: string;
}

/** The kernel's limit on a process name (TASK_COMM_LEN minus the NUL). */
const COMM_MAX = 15;

/**
 * Whether a process is the QEMU we started for `vmId`: ours (same uid), running a QEMU system
 * emulator, and named `qemu-<id>`. Never a substring of the command line: any process (another
 * user's, a pid reused after QEMU died) may carry `process=qemu-<id>` among its arguments.
 */
export function isQemuOf(facts: ProcessFacts, vmId: string, ourUid: number): boolean {
  if (facts.uid !== ourUid) return false;
  // A binary replaced by a package upgrade reads as "/usr/bin/qemu-system-x86_64 (deleted)".
  if (!basename(facts.exe).startsWith('qemu-system-')) return false;
  return facts.comm.trim() === `qemu-${vmId}`.slice(0, COMM_MAX);
}

/**
 * A pid can be reused after QEMU dies, and a pid file in a folder someone else could write may
 * name anything: on Linux, check that the process is the QEMU started for this VM. Elsewhere,
 * trust the pid file (its folder is private).
 */
export async function isOurQemu(pid: number, vmId: string): Promise<boolean> {
  if (process.platform !== 'linux' || typeof process.getuid !== 'function') return true;
  try {
    const [st, exe, comm] = await Promise.all([
      stat(`/proc/${pid}`),
      readlink(`/proc/${pid}/exe`),
      readFile(`/proc/${pid}/comm`, 'utf8'),
    ]);
    return isQemuOf({ uid: st.uid, exe, comm }, vmId, process.getuid());
  } catch {
    return false;
  }
}

/**
 * The live QEMU that holds this VM, whoever started it, or null. QEMU's -pidfile keeps an fcntl
 * lock on the file for as long as it runs (a second QEMU fails with "Cannot lock pid file"), so
 * on Linux the lock's holder in /proc/locks is the answer even before the pid is written, and
 * even when the file's content is stale. Without that (another OS, /proc hidden), the pid file's
 * pid, alive and identified as this VM's QEMU.
 */
export async function liveQemuPid(pidFile: string, vmId: string): Promise<number | null> {
  const holder = await lockHolder(pidFile);
  if (holder !== null && holder !== UNKNOWN && processAlive(holder)) {
    if (await isOurQemu(holder, vmId)) return holder;
  }
  if (holder === null) return null;
  const pid = await readPidFile(pidFile);
  return pid !== null && processAlive(pid) && (await isOurQemu(pid, vmId)) ? pid : null;
}

/** The pid holding a POSIX lock on `file` (from /proc/locks), or null (none, or no /proc). */
export async function pidFileLockHolder(file: string): Promise<number | null> {
  const holder = await lockHolder(file);
  return holder === UNKNOWN ? null : holder;
}

/** /proc/locks could not answer (another OS, /proc hidden): fall back to the pid file. */
const UNKNOWN = Symbol('lock holder unknown');

/** The lock's holder, null when /proc/locks shows none, UNKNOWN when it cannot be read. */
async function lockHolder(file: string): Promise<number | null | typeof UNKNOWN> {
  if (process.platform !== 'linux') return UNKNOWN;
  let locks: string;
  try {
    locks = await readFile('/proc/locks', 'utf8');
  } catch {
    return UNKNOWN;
  }
  let dev: bigint;
  let ino: bigint;
  try {
    ({ dev, ino } = await stat(file, { bigint: true }));
  } catch {
    return null;
  }
  // "1: POSIX  ADVISORY  WRITE 2554 fe:00:2204659 0 EOF": the device as MAJOR:MINOR in hex.
  const where = `${hex(devMajor(dev))}:${hex(devMinor(dev))}:${ino}`;
  for (const line of locks.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // Blocked waiters ("1: -> POSIX ...") hold nothing.
    if (fields[1] !== 'POSIX' || fields[5] !== where) continue;
    const pid = Number(fields[4]);
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
  }
  return null;
}

/** glibc's gnu_dev_major/minor: the 64-bit dev_t Node reports, split as the kernel prints it. */
function devMajor(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
}

function devMinor(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
}

function hex(n: bigint): string {
  return n.toString(16).padStart(2, '0');
}
