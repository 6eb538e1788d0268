/**
 * Live and disk-only snapshots on real QEMU (TCG) with the fixture guest: markers in RAM
 * (mem-write) and on the first disk sector (mark-write) tell which moment the guest is in.
 * One BIOS guest is booted once and reused for most checks; a UEFI guest (OVMF) boots from the ISO.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import type { SnapshotList, VmSummary } from '../../common/contract';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';
import { finish, GuestConsole } from '../helpers/guest-console';
import { errorOf, guest, waitFor, waitForText } from '../helpers/fixtures';

let engine: Engine;

function qemuImgJson(args: string[]): Record<string, unknown> {
  return JSON.parse(execFileSync('qemu-img', [...args], { encoding: 'utf8' })) as Record<
    string,
    unknown
  >;
}

function imageTags(file: string): string[] {
  const info = qemuImgJson(['info', '--output=json', '-U', file]);
  const snaps = (info['snapshots'] as Array<{ name: string }> | undefined) ?? [];
  return snaps.map((s) => s.name);
}

function byName(list: SnapshotList, name: string) {
  const node = list.snapshots.find((s) => s.name === name);
  if (!node)
    throw new Error(`no snapshot ${name} in ${JSON.stringify(list.snapshots.map((s) => s.name))}`);
  return node;
}

async function createGuest(name: string, extra: Record<string, unknown> = {}): Promise<VmSummary> {
  return engine.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '64M',
    ...extra,
  });
}

async function boot(vm: VmSummary): Promise<GuestConsole> {
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  return GuestConsole.open(engine, vm.id);
}

async function snapshot(vm: string, name: string, description = '') {
  return finish(
    engine,
    await engine.call('snapshot.create', { vm, name, description }),
    'snapshot.create',
  );
}

async function revert(vm: string, snap: string) {
  return finish(
    engine,
    await engine.call('snapshot.revert', { vm, snapshot: snap }),
    'snapshot.revert',
  );
}

async function remove(vm: string, snap: string) {
  return finish(
    engine,
    await engine.call('snapshot.delete', { vm, snapshot: snap }),
    'snapshot.delete',
  );
}

let env: GuestEngine | undefined;

beforeAll(async () => {
  env = await openGuestEngine('viv-snap-');
  ({ engine } = env);
});

afterAll(() => env?.close());

describe('live snapshots of a running guest', () => {
  let vm: VmSummary;
  let con: GuestConsole;
  let disk: string;

  beforeAll(async () => {
    vm = await createGuest('live');
    disk = join(vm.dir, 'disk0.qcow2');
    con = await boot(vm);
  });

  afterAll(() => con.close());

  it('reverts memory and disk to the moment of the snapshot, in the same QEMU', async () => {
    const pid = (await engine.call('vm.get', { vm: vm.id })).runtime.pid;
    await con.memWrite('A');
    await con.diskWrite('A');
    const s1 = await snapshot(vm.id, 's1', 'marker A');
    expect(s1).toMatchObject({
      name: 's1',
      kind: 'live',
      parent: null,
      status: 'ok',
      hasThumbnail: true,
    });
    expect(s1.devices).toEqual(['disk0']);
    await con.memWrite('B');
    await con.diskWrite('B');
    const s2 = await snapshot(vm.id, 's2');
    expect(s2.parent).toBe(s1.id);

    const reverted = await revert(vm.id, 's1');
    expect(reverted).toMatchObject({ state: 'running', pid, started: false });
    expect(await con.memRead()).toBe('A');
    expect(await con.diskRead()).toBe('A');

    const list = await engine.call('snapshot.list', { vm: vm.id });
    expect(list.current).toBe(s1.id);
    expect(list.canSnapshot).toEqual({ ok: true, kind: 'live' });
    expect(byName(list, 's1').children).toEqual([s2.id]);
    expect(byName(list, 's1').vmStateSize).toBeGreaterThan(1024 * 1024);
    expect(imageTags(disk)).toEqual(expect.arrayContaining([s1.tag, s2.tag]));

    const thumb = await engine.call('snapshot.thumbnail', { vm: vm.id, snapshot: 's1' });
    expect(thumb.width).toBeGreaterThan(0);
    expect(
      Buffer.from(thumb.pngBase64 ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });

  it('a snapshot taken after a revert branches from it; deleting keeps the children revertable', async () => {
    // Now at s1 (memory A). Branch: s3 is a second child of s1.
    await con.memWrite('C');
    const s3 = await snapshot(vm.id, 's3');
    const s1 = byName(await engine.call('snapshot.list', { vm: vm.id }), 's1');
    expect(s3.parent).toBe(s1.id);

    const deleted = await remove(vm.id, 's1');
    expect(deleted.reparented.sort()).toEqual(
      [byName(await engine.call('snapshot.list', { vm: vm.id }), 's2').id, s3.id].sort(),
    );
    expect(imageTags(disk)).not.toContain(s1.tag);

    const list = await engine.call('snapshot.list', { vm: vm.id });
    expect(byName(list, 's2').parent).toBeNull();
    await revert(vm.id, 's2');
    expect(await con.memRead()).toBe('B');
    expect(await con.diskRead()).toBe('B');
    expect((await engine.call('snapshot.list', { vm: vm.id })).current).toBe(byName(list, 's2').id);
  });

  it('renames and describes, keeps names unique, and explains refusals', async () => {
    const renamed = await engine.call('snapshot.update', {
      vm: vm.id,
      snapshot: 's3',
      name: 'branch C',
      description: 'memory C',
    });
    expect(renamed).toMatchObject({ name: 'branch C', description: 'memory C' });
    expect(
      await errorOf(
        engine.call('snapshot.update', { vm: vm.id, snapshot: 'branch C', name: 'S2' }),
      ),
    ).toMatchObject({
      code: 'NAME_TAKEN',
    });
    expect(await errorOf(engine.call('snapshot.create', { vm: vm.id, name: 's2' }))).toMatchObject({
      code: 'NAME_TAKEN',
    });
    expect(
      await errorOf(engine.call('snapshot.revert', { vm: vm.id, snapshot: 'nope' })),
    ).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('snapshots a paused guest and keeps it paused', async () => {
    await engine.call('vm.pause', { vm: vm.id });
    const p = await snapshot(vm.id, 'paused');
    expect(p.kind).toBe('live');
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('paused');
    await revert(vm.id, 'paused');
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('paused');
    await engine.call('vm.resume', { vm: vm.id });
  });

  it('a failed load (the tag vanished from the image) leaves the VM running, with a clear error', async () => {
    const gone = await snapshot(vm.id, 'to vanish');
    // Removed behind the engine's back through a second QMP-less path: qemu-img cannot while QEMU
    // holds the image, so delete it with the engine's own job and put the entry back.
    const before = readFileSync(join(vm.dir, 'snapshots.json'), 'utf8');
    await remove(vm.id, gone.id);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(vm.dir, 'snapshots.json'), before);
    const err = await errorOf(revert(vm.id, gone.id));
    expect(err.code).toBe('QMP_ERROR');
    expect(err.message).toMatch(/Could not revert to "to vanish"/);
    const after = await engine.call('vm.get', { vm: vm.id });
    expect(after.runtime.state).toBe('running');
    expect(await con.memRead()).toBe('B');
    // The next list marks it missing; it can only be removed.
    const list = await engine.call('snapshot.list', { vm: vm.id });
    const node = byName(list, 'to vanish');
    expect(node.status).toBe('missing');
    expect(node.canRevert.ok).toBe(false);
    await remove(vm.id, node.id);
    expect(
      (await engine.call('snapshot.list', { vm: vm.id })).snapshots.map((s) => s.name),
    ).not.toContain('to vanish');
  });
});

describe('disk-only snapshots and reconciliation with the images', () => {
  it('restores the disk of a stopped VM; reverting it to a live snapshot starts it there', async () => {
    const vm = await createGuest('offline');
    const disk = join(vm.dir, 'disk0.qcow2');
    let con = await boot(vm);
    await con.diskWrite('D1');
    await con.memWrite('M1');
    const live = await snapshot(vm.id, 'live one');
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });

    const d = await snapshot(vm.id, 'disk one');
    expect(d).toMatchObject({ kind: 'disk', vmStateSize: 0, hasThumbnail: false, parent: live.id });
    expect((await engine.call('snapshot.list', { vm: vm.id })).canSnapshot).toEqual({
      ok: true,
      kind: 'disk',
    });

    con = await boot(vm);
    await con.diskWrite('D2');
    // A disk-only snapshot cannot be loaded into a running VM.
    const refused = await errorOf(
      engine.call('snapshot.revert', { vm: vm.id, snapshot: 'disk one' }),
    );
    expect(refused).toMatchObject({ code: 'BAD_STATE' });
    expect(refused.message).toMatch(/shut the VM down/i);
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });

    const r = await revert(vm.id, 'disk one');
    expect(r).toMatchObject({ state: 'stopped', started: false });
    con = await boot(vm);
    expect(await con.diskRead()).toBe('D1');
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });

    // Outside the app: one snapshot appears, one vanishes.
    execFileSync('qemu-img', ['snapshot', '-c', 'made-by-hand', disk]);
    execFileSync('qemu-img', ['snapshot', '-d', d.tag, disk]);
    const list = await engine.call('snapshot.list', { vm: vm.id });
    expect(byName(list, 'made-by-hand')).toMatchObject({
      external: true,
      kind: 'disk',
      status: 'ok',
      parent: null,
    });
    expect(byName(list, 'disk one')).toMatchObject({ status: 'missing' });
    expect(byName(list, 'disk one').canRevert.ok).toBe(false);

    // A stopped VM reverted to a live snapshot starts at that moment.
    const started = await revert(vm.id, 'live one');
    expect(started).toMatchObject({ state: 'running', started: true });
    con = await GuestConsole.open(engine, vm.id);
    expect(await con.memRead()).toBe('M1');
    expect(await con.diskRead()).toBe('D1');
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });
  });

  it('answers why a VM cannot be snapshotted before the user tries', async () => {
    const noDisk = await createGuest('no disk', { diskSize: '0' });
    const a = await engine.call('snapshot.list', { vm: noDisk.id });
    expect(a.canSnapshot.ok).toBe(false);
    expect(!a.canSnapshot.ok && a.canSnapshot.reason).toMatch(/no writable qcow2 disk/);

    const raw = await createGuest('raw disk', { diskSize: '0' });
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', join(raw.dir, 'raw.img'), '16M']);
    await engine.call('disk.add', { vm: raw.id, file: join(raw.dir, 'raw.img') });
    const b = await engine.call('snapshot.list', { vm: raw.id });
    expect(!b.canSnapshot.ok && b.canSnapshot.reason).toMatch(/raw image/);
    expect(await errorOf(engine.call('snapshot.create', { vm: raw.id, name: 'x' }))).toMatchObject({
      code: 'BAD_STATE',
    });

    const passthrough = await createGuest('passthrough');
    await engine.call('vm.update', {
      vm: passthrough.id,
      patch: { extraArgs: ['-device', 'vfio-pci,host=01:00.0'] },
    });
    const c = await engine.call('snapshot.list', { vm: passthrough.id });
    expect(!c.canSnapshot.ok && c.canSnapshot.reason).toMatch(/passed through/);
  });
});

describe('a crash in the middle of a snapshot', () => {
  it('leaves images that qemu-img check passes and the earlier snapshots intact', async () => {
    const vm = await createGuest('crash', { memoryMiB: 512 });
    const disk = join(vm.dir, 'disk0.qcow2');
    const con = await boot(vm);
    await con.diskWrite('BEFORE');
    await con.memWrite('BEFORE');
    const early = await snapshot(vm.id, 'early');
    // Enough memory in use that the save takes a while.
    await con.run(
      'dd if=/dev/urandom of=/tmp/fill bs=1M count=96 2>/dev/null; echo FILLED',
      /FILLED\r?\n/,
      120_000,
    );
    const pid = (await engine.call('vm.get', { vm: vm.id })).runtime.pid ?? 0;
    const saving = new Promise<void>((resolve) => {
      const off = engine.onEvent((e) => {
        if (e.type === 'vm.state' && e.vm.id === vm.id && e.vm.runtime.state === 'saving') {
          off();
          resolve();
        }
      });
    });
    const task = await engine.call('snapshot.create', { vm: vm.id, name: 'doomed' });
    await saving;
    await new Promise((r) => setTimeout(r, 40));
    process.kill(pid, 'SIGKILL');
    const outcome = await engine.tasks.wait(task.id).then(
      () => 'saved',
      (err: unknown) => err as { code: string; message: string },
    );
    con.close();
    await waitFor(
      async () => (await engine.call('vm.get', { vm: vm.id })).runtime.state === 'crashed',
      'crashed',
    );
    // Killed mid-save: the task fails and says what to do next.
    expect(outcome).not.toBe('saved');
    expect(outcome).toMatchObject({ code: 'QEMU_FAILED' });
    expect((outcome as { message: string }).message).toMatch(/Earlier snapshots are kept/);
    const names = (await engine.call('snapshot.list', { vm: vm.id })).snapshots.map((s) => s.name);
    expect(names).toContain('early');
    expect(names).not.toContain('doomed');

    let code = 0;
    try {
      execFileSync('qemu-img', ['check', '--output=json', disk], { encoding: 'utf8' });
    } catch (err) {
      code = (err as { status: number }).status;
    }
    expect([0, 3]).toContain(code); // 3 = leaked clusters only: harmless
    expect(imageTags(disk)).toContain(early.tag);
    const report = await engine.call('disk.check', { vm: vm.id });
    expect(report[0]?.status).toMatch(/clean|leaks/);

    // The earlier snapshot still restores memory and disk (QEMU is started to load it).
    const back = await revert(vm.id, 'early');
    expect(back.started).toBe(true);
    const again = await GuestConsole.open(engine, vm.id);
    expect(await again.memRead()).toBe('BEFORE');
    expect(await again.diskRead()).toBe('BEFORE');
    again.close();
    await engine.call('vm.powerOff', { vm: vm.id });
  });
});

describe('UEFI guests', () => {
  it('take, revert and delete a live snapshot (the variable store is qcow2)', async () => {
    const vm = await engine.call('vm.create', {
      name: 'uefi',
      iso: guest.iso,
      firmware: 'uefi',
      machine: 'q35',
      // GRUB under OVMF cannot place the fixture's full Debian kernel (63 MiB unpacked) in 256 MiB.
      memoryMiB: 384,
      cpus: 1,
      diskSize: '64M',
    });
    expect(existsSync(join(vm.dir, 'uefi-vars.qcow2'))).toBe(true);
    await engine.call('vm.start', { vm: vm.id });
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, 150_000);
    const con = await GuestConsole.open(engine, vm.id);
    await con.memWrite('U1');
    await con.diskWrite('U1');
    const s = await snapshot(vm.id, 'uefi one');
    expect(s.devices).toEqual(['disk0', 'fw-vars']);
    expect(imageTags(join(vm.dir, 'uefi-vars.qcow2'))).toContain(s.tag);
    await con.memWrite('U2');
    await con.diskWrite('U2');
    await revert(vm.id, s.id);
    expect(await con.memRead()).toBe('U1');
    expect(await con.diskRead()).toBe('U1');
    await remove(vm.id, s.id);
    expect(imageTags(join(vm.dir, 'uefi-vars.qcow2'))).not.toContain(s.tag);
    expect(imageTags(join(vm.dir, 'disk0.qcow2'))).not.toContain(s.tag);
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });
  }, 240_000);
});
