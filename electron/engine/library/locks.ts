/**
 * Locks shared by every process on one library: the app's engine, `vivarium serve` and each CLI
 * command each hold their own copy of a VM, so a read-modify-write of its files is only safe
 * under a lock all of them see. A lock is a folder made with mkdir (proper-lockfile: atomic on
 * every local file system, kept fresh by an mtime heartbeat), plus an `owner` file naming the
 * process, so a lock left by a killed process is taken over at once instead of after the
 * heartbeat's stale period.
 *
 * Three kinds, always taken in this order (never the other way round, so no two processes wait
 * on each other): the library (names stay unique across create, rename and clone), then one VM
 * (its vm.json, snapshots.json and links.json), then that VM's start (one QEMU per VM). Locks are
 * held for file work only: milliseconds, never a disk conversion or a guest's boot. A lock that
 * cannot be had within a bounded wait fails with BUSY, naming what holds it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { VivariumError } from '../errors';
import type { EnginePaths, VmFiles } from '../paths';
import { processAlive } from '../qemu/process-info';
import { isNodeError } from './atomic-file';

/** After this long without a heartbeat, a lock's holder is taken for dead (any host). */
const STALE_MS = 10_000;
const HEARTBEAT_MS = 2_000;
/** How long a config change waits for another process's before giving up with BUSY. */
export const CHANGE_WAIT_MS = 15_000;
/** A start waits for another start of the same VM (QEMU's own start-up, up to QMP's deadline). */
export const START_WAIT_MS = 45_000;

/** The order locks are taken in: a lock may only be taken while holding lower ranks. */
const RANK = { library: 0, vm: 1, start: 2 } as const;
type Rank = (typeof RANK)[keyof typeof RANK];

interface LockSpec {
  /** The lock folder. */
  dir: string;
  rank: Rank;
  /** What the lock guards, for messages: "the VM library", `VM "web"`. */
  what: string;
  /** What the other process is doing, for the BUSY message. */
  doing: 'changed' | 'started';
  waitMs: number;
  /** The lock sits in a VM's folder: a folder that is gone means the VM was deleted. */
  inVmFolder: boolean;
}

/** A lock this async flow holds; `live` turns false at release (callbacks made inside outlive it). */
interface Held {
  dir: string;
  rank: Rank;
  live: boolean;
}

interface Owner {
  pid: number;
  host: string;
}

const held = new AsyncLocalStorage<readonly Held[]>();
/** In one process, waiters line up here rather than polling the lock folder. */
const queues = new Map<string, Promise<unknown>>();

/** The library's locks, by what they guard. */
export class LibraryLocks {
  private readonly changeWaitMs: number;
  private readonly startWaitMs: number;

  constructor(
    private readonly paths: EnginePaths,
    waits: { changeMs?: number; startMs?: number } = {},
  ) {
    this.changeWaitMs = waits.changeMs ?? CHANGE_WAIT_MS;
    this.startWaitMs = waits.startMs ?? START_WAIT_MS;
  }

  /** Around create, rename and clone: names are checked against the disk under it. */
  library<T>(work: () => Promise<T>): Promise<T> {
    return withLock(
      {
        dir: `${this.paths.vmsDir}.lock`,
        rank: RANK.library,
        what: 'the VM library',
        doing: 'changed',
        waitMs: this.changeWaitMs,
        inVmFolder: false,
      },
      work,
    );
  }

  /** Around each read-modify-write of a VM's vm.json, snapshots.json or links.json. */
  vm<T>(files: VmFiles, name: string, work: () => Promise<T>): Promise<T> {
    return withLock(
      {
        dir: join(files.dir, 'config.lock'),
        rank: RANK.vm,
        what: `VM "${name}"`,
        doing: 'changed',
        waitMs: this.changeWaitMs,
        inVmFolder: true,
      },
      work,
    );
  }

  /** Around a VM's start, from the check for a live QEMU until the new one runs or failed. */
  start<T>(files: VmFiles, name: string, work: () => Promise<T>): Promise<T> {
    return withLock(
      {
        dir: join(files.dir, 'start.lock'),
        rank: RANK.start,
        what: `VM "${name}"`,
        doing: 'started',
        waitMs: this.startWaitMs,
        inVmFolder: true,
      },
      work,
    );
  }
}

/** Whether this async flow holds the library lock (a rename must, before it takes a VM's). */
export function holdsLibraryLock(): boolean {
  return (held.getStore() ?? []).some((h) => h.live && h.rank === RANK.library);
}

async function withLock<T>(spec: LockSpec, work: () => Promise<T>): Promise<T> {
  const mine = (held.getStore() ?? []).filter((h) => h.live);
  // Re-entrant: a change that already holds this lock (a rename under the library lock).
  if (mine.some((h) => h.dir === spec.dir)) return work();
  const higher = mine.find((h) => h.rank > spec.rank);
  if (higher) {
    throw new VivariumError(
      'INTERNAL',
      `Lock order broken: ${spec.dir} asked for while holding ${higher.dir}.`,
    );
  }
  const previous = queues.get(spec.dir) ?? Promise.resolve();
  const run = previous.then(async () => {
    const release = await acquire(spec);
    const entry: Held = { dir: spec.dir, rank: spec.rank, live: true };
    try {
      return await held.run([...mine, entry], work);
    } finally {
      entry.live = false;
      await release();
    }
  });
  const tail = run.catch(() => undefined);
  queues.set(spec.dir, tail);
  void tail.then(() => {
    if (queues.get(spec.dir) === tail) queues.delete(spec.dir);
  });
  return run;
}

async function acquire(spec: LockSpec): Promise<() => Promise<void>> {
  const deadline = Date.now() + spec.waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const release = await lockfile.lock(spec.dir, {
        lockfilePath: spec.dir,
        realpath: false,
        stale: STALE_MS,
        update: HEARTBEAT_MS,
        retries: 0,
        // Compromised: the folder holding the lock went (the VM was deleted under it) or the
        // heartbeat stalled past the stale period. The work is short and finishes either way.
        onCompromised: () => undefined,
      });
      const owner: Owner = { pid: process.pid, host: hostname() };
      await writeFile(join(spec.dir, 'owner'), JSON.stringify(owner)).catch(() => undefined);
      return async () => {
        await rm(join(spec.dir, 'owner'), { force: true });
        await release().catch(() => undefined);
      };
    } catch (err) {
      const code = isNodeError(err) ? err.code : undefined;
      if (code === 'ENOENT' && spec.inVmFolder) {
        throw new VivariumError('NOT_FOUND', `${capitalize(spec.what)} was deleted meanwhile.`);
      }
      // ENOTEMPTY: proper-lockfile found the lock stale but cannot rmdir it (our owner file).
      if (code === 'ENOTEMPTY') {
        await breakLock(spec.dir);
        continue;
      }
      if (code !== 'ELOCKED') throw err;
    }
    if (await ownerIsGone(spec.dir)) {
      await breakLock(spec.dir);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new VivariumError(
        'BUSY',
        `${capitalize(spec.what)} is being ${spec.doing} by another Vivarium process (a window, ` +
          `the server or a command), still after ${Math.round(spec.waitMs / 1000)} s: try again in a moment.`,
      );
    }
    // Short at first (a config write takes milliseconds), a little longer after; jittered so
    // two waiters do not knock at the same moment.
    await sleep(Math.min(10 + attempt * 5, 100) + Math.random() * 10);
  }
}

/** The lock's owner is a process of this host that no longer runs (killed while holding it). */
async function ownerIsGone(dir: string): Promise<boolean> {
  let owner: Owner;
  try {
    owner = JSON.parse(await readFile(join(dir, 'owner'), 'utf8')) as Owner;
  } catch {
    // Not written yet (the holder is between mkdir and the owner file), or gone: wait.
    return false;
  }
  if (owner.host !== hostname() || !Number.isSafeInteger(owner.pid)) return false;
  return owner.pid !== process.pid && !processAlive(owner.pid);
}

/**
 * Removes a dead holder's lock: renamed aside first (only one taker wins the rename), then
 * deleted. Like proper-lockfile's own stale break, a taker that was overtaken between its check
 * and the rename can remove a fresh lock; that needs a dead holder and three processes within
 * a millisecond, and the fresh holder's heartbeat then reports the lock compromised.
 */
async function breakLock(dir: string): Promise<void> {
  const aside = `${dir}.dead-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(dir, aside);
  } catch {
    return; // someone else broke it, or it was released meanwhile
  }
  await rm(aside, { recursive: true, force: true });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
