import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, VmSummary } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { errorOf, guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;
const extraEngines: Engine[] = [];

function qemuPidsFor(id: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(`process=qemu-${id}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function createGuest(e: Engine, name: string): Promise<VmSummary> {
  return e.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '0',
  });
}

async function bootToBanner(e: Engine, vm: VmSummary): Promise<VmSummary> {
  const started = await e.call('vm.start', { vm: vm.id });
  expect(started.runtime.state).toBe('running');
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  return started;
}

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-life-');
  engine = await openEngine({ home: home.dir, role: 'owner' });
});

afterAll(async () => {
  for (const e of [engine, ...extraEngines]) {
    const list = await e.call('vm.list', {}).catch(() => []);
    for (const vm of list) await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    await e.close();
  }
  await home.remove();
});

describe('VM lifecycle on real QEMU', () => {
  it('boots the fixture guest and reads its banner on serial', async () => {
    const vm = await createGuest(engine, 'boot test');
    const started = await bootToBanner(engine, vm);
    expect(started.runtime.pid).toBeGreaterThan(0);
    expect(started.runtime.accel).toBe('tcg');
    const log = await engine.call('vm.log', { vm: vm.id, kind: 'serial' });
    expect(log.text).toContain(guest.banner);
    await engine.call('vm.powerOff', { vm: vm.id });
  });

  it('reflects pause and resume in its state, and takes a screenshot', async () => {
    const vm = await createGuest(engine, 'pause test');
    await bootToBanner(engine, vm);
    const events: ApiEvent[] = [];
    const off = engine.onEvent((e) => events.push(e));
    expect((await engine.call('vm.pause', { vm: vm.id })).runtime.state).toBe('paused');
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('paused');
    const shot = await engine.call('vm.screenshot', { vm: vm.id });
    expect(shot.width).toBeGreaterThan(0);
    expect(Buffer.from(shot.pngBase64 ?? '', 'base64').length).toBeGreaterThan(1000);
    expect((await engine.call('vm.resume', { vm: vm.id })).runtime.state).toBe('running');
    off();
    const states = events.flatMap((e) => (e.type === 'vm.state' ? [e.vm.runtime.state] : []));
    expect(states).toEqual(expect.arrayContaining(['pausing', 'paused', 'resuming', 'running']));
    await engine.call('vm.powerOff', { vm: vm.id });
  });

  it('ends an ACPI shutdown in stopped', async () => {
    const vm = await createGuest(engine, 'acpi test');
    await bootToBanner(engine, vm);
    const result = await engine.call('vm.shutdown', { vm: vm.id, timeoutMs: 60_000 });
    expect(result).toMatchObject({ stopped: true });
    const after = await engine.call('vm.get', { vm: vm.id });
    expect(after.runtime).toMatchObject({ state: 'stopped', pid: null, lastExit: null });
    expect(qemuPidsFor(vm.id)).toEqual([]);
  });

  it('marks a VM whose QEMU is killed with -9 as crashed, with its exit', async () => {
    const vm = await createGuest(engine, 'kill test');
    const started = await bootToBanner(engine, vm);
    const seen = new Promise<VmSummary>((resolve) => {
      const off = engine.onEvent((e) => {
        if (e.type === 'vm.state' && e.vm.id === vm.id && e.vm.runtime.state === 'crashed') {
          off();
          resolve(e.vm);
        }
      });
    });
    process.kill(started.runtime.pid ?? 0, 'SIGKILL');
    const crashed = await seen;
    expect(crashed.runtime.lastExit).toMatchObject({ signal: 'SIGKILL' });
    // Another engine (the next CLI command) reports the same, not "stopped".
    const other = await openEngine({ home: home.dir, role: 'oneshot' });
    expect((await other.call('vm.get', { vm: vm.id })).runtime.state).toBe('crashed');
    await other.close();
    // A crashed VM starts again.
    await bootToBanner(engine, vm);
    await engine.call('vm.powerOff', { vm: vm.id });
  });

  it('re-attaches a restarted engine to a running VM with its true state', async () => {
    const first = await openEngine({ home: home.dir, role: 'owner' });
    const vm = await createGuest(first, 'reattach test');
    const started = await bootToBanner(first, vm);
    await first.call('vm.pause', { vm: vm.id });
    await first.close();
    const second = await openEngine({ home: home.dir, role: 'owner' });
    extraEngines.push(second);
    const again = await second.call('vm.get', { vm: vm.id });
    expect(again.runtime).toMatchObject({ state: 'paused', pid: started.runtime.pid });
    expect((await second.call('vm.resume', { vm: vm.id })).runtime.state).toBe('running');
    // A oneshot client (the CLI) works while the app holds the main QMP socket.
    const cli = await openEngine({ home: home.dir, role: 'oneshot' });
    expect((await cli.call('vm.get', { vm: vm.id })).runtime.state).toBe('running');
    await cli.close();
    await second.call('vm.powerOff', { vm: vm.id });
    expect((await second.call('vm.get', { vm: vm.id })).runtime.state).toBe('stopped');
  });

  it('reports crashed for a VM whose QEMU vanished while nothing watched', async () => {
    const first = await openEngine({ home: home.dir, role: 'oneshot' });
    const vm = await createGuest(first, 'vanish test');
    const started = await bootToBanner(first, vm);
    await first.close();
    process.kill(started.runtime.pid ?? 0, 'SIGKILL');
    await waitFor(() => qemuPidsFor(vm.id).length === 0, 'QEMU to die');
    const second = await openEngine({ home: home.dir, role: 'oneshot' });
    expect((await second.call('vm.get', { vm: vm.id })).runtime.state).toBe('crashed');
    await second.close();
  });

  it('gives one QEMU for two concurrent starts', async () => {
    const vm = await createGuest(engine, 'double start');
    const results = await Promise.allSettled([
      engine.call('vm.start', { vm: vm.id }),
      engine.call('vm.start', { vm: vm.id }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected && (rejected.reason as { code: string }).code).toBe('BAD_STATE');
    expect(qemuPidsFor(vm.id)).toHaveLength(1);
    await engine.call('vm.powerOff', { vm: vm.id });
  });
});

describe('bad input gets a clear error and loses nothing', () => {
  it('refuses a missing ISO, a folder, memory 0 or above host RAM, and a duplicate name', async () => {
    const before = (await engine.call('vm.list', {})).map((v) => v.id);
    const missing = await errorOf(engine.call('vm.create', { name: 'x', iso: '/nope/none.iso' }));
    expect(missing).toMatchObject({ code: 'FILE_NOT_FOUND' });
    expect(missing.message).toContain('/nope/none.iso');
    const folder = join(home.dir, 'a-folder.iso');
    await mkdir(folder);
    expect(await errorOf(engine.call('vm.create', { name: 'x', iso: folder }))).toMatchObject({
      code: 'FILE_UNREADABLE',
    });
    const zero = await errorOf(
      engine.call('vm.create', { name: 'x', iso: guest.iso, memoryMiB: 0 }),
    );
    expect(zero.code).toBe('INVALID_REQUEST');
    expect(zero.message).toMatch(/at least 16 MiB/);
    const huge = await errorOf(
      engine.call('vm.create', { name: 'x', iso: guest.iso, memoryMiB: 1024 * 1024 }),
    );
    expect(huge.code).toBe('RESOURCE_LIMIT');
    await createGuest(engine, 'Unique');
    const dup = await errorOf(createGuest(engine, 'unique'));
    expect(dup.code).toBe('NAME_TAKEN');
    const after = (await engine.call('vm.list', {})).map((v) => v.id);
    expect(after).toHaveLength(before.length + 1);
  });

  it('runs a VM whose name is full of commas, quotes and slashes', async () => {
    const name = `a,b "c" 'd', e/f, process=evil ünï`;
    const vm = await createGuest(engine, name);
    expect(vm.name).toBe(name);
    await bootToBanner(engine, vm);
    expect((await engine.call('vm.get', { vm: name })).runtime.state).toBe('running');
    await engine.call('vm.powerOff', { vm: name });
  });

  it('keeps a start that QEMU refuses from losing the VM', async () => {
    const vm = await createGuest(engine, 'bad extra args');
    await engine.call('vm.update', {
      vm: vm.id,
      patch: { extraArgs: ['-device', 'no-such-device'] },
    });
    const err = await errorOf(engine.call('vm.start', { vm: vm.id }));
    expect(err.code).toBe('QEMU_FAILED');
    expect(err.message).toMatch(/no-such-device/);
    const after = await engine.call('vm.get', { vm: vm.id });
    expect(after.runtime.state).toBe('stopped');
    expect(after.config.extraArgs).toEqual(['-device', 'no-such-device']);
  });
});
