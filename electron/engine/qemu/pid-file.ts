import { readFile, readlink, stat } from 'node:fs/promises';
import { basename } from 'node:path';

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
