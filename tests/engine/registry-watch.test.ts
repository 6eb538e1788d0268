/**
 * The owner engine (the app, the server) follows what a CLI command's engine does to the library
 * through fs.watch: a VM created, renamed, started and powered off by another engine shows up in
 * the owner's list and events within a few seconds, well before its slow safety poll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { SAFETY_POLL_MS } from '../../electron/engine/library/library-watch';
import { guest, requireGuest, tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let owner: Engine;
let cli: Engine;
const events: ApiEvent[] = [];
// Generous for a loaded machine, yet short of the safety poll: only the watch can meet it.
const seen = { timeout: SAFETY_POLL_MS - 2000, interval: 100 };

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-watch-');
  owner = await openEngine({ home: home.dir, role: 'owner' });
  owner.onEvent((e) => events.push(e));
  cli = await openEngine({ home: home.dir, role: 'oneshot' });
});

afterAll(async () => {
  for (const e of [cli, owner]) {
    const list = await e.call('vm.list', {}).catch(() => []);
    for (const vm of list) await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    await e.close();
  }
  await home.remove();
});

describe('the library watch', () => {
  it('shows the owner a VM another engine creates, renames, starts and stops', async () => {
    const vm = await cli.call('vm.create', {
      name: 'made by the cli',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '0',
    });
    await expect
      .poll(() => events.some((e) => e.type === 'vm.added' && e.vm.id === vm.id), seen)
      .toBe(true);

    await cli.call('vm.update', { vm: vm.id, patch: { name: 'renamed by the cli' } });
    await expect
      .poll(async () => (await owner.call('vm.get', { vm: vm.id })).name, seen)
      .toBe('renamed by the cli');

    await cli.call('vm.start', { vm: vm.id });
    await expect
      .poll(
        () =>
          events.some(
            (e) => e.type === 'vm.state' && e.vm.id === vm.id && e.vm.runtime.state === 'running',
          ),
        seen,
      )
      .toBe(true);

    await cli.call('vm.powerOff', { vm: vm.id });
    await expect
      .poll(
        () =>
          events.some(
            (e) => e.type === 'vm.state' && e.vm.id === vm.id && e.vm.runtime.state === 'stopped',
          ),
        seen,
      )
      .toBe(true);
  });
});
