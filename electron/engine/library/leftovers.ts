/**
 * Files a crashed Vivarium process left half-written in a VM's folder: `<file>.tmp-<pid>` (an
 * atomic write, library/atomic-file.ts) and `<file>.new-<pid>` (a UEFI variable store being
 * rebuilt, vms/uefi-vars.ts). Neither was ever renamed into place, so nothing refers to them; they
 * go once their process is gone (a live one may still be writing).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../qemu/process-info';

const LEFTOVER = /\.(?:tmp|new)-(\d+)$/;

/** Removes the leftovers in `dir`; returns their names. */
export async function removeLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(LEFTOVER.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
