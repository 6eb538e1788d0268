/**
 * A VM's QEMU found by the lock QEMU holds on its pid file (electron/engine/qemu/pid-file.ts):
 * the holder is seen in /proc/locks while QEMU runs, a second QEMU cannot take the file, and
 * once QEMU ends nothing holds it. A tiny QEMU (`-machine none`, paused) is enough.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveQemuPid, pidFileLockHolder } from '../../electron/engine/qemu/pid-file';
import { tempHome, waitFor } from '../helpers/fixtures';

const HAVE_QEMU = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const ON_LINUX = process.platform === 'linux';

let cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe.skipIf(!HAVE_QEMU || !ON_LINUX)('the QEMU that holds a pid file', () => {
  it('is the lock holder while it runs, and nothing after', async () => {
    const home = await tempHome('viv-pidfile-');
    cleanup.push(() => home.remove());
    const pidFile = join(home.dir, 'qemu.pid');
    const child = spawn(
      'qemu-system-x86_64',
      [
        '-machine',
        'none',
        '-S',
        '-display',
        'none',
        '-name',
        'guest=t,process=qemu-0123456789ab',
        '-pidfile',
        pidFile,
      ],
      { stdio: 'ignore' },
    );
    cleanup.push(() => {
      child.kill('SIGKILL');
      return Promise.resolve();
    });
    const holder = await waitFor(() => pidFileLockHolder(pidFile), 'QEMU to lock its pid file');
    expect(holder).toBe(child.pid);
    expect(await liveQemuPid(pidFile, '0123456789ab')).toBe(child.pid);

    // A second QEMU on the same pid file is refused by QEMU itself.
    const second = spawnSync(
      'qemu-system-x86_64',
      ['-machine', 'none', '-S', '-display', 'none', '-pidfile', pidFile],
      { encoding: 'utf8', timeout: 10_000 },
    );
    expect(second.stderr).toMatch(/Cannot lock pid file/);

    const ended = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await ended;
    // Killed, QEMU leaves its pid file behind, unlocked: no live QEMU holds the VM.
    await writeFile(pidFile, `${child.pid ?? 0}\n`);
    expect(await pidFileLockHolder(pidFile)).toBeNull();
    expect(await liveQemuPid(pidFile, '0123456789ab')).toBeNull();
  });

  it('is nobody when there is no pid file', async () => {
    const home = await tempHome('viv-pidfile-');
    cleanup.push(() => home.remove());
    expect(await liveQemuPid(join(home.dir, 'qemu.pid'), '0123456789ab')).toBeNull();
  });
});
