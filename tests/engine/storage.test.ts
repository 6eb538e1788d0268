/**
 * Disks and clones on real QEMU (TCG) with the fixture guest: linked clones boot while their
 * frozen base stays byte-for-byte the same, full clones are independent, VMDK and VDI images
 * made here by qemu-img import and boot, resize/check/add/detach behave, and untrusted images
 * that reach outside their folder are refused.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import type { TaskInfo, VmSummary } from '../../common/contract';
import { errorOf, guest, waitForText } from '../helpers/fixtures';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';
import { finish, GuestConsole } from '../helpers/guest-console';

let home: GuestEngine['home'];
let engine: Engine;

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function info(file: string): Record<string, unknown> {
  return JSON.parse(
    execFileSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' }),
  ) as Record<string, unknown>;
}

async function createGuest(name: string, diskSize = '64M'): Promise<VmSummary> {
  return engine.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize,
  });
}

/** Boots, runs `work` on the serial console, powers off. */
async function withGuest<T>(vm: string, work: (con: GuestConsole) => Promise<T>): Promise<T> {
  const started = await engine.call('vm.start', { vm });
  await waitForText(join(started.dir, 'logs', 'serial.log'), guest.banner);
  const con = await GuestConsole.open(engine, vm);
  try {
    return await work(con);
  } finally {
    con.close();
    await engine.call('vm.powerOff', { vm });
  }
}

/** An image whose first sector holds `marker`, made with qemu-img from a small qcow2. */
async function markedImage(
  dir: string,
  name: string,
  marker: string,
  format: string,
): Promise<string> {
  const raw = join(dir, `${name}.raw`);
  const sector = Buffer.alloc(512);
  sector.write(marker);
  await writeFile(raw, Buffer.concat([sector, Buffer.alloc(16 * 1024 * 1024 - 512)]));
  const qcow2 = join(dir, `${name}.qcow2`);
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
  const out = join(dir, `${name}.${format}`);
  execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', format, qcow2, out]);
  return out;
}

let env: GuestEngine | undefined;

beforeAll(async () => {
  env = await openGuestEngine('viv-storage-');
  ({ home, engine } = env);
});

afterAll(() => env?.close());

describe('clones', () => {
  let base: VmSummary;

  beforeAll(async () => {
    base = await createGuest('base');
    await withGuest(base.id, (con) => con.diskWrite('BASE'));
  });

  it('a linked clone boots and writes while its frozen base stays unchanged', async () => {
    const t0 = performance.now();
    const task = await engine.call('vm.clone', { vm: base.id, name: 'linked one', linked: true });
    const clone = await finish(engine, task, 'vm.clone');
    const ms = performance.now() - t0;
    console.log(`linked clone of a 64 MiB disk: ${ms.toFixed(1)} ms`);

    const frozen = readdirSync(base.dir).filter((f) => /^base-disk0-[0-9a-f]+\.qcow2$/.test(f));
    expect(frozen).toHaveLength(1);
    const baseFile = join(base.dir, frozen[0] ?? '');
    const before = sha256(baseFile);
    // Both VMs now write only their own overlay on the base.
    expect(info(join(base.dir, 'disk0.qcow2'))['backing-filename']).toBe(frozen[0]);
    expect(resolve(String(info(join(clone.dir, 'disk0.qcow2'))['full-backing-filename']))).toBe(
      baseFile,
    );

    expect(
      await withGuest(clone.id, async (con) => {
        const seen = await con.diskRead();
        await con.diskWrite('CLONE');
        return seen;
      }),
    ).toBe('BASE');
    expect(
      await withGuest(base.id, async (con) => {
        const seen = await con.diskRead();
        await con.diskWrite('BASE2');
        return seen;
      }),
    ).toBe('BASE');
    expect(await withGuest(clone.id, (con) => con.diskRead())).toBe('CLONE');
    expect(sha256(baseFile)).toBe(before);

    const storage = await engine.call('disk.list', { vm: base.id });
    expect(storage.linkedClones).toEqual([{ id: clone.id, name: 'linked one' }]);
    expect((await engine.call('disk.list', { vm: clone.id })).linkedTo).toEqual({
      id: base.id,
      name: 'base',
    });

    // The base VM cannot go while a clone needs its disk.
    const refused = await errorOf(engine.call('vm.delete', { vm: base.id }));
    expect(refused.code).toBe('BAD_STATE');
    expect(refused.message).toMatch(/linked one/);

    // A second clone of an untouched base reuses it: the chain does not grow.
    const again = await finish(
      engine,
      await engine.call('vm.clone', { vm: clone.id, name: 'nested', linked: true }),
      'vm.clone',
    );
    expect(await withGuest(again.id, (con) => con.diskRead())).toBe('CLONE');
    await engine.call('vm.delete', { vm: again.id });
    await engine.call('vm.delete', { vm: clone.id });
    expect(sha256(baseFile)).toBe(before);
  });

  it('refuses a linked clone of a VM whose disk holds snapshots, and of a running VM', async () => {
    const vm = await createGuest('with snapshot');
    await finish(
      engine,
      await engine.call('snapshot.create', { vm: vm.id, name: 'off' }),
      'snapshot.create',
    );
    const task = await engine.call('vm.clone', { vm: vm.id, name: 'nope', linked: true });
    const err = await errorOf(engine.tasks.wait(task.id));
    expect(err.code).toBe('BAD_STATE');
    expect(err.message).toMatch(/snapshot/);
    expect(existsSync(join(vm.dir, 'disk0.qcow2'))).toBe(true);
    expect(readdirSync(vm.dir).some((f) => f.startsWith('base-'))).toBe(false);
    expect((await engine.call('vm.list', {})).some((v) => v.name === 'nope')).toBe(false);

    await engine.call('vm.start', { vm: vm.id });
    const running = await errorOf(
      engine.call('vm.clone', { vm: vm.id, name: 'nope', linked: false }),
    );
    expect(running.code).toBe('BAD_STATE');
    expect(running.message).toMatch(/shut it down to clone it/);
    await engine.call('vm.powerOff', { vm: vm.id });
  });

  it('a full clone is an independent copy with progress', async () => {
    const seen: TaskInfo[] = [];
    const off = engine.onEvent((e) => {
      if (e.type === 'task') seen.push(e.task);
    });
    const task = await engine.call('vm.clone', { vm: base.id, name: 'full one', linked: false });
    const clone = await finish(engine, task, 'vm.clone');
    off();
    expect(seen.filter((t) => t.id === task.id).at(-1)).toMatchObject({
      state: 'succeeded',
      progress: 1,
    });
    expect(info(join(clone.dir, 'disk0.qcow2'))['backing-filename']).toBeUndefined();
    expect(clone.config.nics[0]?.mac).toMatch(/^52:54:00:/);
    expect(clone.config.nics[0]?.mac).not.toBe(base.config.nics[0]?.mac);
    expect(await withGuest(clone.id, (con) => con.diskRead())).toBe('BASE2');
  });
});

describe('importing disks', () => {
  it('imports a VMDK and a VDI made by qemu-img, and the guest reads their marker', async () => {
    const vm = await createGuest('importer', '0');
    for (const format of ['vmdk', 'vdi'] as const) {
      const file = await markedImage(
        home.dir,
        `img-${format}`,
        `FROM-${format.toUpperCase()}`,
        format,
      );
      const events: TaskInfo[] = [];
      const off = engine.onEvent((e) => {
        if (e.type === 'task') events.push(e.task);
      });
      const task = await engine.call('disk.import', { vm: vm.id, file });
      expect(task).toMatchObject({ kind: 'disk.import', state: 'running', cancellable: true });
      const summary = await finish(engine, task, 'disk.import');
      off();
      expect(events.at(-1)).toMatchObject({ state: 'succeeded', bytesTotal: 16 * 1024 * 1024 });
      expect(summary.config.disks).toEqual([
        expect.objectContaining({ id: 'disk0', format: 'qcow2', bus: 'virtio' }),
      ]);
      expect(info(join(vm.dir, summary.config.disks[0]?.file ?? ''))['format']).toBe('qcow2');
      expect(await withGuest(vm.id, (con) => con.diskRead())).toBe(`FROM-${format.toUpperCase()}`);
      await engine.call('disk.detach', { vm: vm.id, disk: 'disk0', deleteFile: true });
      expect(existsSync(join(vm.dir, 'disk0.qcow2'))).toBe(false);
    }
  });

  it('refuses images that read files outside their folder, and unknown formats', async () => {
    const vm = await createGuest('careful', '0');
    const evil = join(home.dir, 'evil.qcow2');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      'raw',
      '-b',
      '/etc/hostname',
      evil,
      '1M',
    ]);
    const a = await errorOf(engine.call('disk.import', { vm: vm.id, file: evil }));
    expect(a.code).toBe('INVALID_REQUEST');
    expect(a.message).toMatch(/outside its own folder/);
    const qed = join(home.dir, 'old.qed');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qed', qed, '1M']);
    expect((await errorOf(engine.call('disk.import', { vm: vm.id, file: qed }))).message).toMatch(
      /qed image/,
    );
    expect(
      (await errorOf(engine.call('disk.import', { vm: vm.id, file: join(home.dir, 'none.vmdk') })))
        .code,
    ).toBe('FILE_NOT_FOUND');
    expect((await engine.call('vm.get', { vm: vm.id })).config.disks).toEqual([]);
  });

  it('cancelling an import kills qemu-img and leaves nothing behind', async () => {
    const vm = await createGuest('cancel import', '0');
    const big = join(home.dir, 'big.raw');
    // Incompressible data, so the copy takes a while.
    const fh = await open(big, 'w');
    const chunk = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < 96; i++) {
      for (let j = 0; j < chunk.length; j += 4096) chunk.writeUInt32LE((i * 7919 + j) >>> 0, j);
      await fh.write(chunk);
    }
    await fh.close();
    const task = await engine.call('disk.import', { vm: vm.id, file: big });
    await new Promise((r) => setTimeout(r, 50));
    engine.tasks.cancel(task.id);
    const err = await errorOf(engine.tasks.wait(task.id));
    expect(err.code).toBe('CANCELLED');
    expect(engine.tasks.get(task.id).state).toBe('cancelled');
    expect(readdirSync(vm.dir).filter((f) => f.endsWith('.qcow2'))).toEqual([]);
    expect((await engine.call('vm.get', { vm: vm.id })).config.disks).toEqual([]);
  });
});

describe('disk maintenance', () => {
  it('adds, resizes (grow, live too; shrink only when asked and off), checks and detaches', async () => {
    const vm = await createGuest('maint', '32M');
    const added = await engine.call('disk.add', { vm: vm.id, size: '16M' });
    expect(added.config.disks.map((d) => d.id)).toEqual(['disk0', 'disk1']);

    expect(await engine.call('disk.resize', { vm: vm.id, size: '+32M' })).toMatchObject({
      id: 'disk0',
      virtualSize: 64 * 1024 * 1024,
    });
    expect(
      await engine.call('disk.resize', { vm: vm.id, disk: 'disk1', size: '48M' }),
    ).toMatchObject({
      virtualSize: 48 * 1024 * 1024,
    });
    const shrink = await errorOf(engine.call('disk.resize', { vm: vm.id, size: '16M' }));
    expect(shrink.code).toBe('INVALID_REQUEST');
    expect(shrink.message).toMatch(/Shrink its filesystems/);
    expect(
      await engine.call('disk.resize', { vm: vm.id, disk: 'disk1', size: '24M', shrink: true }),
    ).toMatchObject({
      virtualSize: 24 * 1024 * 1024,
    });

    const clean = await engine.call('disk.check', { vm: vm.id });
    expect(clean.map((r) => r.status)).toEqual(['clean', 'clean']);

    await engine.call('vm.start', { vm: vm.id });
    // A running VM's disk grows live (QMP block_resize); shrinking waits for it to be shut down.
    expect(await engine.call('disk.resize', { vm: vm.id, size: '+1M' })).toMatchObject({
      virtualSize: 65 * 1024 * 1024,
    });
    const liveShrink = await errorOf(
      engine.call('disk.resize', { vm: vm.id, disk: 'disk1', size: '8M', shrink: true }),
    );
    expect(liveShrink.code).toBe('BAD_STATE');
    expect(liveShrink.message).toMatch(/Shrinking needs the VM shut down/);
    expect((await engine.call('disk.check', { vm: vm.id, disk: 'disk0' }))[0]?.status).toBe(
      'clean',
    );
    await engine.call('vm.powerOff', { vm: vm.id });

    // Corrupt disk1: zero the refcount of cluster 0 (the header), which is in use.
    const file = join(vm.dir, 'disk1.qcow2');
    const fh = await open(file, 'r+');
    const header = Buffer.alloc(64);
    await fh.read(header, 0, 64, 0);
    const refTable = Number(header.readBigUInt64BE(48));
    const entry = Buffer.alloc(8);
    await fh.read(entry, 0, 8, refTable);
    await fh.write(Buffer.alloc(2), 0, 2, Number(entry.readBigUInt64BE(0)));
    await fh.close();
    const bad = await engine.call('disk.check', { vm: vm.id, disk: 'disk1' });
    expect(bad[0]).toMatchObject({ status: 'corrupt', corruptions: 1 });
    expect(bad[0]?.message).toMatch(/repair/);
    const fixed = await engine.call('disk.check', { vm: vm.id, disk: 'disk1', repair: 'all' });
    expect(fixed[0]).toMatchObject({ status: 'clean', repaired: true });

    const detached = await engine.call('disk.detach', {
      vm: vm.id,
      disk: 'disk1',
      deleteFile: false,
    });
    expect(detached.config.disks.map((d) => d.id)).toEqual(['disk0']);
    expect(existsSync(file)).toBe(true);
    expect((await errorOf(engine.call('disk.detach', { vm: vm.id, disk: 'disk7' }))).code).toBe(
      'NOT_FOUND',
    );
  });
});
