/**
 * Bytes promised to the uploads and downloads in flight, across processes (the app, `vivarium
 * serve`, CLI commands share one cache). Without them every concurrent upload passes the
 * free-space check on its own and together they fill the disk. Each transfer writes
 * `.reservations/<pid>-<part hash>.json` ({pid, bytes, part}) before its first byte; what it still
 * needs is `bytes` minus what its part already holds (that has left the free space already). The
 * check and the write happen under a lock folder, so two transfers never count the same free
 * bytes; a reservation or a lock whose process is dead is removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VivariumError } from '../../errors';
import { processAlive } from '../../qemu/process-info';

interface Stored {
  pid: number;
  bytes: number;
  part: string;
}

const LOCK_WAIT_MS = 10_000;
/** A lock held longer than this is left over (the check inside takes milliseconds). */
const LOCK_STALE_MS = 30_000;

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
      await writeFile(mine, `${JSON.stringify(record)}\n`, { mode: 0o600 });
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
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await mkdir(lock);
        await writeFile(join(lock, 'owner'), String(process.pid));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (await lockIsStale(lock)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new VivariumError(
          'TIMEOUT',
          `Another Vivarium process holds ${lock} and does not let go: if none is running, remove that folder.`,
        );
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    try {
      return await work();
    } finally {
      await rm(lock, { recursive: true, force: true });
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

async function lockIsStale(lock: string): Promise<boolean> {
  const st = await stat(lock).catch(() => null);
  if (!st) return false;
  if (Date.now() - st.mtimeMs > LOCK_STALE_MS) return true;
  const owner = Number(await readFile(join(lock, 'owner'), 'utf8').catch(() => ''));
  // No owner yet: it is being taken right now (or its taker died at once; the age rule covers it).
  return Number.isInteger(owner) && owner > 0 && !processAlive(owner);
}
