/**
 * Half-written files a crashed process left in a VM's folder (an atomic write's `.tmp-<pid>`, a
 * rebuilt UEFI variable store's `.new-<pid>`) are removed when the app's engine opens, unless
 * their process still runs; the VM's own files are untouched.
 */
import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine } from '../../electron/engine';
import { tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
beforeAll(async () => {
  home = await tempHome('viv-leftovers-');
});
afterAll(() => home.remove());

it('removes the leftovers of dead processes when the app opens, and keeps the rest', async () => {
  const first = await openEngine({ home: home.dir, role: 'owner' });
  const vm = await first.call('vm.create', {
    name: 'Leftovers',
    kernel: '/bin/true',
    diskSize: '0',
    firmware: 'uefi',
  });
  await first.close();

  // A pid that has surely ended: a process that ran and exited.
  const dead = spawnSync('true').pid;
  const alive = process.ppid;
  const before = (await readdir(vm.dir)).sort();
  const planted = [
    `vm.json.tmp-${dead}`,
    `uefi-vars.qcow2.new-${dead}`,
    `vm.json.tmp-${alive}`,
    `uefi-vars.qcow2.new-${process.pid}`,
    'notes.new-file',
  ];
  for (const name of planted) await writeFile(join(vm.dir, name), 'half');

  const oneshot = await openEngine({ home: home.dir, role: 'oneshot' });
  await oneshot.close();
  expect((await readdir(vm.dir)).sort(), 'a CLI command cleans nothing').toEqual(
    [...before, ...planted].sort(),
  );

  const owner = await openEngine({ home: home.dir, role: 'owner' });
  await owner.close();
  expect((await readdir(vm.dir)).sort()).toEqual(
    [
      ...before,
      `vm.json.tmp-${alive}`,
      `uefi-vars.qcow2.new-${process.pid}`,
      'notes.new-file',
    ].sort(),
  );
  expect(before).toContain('uefi-vars.qcow2');
});
