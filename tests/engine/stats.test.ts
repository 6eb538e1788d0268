import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmStatsSample, VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import { errorOf, guest, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';

const MiB = 1024 * 1024;
let ge: GuestEngine | undefined;
let engine: Engine;
let vm: VmSummary;
let con: GuestConsole | undefined;
let subscription: string;

/** The samples of `vm` the engine pushes over the next `count` ticks. */
function samples(count: number): Promise<VmStatsSample[]> {
  return new Promise((resolve) => {
    const got: VmStatsSample[] = [];
    const off = engine.onEvent((event) => {
      if (event.type !== 'stats.sample') return;
      const mine = event.vms.find((s) => s.vmId === vm.id);
      if (mine) got.push(mine);
      if (got.length >= count) {
        off();
        resolve(got);
      }
    });
  });
}

/** The first sample (within `ticks` ticks) that `accept` takes; the last one seen otherwise. */
async function sampleWhere(
  accept: (s: VmStatsSample) => boolean,
  ticks: number,
): Promise<VmStatsSample> {
  let last: VmStatsSample | undefined;
  for (let i = 0; i < ticks; i++) {
    [last] = await samples(1);
    if (last && accept(last)) return last;
  }
  if (!last) throw new Error('no sample');
  return last;
}

function shell(): GuestConsole {
  if (!con) throw new Error('The guest console did not open (see beforeAll)');
  return con;
}

/** A /proc/meminfo line of the guest, in bytes. */
async function guestMeminfo(key: string): Promise<number> {
  const m = await shell().run(`grep ${key}: /proc/meminfo`, new RegExp(`${key}:\\s+(\\d+) kB`));
  return Number(m[1]) * 1024;
}

beforeAll(async () => {
  ge = await openGuestEngine('viv-stats-');
  engine = ge.engine;
  vm = await engine.call('vm.create', {
    name: 'stats guest',
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '64M',
  });
  expect(vm.config.balloon).toBe(true);
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  con = await GuestConsole.open(engine, vm.id);
  await con.run('', /# /);
  ({ subscription } = await engine.call('stats.subscribe', {}));
});

afterAll(async () => {
  con?.close();
  await ge?.close();
});

describe('statistics of a running VM on real QEMU', () => {
  it('shows an idle guest under 20% CPU, with one vCPU thread', async () => {
    const idle = await sampleWhere((s) => s.cpuPercent !== null && s.cpuPercent < 20, 5);
    expect(idle.cpuPercent).toBeLessThan(20);
    expect(idle.vcpuPercent).toHaveLength(1);
    expect(idle.pid).toBe((await engine.call('vm.get', { vm: vm.id })).runtime.pid);
    expect(idle.threads).toBeGreaterThan(1);
    expect(idle.pssBytes).toBeGreaterThan(0);
  });

  it('shows a guest spinning in a busy loop at 50% CPU or more within 5 s', async () => {
    const [idle] = await samples(1);
    await shell().run('while :; do :; done & echo LOOP-$!', /LOOP-(\d+)/);
    try {
      // Ticks of 2 s: the first may straddle the loop's start.
      const busy = await sampleWhere((s) => (s.cpuPercent ?? 0) >= 50, 3);
      const host = await engine.call('stats.host', {});
      // A host whose every core is taken (other work, other VMs) cannot give one thread half a
      // core: then the loop must still stand out clearly from the idle guest.
      const floor = (host.cpuPercent ?? 0) >= 90 ? 30 : 50;
      if ((busy.cpuPercent ?? 0) < 50)
        console.log(
          `host saturated (${host.cpuPercent?.toFixed(0)}% busy): busy guest at ${busy.cpuPercent?.toFixed(0)}%`,
        );
      expect(busy.cpuPercent).toBeGreaterThanOrEqual(floor);
      expect(busy.cpuPercent).toBeGreaterThan(3 * (idle?.cpuPercent ?? 0));
      expect(busy.vcpuPercent[0]).toBeGreaterThanOrEqual(floor - 5);
      // The process is never counted below its busiest thread.
      expect(busy.cpuPercent).toBeGreaterThanOrEqual((busy.vcpuPercent[0] ?? 0) - 5);
    } finally {
      await shell().run('kill %1; echo KILLED', /KILLED/);
    }
    const calm = await sampleWhere((s) => s.cpuPercent !== null && s.cpuPercent < 20, 4);
    expect(calm.cpuPercent).toBeLessThan(20);
  });

  it('shows host RSS grow by about 100 MiB when the guest fills 100 MiB of its tmpfs', async () => {
    const [before] = await samples(1);
    const guestBefore = await sampleWhere((s) => !('available' in s.guest), 4);
    await shell().run(
      'dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>/dev/null; ls -l /tmp/fill; echo FILLED',
      /FILLED/,
      120_000,
    );
    const after = await sampleWhere(
      (s) => (s.rssBytes ?? 0) - (before?.rssBytes ?? 0) > 80 * MiB,
      3,
    );
    const grown = (after.rssBytes ?? 0) - (before?.rssBytes ?? 0);
    expect(grown).toBeGreaterThan(80 * MiB);
    expect(grown).toBeLessThan(140 * MiB);
    // The guest says the same through its balloon driver's report.
    const guestAfter = await sampleWhere(
      (s) =>
        !('available' in s.guest) &&
        !('available' in guestBefore.guest) &&
        (guestBefore.guest.availableBytes ?? 0) - (s.guest.availableBytes ?? 0) > 80 * MiB,
      4,
    );
    expect('available' in guestAfter.guest).toBe(false);
    if (!('available' in guestAfter.guest) && !('available' in guestBefore.guest)) {
      const used = (guestBefore.guest.availableBytes ?? 0) - (guestAfter.guest.availableBytes ?? 0);
      expect(used).toBeGreaterThan(80 * MiB);
      expect(guestAfter.guest.totalBytes).toBeGreaterThan(200 * MiB);
    }
    await shell().run('rm /tmp/fill; echo REMOVED', /REMOVED/);
  });

  it('counts the bytes and writes the guest makes to its disk', async () => {
    const [before] = await samples(1);
    await shell().run(
      'dd if=/dev/urandom of=/dev/vda bs=1M count=8 conv=fsync 2>/dev/null; echo WROTE',
      /WROTE/,
      120_000,
    );
    const after = await sampleWhere(
      (s) => s.disk.writeBytes - (before?.disk.writeBytes ?? 0) >= 8 * MiB,
      3,
    );
    expect(after.disk.writeBytes - (before?.disk.writeBytes ?? 0)).toBeGreaterThanOrEqual(8 * MiB);
    expect(after.disk.writeOps).toBeGreaterThan(before?.disk.writeOps ?? 0);
  });

  it('sets the guest memory through the balloon: query-balloon and the guest follow', async () => {
    const freeBefore = await guestMeminfo('MemFree');
    const totalBefore = await guestMeminfo('MemTotal');
    const set = await engine.call('vm.balloon', { vm: vm.id, targetMiB: 160 });
    expect(set.targetBytes).toBe(160 * MiB);
    const shrunk = await sampleWhere(
      (s) => 'actualBytes' in s.balloon && s.balloon.actualBytes === 160 * MiB,
      10,
    );
    expect(shrunk.balloon).toEqual({ actualBytes: 160 * MiB, maxBytes: 256 * MiB });
    // With deflate-on-oom the guest lends the pages rather than losing them: Linux keeps
    // MemTotal and counts the balloon as used memory (MemFree falls by its size).
    const freeAfter = await guestMeminfo('MemFree');
    expect(await guestMeminfo('MemTotal')).toBe(totalBefore);
    expect(freeBefore - freeAfter).toBeGreaterThan(80 * MiB);

    await engine.call('vm.balloon', { vm: vm.id, targetMiB: 256 });
    const back = await sampleWhere(
      (s) => 'actualBytes' in s.balloon && s.balloon.actualBytes === 256 * MiB,
      10,
    );
    expect(back.balloon).toMatchObject({ actualBytes: 256 * MiB });
    expect((await guestMeminfo('MemFree')) - freeAfter).toBeGreaterThan(80 * MiB);
  });

  it('refuses a balloon above the configured memory, or on a VM without one or not running', async () => {
    const tooMuch = await errorOf(engine.call('vm.balloon', { vm: vm.id, targetMiB: 512 }));
    expect(tooMuch.message).toMatch(/at most 256 MiB/);
    const plain = await engine.call('vm.create', {
      name: 'no balloon',
      kernel: guest.kernel,
      memoryMiB: 128,
      diskSize: '0',
      balloon: false,
    });
    expect(plain.config.balloon).toBe(false);
    const none = await errorOf(engine.call('vm.balloon', { vm: plain.id, targetMiB: 64 }));
    expect(none.code).toBe('BAD_STATE');
    expect(none.message).toMatch(/no memory balloon: turn it on/);
    const stopped = await engine.call('vm.create', {
      name: 'stopped balloon',
      kernel: guest.kernel,
      memoryMiB: 128,
      diskSize: '0',
    });
    const off = await errorOf(engine.call('vm.balloon', { vm: stopped.id, targetMiB: 64 }));
    expect(off.message).toMatch(/is stopped/);
  });

  it('keeps a history the charts read, and the host figures', async () => {
    const history = await engine.call('stats.history', { vm: vm.id, seconds: 3600 });
    expect(history.t.length).toBeGreaterThan(5);
    expect(history.series.cpuPercent).toHaveLength(history.t.length);
    // The busy loop above is in it.
    expect(Math.max(...history.series.cpuPercent.map((v) => v ?? 0))).toBeGreaterThan(25);
    expect(Math.max(...history.series.diskWriteBytesPerSec.map((v) => v ?? 0))).toBeGreaterThan(0);
    const recent = await engine.call('stats.history', { vm: vm.id, seconds: 4 });
    expect(recent.t.length).toBeLessThan(history.t.length);

    const host = await engine.call('stats.host', {});
    expect(host.memory.totalBytes).toBeGreaterThan(host.memory.availableBytes);
    expect(host.promisedBytes).toBe(256 * MiB);
    expect(host.runningVms).toBe(1);
    expect(host.overcommitRatio).toBeCloseTo(host.promisedBytes / host.memory.totalBytes);
    // This Linux host has both; elsewhere they say why not.
    expect(host.ksm.available).toBe(true);
    if (host.ksm.available) expect(host.ksm.enableCommand).toMatch(/ksm\/run/);
    expect(host.thp).toMatchObject({ available: true });
  });

  it('gives the running QEMU command line, quoted for a shell', async () => {
    const line = await engine.call('vm.cmdline', { vm: vm.id });
    expect(line.argv[0]).toMatch(/qemu-system-x86_64$/);
    expect(line.argv).toContain('-S');
    expect(line.command).toContain(`process=qemu-${vm.id}`);
    expect(line.command).toContain(`'{"driver":"virtio-balloon-pci"`);
    expect(line.threads).toBeGreaterThan(1);
  });

  it('stops pushing samples once the subscription ends', async () => {
    expect((await engine.call('stats.unsubscribe', { subscription })).unsubscribed).toBe(true);
    let pushed = 0;
    const off = engine.onEvent((e) => {
      if (e.type === 'stats.sample') pushed++;
    });
    await new Promise((r) => setTimeout(r, 4500));
    off();
    expect(pushed).toBe(0);
    // The owner still keeps the history while nobody watches.
    const before = (await engine.call('stats.history', { vm: vm.id })).t.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect((await engine.call('stats.history', { vm: vm.id })).t.length).toBeGreaterThan(before);
  });
});
