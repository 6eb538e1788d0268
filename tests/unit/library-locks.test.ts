/**
 * The library's cross-process locks (electron/engine/library/locks.ts): a lock another live
 * process holds makes a change wait, then fail with BUSY naming the VM; a lock left by a killed
 * process (its owner pid is gone) or one whose heartbeat stopped is taken over; locks are taken
 * library first, then a VM, then its start, and re-entered without waiting.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LibraryLocks } from '../../electron/engine/library/locks';
import { enginePaths, vmFiles, type EnginePaths, type VmFiles } from '../../electron/engine/paths';
import { errorOf } from '../helpers/fixtures';

let root: string;
let paths: EnginePaths;
let files: VmFiles;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'viv-locks-'));
  paths = enginePaths(join(root, 'home'), join(root, 'run'));
  files = vmFiles(paths, 'abcdefabcdef');
  await mkdir(files.dir, { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A lock folder as another process leaves it: made, its owner written. */
async function plantLock(dir: string, pid: number): Promise<void> {
  await mkdir(dir);
  await writeFile(join(dir, 'owner'), JSON.stringify({ pid, host: hostname() }));
}

/** A pid no process has: one that just ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('library locks', () => {
  it('fails with BUSY, naming the VM, while another live process holds its lock', async () => {
    const locks = new LibraryLocks(paths, { changeMs: 300 });
    // The test runner's parent is alive and is not this process.
    await plantLock(join(files.dir, 'config.lock'), process.ppid);
    const started = Date.now();
    const busy = await errorOf(locks.vm(files, 'web', () => Promise.resolve(1)));
    expect(busy.code).toBe('BUSY');
    expect(busy.message).toMatch(/^VM "web" is being changed by another Vivarium process/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('takes over at once a lock whose owner was killed, and one whose heartbeat stopped', async () => {
    const locks = new LibraryLocks(paths, { changeMs: 2000 });
    await plantLock(join(files.dir, 'config.lock'), deadPid());
    const started = Date.now();
    await expect(locks.vm(files, 'web', () => Promise.resolve('mine'))).resolves.toBe('mine');
    expect(Date.now() - started).toBeLessThan(1000);

    // No owner file (another host, or killed before writing it): stale after the heartbeat's
    // period, judged by the folder's mtime.
    const lockDir = `${paths.vmsDir}.lock`;
    await mkdir(paths.vmsDir, { recursive: true });
    await mkdir(lockDir);
    const old = new Date(Date.now() - 60_000);
    await utimes(lockDir, old, old);
    await expect(locks.library(() => Promise.resolve('library'))).resolves.toBe('library');
  });

  it('queues changes in one process, re-enters a held lock, and keeps the lock order', async () => {
    const locks = new LibraryLocks(paths, { changeMs: 2000 });
    await mkdir(paths.vmsDir, { recursive: true });
    const order: string[] = [];
    const slow = locks.vm(files, 'web', async () => {
      order.push('first in');
      await new Promise((r) => setTimeout(r, 50));
      order.push('first out');
    });
    const second = locks.vm(files, 'web', () => {
      order.push('second');
      return Promise.resolve();
    });
    await Promise.all([slow, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);

    // Library, then VM, then start; the VM's lock again inside is no second wait.
    await expect(
      locks.library(() =>
        locks.vm(files, 'web', () =>
          locks.vm(files, 'web', () => locks.start(files, 'web', () => Promise.resolve('all'))),
        ),
      ),
    ).resolves.toBe('all');
    // The other way round could deadlock against a process doing it in order: refused.
    const backwards = await errorOf(
      locks.vm(files, 'web', () => locks.library(() => Promise.resolve())),
    );
    expect(backwards.code).toBe('INTERNAL');
    expect(backwards.message).toMatch(/Lock order/);
  });

  it('says the VM was deleted when its folder went while waiting', async () => {
    const locks = new LibraryLocks(paths, { changeMs: 2000 });
    await rm(files.dir, { recursive: true });
    await expect(locks.vm(files, 'web', () => Promise.resolve())).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'VM "web" was deleted meanwhile.',
    });
  });
});
