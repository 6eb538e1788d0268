/**
 * Bytes promised to the uploads and downloads in flight, across processes (the app, `vivarium
 * serve`, CLI commands share one cache). Without them every concurrent upload passes the
 * free-space check on its own and together they fill the disk. Each transfer writes
 * `.reservations/<pid>-<part hash>.json` ({pid, bytes, part}) before its first byte; what it still
 * needs is `bytes` minus what its part already holds (that has left the free space already). The
 * check and the write happen under a lock (proper-lockfile), so two transfers never count the
 * same free bytes; a reservation whose process is dead is removed, a lock its holder stopped
 * refreshing is taken over.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { VivariumError } from '../../errors';
import { processAlive } from '../../qemu/process-info';

interface Stored {
  pid: number;
  bytes: number;
  part: string;
}

const LOCK_WAIT_MS = 10_000;
/** A lock whose holder stopped refreshing it this long ago is left over (its process died). */
const LOCK_STALE_MS = 5_000;

export class SpaceReservations {
  /** @param dir the reservations folder (`media/.reservations`) */
  constructor(readonly dir: string) {}

  /**
   * Under the lock: `check` gets the free bytes minus what others still need (null when the
   * platform cannot say) and throws to refuse; then `needBytes` for `part` is promised (replacing
   * this process's earlier promise for the same part).
   */
  async reserve(
    part: string,
    needBytes: number,
    freeBytes: () => Promise<number | null>,
    check: (available: number | null, promised: number) => void,
  ): Promise<void> {
    await this.locked(async () => {
      const mine = this.fileOf(part);
      await rm(mine, { force: true });
      const promised = await this.outstanding();
      const free = await freeBytes();
      check(free === null ? null : free - promised, promised);
      // What the part will hold at the end: a resumed part already holds some of it.
      const record: Stored = { pid: process.pid, bytes: needBytes + (await sizeOf(part)), part };
      try {
        await writeFile(mine, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      } catch (err) {
        await rm(mine, { force: true });
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
        throw new VivariumError(
          'DISK_FULL',
          `The disk holding the media cache (${this.dir}) is full: free some space and try again.`,
        );
      }
    });
  }

  /** Takes back this process's promise for `part` (the transfer ended, either way). */
  async release(part: string): Promise<void> {
    await rm(this.fileOf(part), { force: true });
  }

  /** Bytes the live transfers still need; reservations of dead processes are removed. */
  async outstanding(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let sum = 0;
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const file = join(this.dir, name);
      const r = await readStored(file);
      if (!r || !processAlive(r.pid)) {
        await rm(file, { force: true });
        continue;
      }
      sum += Math.max(0, r.bytes - (await sizeOf(r.part)));
    }
    return sum;
  }

  private fileOf(part: string): string {
    const tag = createHash('sha256').update(part).digest('hex').slice(0, 16);
    return join(this.dir, `${process.pid}-${tag}.json`);
  }

  private async locked<T>(work: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lock = join(this.dir, '.lock');
    let release: () => Promise<void>;
    try {
      // A lock folder, no file inside it: taking it still works on a full disk.
      release = await lockfile.lock(this.dir, {
        lockfilePath: lock,
        realpath: false,
        stale: LOCK_STALE_MS,
        update: LOCK_STALE_MS / 4,
        retries: { retries: LOCK_WAIT_MS / 50, minTimeout: 15, maxTimeout: 50, factor: 1.2 },
        onCompromised: () => undefined,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      throw new VivariumError(
        'BUSY',
        `Another Vivarium process is reserving space in the media cache (${lock}): try again; if none is running, remove that folder.`,
      );
    }
    try {
      return await work();
    } finally {
      await release().catch(() => undefined);
    }
  }
}

function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

async function readStored(file: string): Promise<Stored | null> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as Partial<Stored>;
    return typeof r.pid === 'number' && typeof r.bytes === 'number' && typeof r.part === 'string'
      ? { pid: r.pid, bytes: r.bytes, part: r.part }
      : null;
  } catch {
    return null;
  }
}
