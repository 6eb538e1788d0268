/**
 * Suspend to disk on real QEMU (TCG) with the fixture guest: a shell loop counts on the serial
 * console and a marker sits on the first disk. A saved guest resumes where it was, across an
 * engine closed and opened again (no new boot banner, the count goes on, the marker is there);
 * a discarded state boots fresh. Refusals leave the guest running and no state file behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import type { TaskInfo, VmSummary, VmTaskResults } from '../../common/contract';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';
import { GuestConsole } from '../helpers/guest-console';
import { errorOf, guest, requireGuest, waitFor, waitForText } from '../helpers/fixtures';

const COUNTER = 'i=0; while true; do i=$((i+1)); echo "COUNT:$i"; sleep 0.2; done &';

function counts(text: string): number[] {
  return [...text.matchAll(/COUNT:(\d+)\r?\n/g)].map((m) => Number(m[1]));
}

function serialLog(vm: VmSummary): string {
  return readFileSync(join(vm.dir, 'logs', 'serial.log'), 'utf8');
}

function stateFiles(vm: VmSummary): string[] {
  const dir = join(vm.dir, 'saved-state');
  return existsSync(dir)
    ? execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n').filter(Boolean)
    : [];
}

async function suspendTask(engine: Engine, vm: string): Promise<TaskInfo> {
  return engine.call('vm.suspend', { vm });
}

async function suspend(engine: Engine, vm: string): Promise<VmTaskResults['vm.suspend']> {
  const task = await suspendTask(engine, vm);
  return (await engine.tasks.wait(task.id)) as VmTaskResults['vm.suspend'];
}

function createGuest(engine: Engine, name: string, extra: Record<string, unknown> = {}) {
  return engine.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 128,
    cpus: 1,
    diskSize: '16M',
    network: 'none',
    ...extra,
  });
}

async function boot(engine: Engine, vm: VmSummary): Promise<GuestConsole> {
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  return GuestConsole.open(engine, vm.id);
}

describe('a counting guest saved to disk', () => {
  let env: GuestEngine;
  let engine: Engine;
  let vm: VmSummary;

  beforeAll(async () => {
    env = await openGuestEngine('viv-save-');
    ({ engine } = env);
    vm = await createGuest(engine, 'counter');
  });

  afterAll(async () => {
    await env.close();
  });

  it('resumes after the engine closed and opened again: the count goes on, the marker is there', async () => {
    let con = await boot(engine, vm);
    await con.diskWrite('BEFORE-SAVE');
    await con.run(COUNTER, /COUNT:5\r?\n/);
    con.close();

    const saved = await suspend(engine, vm.id);
    expect(saved.runtime.state).toBe('saved');
    expect(saved.runtime.pid).toBeNull();
    expect(Date.parse(saved.runtime.savedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(stateFiles(vm).sort()).toEqual(['state.json', 'state.vmstate']);
    const before = counts(serialLog(vm));
    const last = before[before.length - 1] ?? 0;
    expect(last).toBeGreaterThanOrEqual(5);

    // Another engine on the same home (the app quit and came back) sees it saved.
    await engine.close();
    engine = await openEngine({ home: env.home.dir, role: 'owner' });
    env.engine = engine;
    const seen = await engine.call('vm.get', { vm: vm.id });
    expect(seen.runtime.state).toBe('saved');
    expect(seen.runtime.savedAt).toBe(saved.runtime.savedAt);

    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('running');
    expect(started.runtime.savedAt).toBeNull();
    // Removed once the guest runs again.
    expect(stateFiles(vm)).toEqual([]);
    con = await GuestConsole.open(engine, vm.id);
    await con.waitFor(new RegExp(`COUNT:${last + 5}\\r?\\n`), 0, 30_000);
    const after = serialLog(vm);
    expect(after).not.toContain(guest.banner);
    const resumed = counts(after);
    expect(resumed[0]).toBeGreaterThan(last);
    expect(resumed[0]).toBeLessThanOrEqual(last + 2);
    expect(await con.diskRead()).toBe('BEFORE-SAVE');
    con.close();
  });

  it('boots fresh after its saved state is discarded', async () => {
    const saved = await suspend(engine, vm.id);
    expect(saved.runtime.state).toBe('saved');
    const discarded = await engine.call('vm.discardState', { vm: vm.id });
    expect(discarded.runtime.state).toBe('stopped');
    expect(stateFiles(vm)).toEqual([]);
    const con = await boot(engine, vm);
    // A fresh boot: the banner again, and no loop counting until one is started.
    await con.run(COUNTER, /COUNT:3\r?\n/);
    expect(counts(serialLog(vm))[0]).toBe(1);
    expect(await con.diskRead()).toBe('BEFORE-SAVE');
    con.close();
  });

  it('keeps the hardware and disks of a saved VM as they were; name and notes may change', async () => {
    await suspend(engine, vm.id);
    const memory = await errorOf(
      engine.call('vm.update', { vm: vm.id, patch: { memoryMiB: 256 } }),
    );
    expect(memory.code).toBe('BAD_STATE');
    expect(memory.message).toMatch(/saved to disk.*memoryMiB/);
    expect(memory.message).toContain('discard-state');
    const snap = await errorOf(
      engine.call('snapshot.create', { vm: vm.id, name: 's1', description: '' }),
    );
    expect(snap.message).toMatch(/saved to disk.*snapshot/);
    const disk = await errorOf(engine.call('disk.add', { vm: vm.id, size: '8M' }));
    expect(disk.message).toMatch(/saved to disk.*disks/);
    const clone = await errorOf(
      engine.call('vm.clone', { vm: vm.id, name: 'copy', linked: false }),
    );
    expect(clone.message).toMatch(/saved to disk.*clone/);
    const renamed = await engine.call('vm.update', {
      vm: vm.id,
      patch: { name: 'counter-2', notes: 'saved' },
    });
    expect(renamed.name).toBe('counter-2');
    expect(renamed.runtime.state).toBe('saved');
    expect(renamed.config.memoryMiB).toBe(128);
    // A change made behind the engine's back (vm.json edited by hand) is refused at start, and
    // the saved state stays for when the config is put back.
    const configFile = join(vm.dir, 'vm.json');
    const original = readFileSync(configFile, 'utf8');
    const edited = JSON.parse(original) as { memoryMiB: number };
    writeFileSync(configFile, JSON.stringify({ ...edited, memoryMiB: 192 }, null, 2));
    await waitFor(
      async () => (await engine.call('vm.get', { vm: vm.id })).config.memoryMiB === 192,
      'the hand edit to be seen',
    );
    const changed = await errorOf(engine.call('vm.start', { vm: vm.id }));
    expect(changed.code).toBe('BAD_STATE');
    expect(changed.message).toMatch(/changed after it was saved.*discard-state/);
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('saved');
    writeFileSync(configFile, original);
    await waitFor(
      async () => (await engine.call('vm.get', { vm: vm.id })).config.memoryMiB === 128,
      'the config to be put back',
    );
    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('running');
    // Only a VM with no QEMU has a state to discard.
    const running = await errorOf(engine.call('vm.discardState', { vm: vm.id }));
    expect(running.code).toBe('BAD_STATE');
  });

  it('gives one save for two suspends at once', async () => {
    const [a, b] = await Promise.all([suspendTask(engine, vm.id), suspendTask(engine, vm.id)]);
    expect(b.id).toBe(a.id);
    await engine.tasks.wait(a.id);
    expect(
      engine.tasks.list().filter((t) => t.kind === 'vm.suspend' && t.startedAt >= a.startedAt),
    ).toHaveLength(1);
    const again = await errorOf(suspendTask(engine, vm.id));
    expect(again.message).toContain('already saved');
    await engine.call('vm.discardState', { vm: vm.id });
  });

  it('leaves the guest running and no state file when the save is cancelled', async () => {
    const con = await boot(engine, vm);
    await con.run(COUNTER, /COUNT:2\r?\n/);
    // Cancelled the moment the first bytes are on their way, and before it starts at all.
    const task = await suspendTask(engine, vm.id);
    const off = engine.onEvent((event) => {
      if (event.type === 'task' && event.task.id === task.id && event.task.bytesDone) {
        engine.tasks.cancel(task.id);
      }
    });
    const mid = await errorOf(engine.tasks.wait(task.id));
    off();
    expect(mid.code).toBe('CANCELLED');
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('running');
    expect(stateFiles(vm)).toEqual([]);
    const early = await suspendTask(engine, vm.id);
    engine.tasks.cancel(early.id);
    const error = await errorOf(engine.tasks.wait(early.id));
    expect(error.code).toBe('CANCELLED');
    expect(engine.tasks.get(early.id).state).toBe('cancelled');
    const now = await engine.call('vm.get', { vm: vm.id });
    expect(now.runtime.state).toBe('running');
    expect(stateFiles(vm)).toEqual([]);
    // Still counting: the guest was put back to run.
    const seen = Math.max(...counts(serialLog(vm)));
    await con.waitFor(new RegExp(`COUNT:${seen + 3}\\r?\\n`), 0, 30_000);
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });
  });
});

describe('a paused guest saved to disk', () => {
  let env: GuestEngine;

  beforeAll(async () => {
    env = await openGuestEngine('viv-save-paused-');
  });

  afterAll(async () => {
    await env.close();
  });

  it('resumes paused, then counts on when resumed', async () => {
    const { engine } = env;
    const vm = await createGuest(engine, 'paused');
    const con = await boot(engine, vm);
    await con.run(COUNTER, /COUNT:3\r?\n/);
    con.close();
    await engine.call('vm.pause', { vm: vm.id });
    const saved = await suspend(engine, vm.id);
    expect(saved.runtime.state).toBe('saved');
    const last = Math.max(...counts(serialLog(vm)));
    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('paused');
    expect(stateFiles(vm)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(counts(serialLog(vm))).toEqual([]);
    await engine.call('vm.resume', { vm: vm.id });
    const again = await GuestConsole.open(engine, vm.id);
    await again.waitFor(new RegExp(`COUNT:${last + 3}\\r?\\n`), 0, 30_000);
    expect(Math.min(...counts(serialLog(vm)))).toBeGreaterThan(last);
    again.close();
    await engine.call('vm.powerOff', { vm: vm.id });
  });
});

describe('a save and other processes', () => {
  let env: GuestEngine;
  let engine: Engine;
  let vm: VmSummary;

  beforeAll(async () => {
    env = await openGuestEngine('viv-save-two-');
    ({ engine } = env);
    vm = await createGuest(engine, 'shared');
  });

  afterAll(async () => {
    await env.close();
  });

  it('never uses a half-written state file a killed process left behind', async () => {
    await mkdir(join(vm.dir, 'saved-state'), { recursive: true });
    writeFileSync(join(vm.dir, 'saved-state', 'state.partial'), 'QEVM half a save');
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('stopped');
    const con = await boot(engine, vm);
    con.close();
    expect(serialLog(vm)).toContain(guest.banner);
  });

  it('gives one saved state when two processes suspend the VM at once', async () => {
    const other = await openEngine({ home: env.home.dir, role: 'oneshot' });
    try {
      const [mine, theirs] = await Promise.allSettled([
        suspend(engine, vm.id),
        suspend(other, vm.id),
      ]);
      // One of them saves; the other finds it saved, or is told it is under way.
      const outcomes = [mine, theirs].map((r) =>
        r.status === 'fulfilled'
          ? r.value.runtime.state
          : `${(r.reason as { code: string }).code}: ${(r.reason as Error).message}`,
      );
      expect(outcomes).toContain('saved');
      for (const o of outcomes) expect(o).toMatch(/^(saved|BUSY: |BAD_STATE: .*already saved)/);
      expect((await other.call('vm.get', { vm: vm.id })).runtime.state).toBe('saved');
    } finally {
      await other.close();
    }
    await waitFor(
      async () => (await engine.call('vm.get', { vm: vm.id })).runtime.state === 'saved',
      'the owner to see it saved',
    );
    expect(stateFiles(vm).sort()).toEqual(['state.json', 'state.vmstate']);
    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('running');
    expect(serialLog(vm)).not.toContain(guest.banner);
    await engine.call('vm.powerOff', { vm: vm.id });
  });
});

describe('saves that cannot happen', () => {
  let env: GuestEngine;

  beforeAll(async () => {
    env = await openGuestEngine('viv-save-no-');
  });

  afterAll(async () => {
    await env.close();
  });

  it('refuses a VM with clipboard sharing, naming it, and leaves it running', async () => {
    const { engine } = env;
    const vm = await createGuest(engine, 'clipboard');
    await engine.call('vm.update', {
      vm: vm.id,
      patch: {
        extraArgs: [
          '-chardev',
          'qemu-vdagent,id=vdagent0,clipboard=on',
          '-device',
          'virtio-serial-pci,id=vser0',
          '-device',
          'virtserialport,chardev=vdagent0,name=com.redhat.spice.0',
        ],
      },
    });
    await engine.call('vm.start', { vm: vm.id });
    const refused = await errorOf(suspendTask(engine, vm.id));
    expect(refused.code).toBe('BAD_STATE');
    expect(refused.message).toContain(
      'A qemu-vdagent chardev (clipboard) in the VM’s extra QEMU arguments',
    );
    expect(refused.message).toContain('remove the qemu-vdagent chardev');
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('running');
    expect(stateFiles(vm)).toEqual([]);
    await engine.call('vm.powerOff', { vm: vm.id });
  });

  it('leaves the guest running and no partial file when the disk fills up', async () => {
    requireGuest();
    const mnt = join(env.home.dir, 'small');
    await mkdir(mnt);
    // Room for the VM's folder, not for its 128 MiB of memory.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6M', 'tmpfs', mnt]);
    try {
      const engine = await openEngine({ home: mnt, role: 'owner' });
      try {
        const vm = await createGuest(engine, 'full', { diskSize: '4M' });
        const con = await boot(engine, vm);
        // Memory the guest really uses: a few MiB of random bytes in its tmpfs.
        await con.run(
          'dd if=/dev/urandom of=/tmp/fill bs=1M count=8 2>/dev/null; echo FILLED',
          /FILLED/,
        );
        const task = await suspendTask(engine, vm.id);
        const failed = await errorOf(engine.tasks.wait(task.id));
        expect(failed.code).toBe('DISK_FULL');
        expect(failed.message).toContain('keeps running');
        const now = await engine.call('vm.get', { vm: vm.id });
        expect(now.runtime.state).toBe('running');
        expect(stateFiles(vm)).toEqual([]);
        await con.run('echo STILL-HERE', /STILL-HERE/);
        con.close();
        await engine.call('vm.powerOff', { vm: vm.id });
      } finally {
        await engine.close();
      }
    } finally {
      execFileSync('umount', ['-l', mnt]);
      await rm(mnt, { recursive: true, force: true });
    }
  });
});
