/**
 * A claim on one piece of a VM's work across processes (saving its state, migrating it): a file
 * created exclusively holding `pid token`. A claim left by a process that is gone (kill -9, a
 * crash) is taken over, and the taker is told so: what that process left behind is its to clear.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import type { VivariumError } from '../errors';
import { processAlive } from '../qemu/process-info';
import { isNodeError } from './atomic-file';

export interface Claim {
  /** A process that is gone held it before: its leftovers are this claim's to clear. */
  tookOver: boolean;
  release(): Promise<void>;
}

/** Takes the claim in `file`, or throws `busy()` while a live process holds it. */
export async function claimFile(file: string, busy: () => VivariumError): Promise<Claim> {
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  let tookOver = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return {
        tookOver,
        release: async () => {
          const now = await readFile(file, 'utf8').catch(() => '');
          if (now === token) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if (!isNodeError(err) || err.code !== 'EEXIST') throw err;
      if (attempt > 0) throw busy();
      const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) throw busy();
      await rm(file, { force: true });
      tookOver = true;
    }
  }
}

/** The pid of the live process holding the claim in `file`, or null (none, or a dead one's). */
export async function claimHolder(file: string): Promise<number | null> {
  const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
  return Number.isInteger(holder) && holder > 0 && processAlive(holder) ? holder : null;
}
