/**
 * Disks plugged into a running guest on real QEMU (TCG, q35): a virtio disk on a spare PCIe root
 * port and a SCSI disk on the virtio-scsi controller appear in the fixture guest (read from
 * /sys/block on its serial console), a live grow is seen by it, an unplug takes the disk away,
 * snapshots still cover every disk, and a restart keeps the plugged disks where they were.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { openEngine } from '../../electron/engine';
import type { VmSummary } from '../../common/contract';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';
import { finish, GuestConsole } from '../helpers/guest-console';
import { errorOf, guest, waitForText } from '../helpers/fixtures';

let env: GuestEngine | undefined;
let engine: Engine;
let vm: VmSummary;
let con: GuestConsole | undefined;

const MiB = 1024 * 1024;

/** The size of a guest block device in 512-byte sectors, or null when the guest has none. */
async function sectors(dev: string): Promise<number | null> {
  if (!con) throw new Error('the guest console is not open');
  const m = await con.run(
    `echo SZ-${dev}:$(cat /sys/block/${dev}/size 2>/dev/null || echo none)`,
    new RegExp(`SZ-${dev}:(\\d+|none)\\r?\\n`),
  );
  return m[1] === 'none' ? null : Number(m[1]);
}

/** Polls until the guest reports `want` for `dev` (hot-plug takes the guest a moment). */
async function guestSees(dev: string, want: number | null, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | null = null;
  while (Date.now() < deadline) {
    last = await sectors(dev);
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`guest ${dev}: ${String(last)} sectors, expected ${String(want)}`);
}

function imageTags(file: string): string[] {
  const info = JSON.parse(
    execFileSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' }),
  ) as { snapshots?: Array<{ name: string }> };
  return (info.snapshots ?? []).map((s) => s.name);
}

async function boot(): Promise<void> {
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  con = await GuestConsole.open(engine, vm.id);
}

beforeAll(async () => {
  env = await openGuestEngine('viv-hotplug-');
  ({ engine } = env);
  vm = await engine.call('vm.create', {
    name: 'hotplug',
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '64M',
  });
  expect(vm.config.machine).toBe('q35');
  await boot();
}, 120_000);

afterAll(async () => {
  con?.close();
  await env?.close();
});

describe('disks plugged into a running guest', () => {
  it('a virtio disk appears in the guest, on a spare root port', async () => {
    await guestSees('vda', (64 * MiB) / 512);
    const after = await engine.call('disk.add', { vm: vm.id, size: '32M', bus: 'virtio' });
    expect(after.runtime.state).toBe('running');
    expect(after.config.disks[1]).toMatchObject({ id: 'disk1', bus: 'virtio', port: 0 });
    await guestSees('vdb', (32 * MiB) / 512);
  }, 60_000);

  it('a SCSI disk with its cache mode appears in the guest', async () => {
    const after = await engine.call('disk.add', {
      vm: vm.id,
      size: '16M',
      bus: 'scsi',
      cache: 'writethrough',
    });
    expect(after.config.disks[2]).toMatchObject({
      id: 'disk2',
      bus: 'scsi',
      cache: 'writethrough',
    });
    await guestSees('sda', (16 * MiB) / 512);
    const list = await engine.call('disk.list', { vm: vm.id });
    expect(list.disks.map((d) => [d.id, d.bus, d.cache, d.virtualSize])).toEqual([
      ['disk0', 'virtio', 'writeback', 64 * MiB],
      ['disk1', 'virtio', 'writeback', 32 * MiB],
      ['disk2', 'scsi', 'writethrough', 16 * MiB],
    ]);
  }, 60_000);

  it('refuses SATA and the boot disk on the root bus while running, saying why', async () => {
    const sata = await errorOf(engine.call('disk.add', { vm: vm.id, size: '8M', bus: 'sata' }));
    expect(sata.code).toBe('BAD_STATE');
    expect(sata.message).toMatch(/SATA disks cannot be plugged in while the VM runs/);
    const root = await errorOf(engine.call('disk.detach', { vm: vm.id, disk: 'disk0' }));
    expect(root.message).toMatch(/root bus.*shut the VM down/);
    const cache = await errorOf(
      engine.call('disk.update', { vm: vm.id, disk: 'disk1', cache: 'unsafe' }),
    );
    expect(cache.message).toMatch(/Shut the VM down to change/);
    const shrink = await errorOf(
      engine.call('disk.resize', { vm: vm.id, disk: 'disk1', size: '8M', shrink: true }),
    );
    expect(shrink.message).toMatch(/Shrinking needs the VM shut down/);
    // Nothing half-done: the config still has three disks, QEMU still has three block devices.
    expect((await engine.call('vm.get', { vm: vm.id })).config.disks).toHaveLength(3);
  });

  it('a live grow is seen by the guest', async () => {
    const info = await engine.call('disk.resize', { vm: vm.id, disk: 'disk1', size: '+16M' });
    expect(info.virtualSize).toBe(48 * MiB);
    await guestSees('vdb', (48 * MiB) / 512);
  }, 60_000);

  it('an unplugged SCSI disk leaves the guest; its file goes when asked', async () => {
    const file = join(vm.dir, 'disk2.qcow2');
    expect(existsSync(file)).toBe(true);
    const after = await engine.call('disk.detach', { vm: vm.id, disk: 'disk2', deleteFile: true });
    expect(after.config.disks.map((d) => d.id)).toEqual(['disk0', 'disk1']);
    await guestSees('sda', null);
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('a snapshot of the running VM covers the plugged disk, and a restart keeps it', async () => {
    const snap = await finish(
      engine,
      await engine.call('snapshot.create', { vm: vm.id, name: 'after-hotplug', description: '' }),
      'snapshot.create',
    );
    expect(snap).toMatchObject({ name: 'after-hotplug', kind: 'live' });
    // Snapshots are tagged by their own id in every image: the plugged disk has the boot disk's.
    const tags = imageTags(join(vm.dir, 'disk0.qcow2'));
    expect(tags).toHaveLength(1);
    expect(imageTags(join(vm.dir, 'disk1.qcow2'))).toEqual(tags);
    con?.close();
    await engine.call('vm.powerOff', { vm: vm.id });
    await boot();
    await guestSees('vdb', (48 * MiB) / 512);
    await guestSees('sda', null);
    // The plugged disk came back on its root port: it unplugs again.
    await engine.call('disk.detach', { vm: vm.id, disk: 'disk1' });
    await guestSees('vdb', null);
    expect(existsSync(join(vm.dir, 'disk1.qcow2'))).toBe(true);
  }, 180_000);

  it('two processes adding disks at once get different ids and places', async () => {
    const other = await openEngine({ home: env?.home.dir ?? '', role: 'oneshot' });
    try {
      const [a, b] = await Promise.all([
        engine.call('disk.add', { vm: vm.id, size: '8M', bus: 'virtio' }),
        other.call('disk.add', { vm: vm.id, size: '8M', bus: 'scsi' }),
      ]);
      const final = b.config.disks.length > a.config.disks.length ? b : a;
      expect(final.config.disks.map((d) => `${d.id}:${d.bus}`).sort()).toEqual([
        'disk0:virtio',
        'disk1:virtio',
        'disk2:scsi',
      ]);
      await guestSees('vdb', (8 * MiB) / 512);
      await guestSees('sda', (8 * MiB) / 512);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('an image imported into the running VM is plugged in when converted', async () => {
    const raw = join(env?.home.dir ?? '', 'small.img');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', raw, '4M']);
    const task = await engine.call('disk.import', { vm: vm.id, file: raw, bus: 'scsi' });
    const summary = await finish(engine, task, 'disk.import');
    expect(summary.config.disks.at(-1)).toMatchObject({
      id: 'disk3',
      bus: 'scsi',
      format: 'qcow2',
    });
    await guestSees('sdb', (4 * MiB) / 512);
  }, 60_000);
});
