import { readFile } from 'node:fs/promises';

export async function readPidFile(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * A pid can be reused after QEMU dies: on Linux, check that the process is the QEMU started
 * for this VM (its -name carries process=qemu-<id>). Elsewhere, trust the pid file.
 */
export async function isOurQemu(pid: number, vmId: string): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(`process=qemu-${vmId}`);
  } catch {
    return false;
  }
}
