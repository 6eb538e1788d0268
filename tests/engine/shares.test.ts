/**
 * Shared folders and clipboard sharing on real QEMU (TCG) with the fixture guest, which loads
 * 9p, 9pnet_virtio and virtio_console: a 9p share read and written from the guest, a read-only
 * one refusing writes, snapshots refused (naming the share, nothing half-done) while a 9p share
 * is mounted and taken after it is unmounted; the clipboard channel seen by the guest, detached
 * and attached again around a live snapshot and its revert; a save to disk refused naming it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import type { SnapshotList, VmSummary } from '../../common/contract';
import { SMBD_PATH, SMB_INSTALL } from '../../common/rules/shares';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';
import { finish, GuestConsole } from '../helpers/guest-console';
import { errorOf, guest, waitForText } from '../helpers/fixtures';

let env: GuestEngine | undefined;
let engine: Engine;

function imageTags(file: string): string[] {
  const info = JSON.parse(
    execFileSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' }),
  ) as { snapshots?: { name: string }[] };
  return (info.snapshots ?? []).map((s) => s.name);
}

beforeAll(async () => {
  env = await openGuestEngine('viv-share-');
  ({ engine } = env);
});

afterAll(() => env?.close());

describe('a 9p share and the clipboard channel in a running Linux guest', () => {
  let vm: VmSummary;
  let con: GuestConsole;
  let disk: string;
  let data: string;
  let docs: string;

  beforeAll(async () => {
    const home = env?.home.dir ?? '';
    data = join(home, 'host data');
    docs = join(home, 'docs,ro');
    await mkdir(data);
    await mkdir(docs);
    await writeFile(join(data, 'in.txt'), 'hello-from-host\n');
    await writeFile(join(docs, 'readme.txt'), 'read-only-doc\n');
    vm = await engine.call('vm.create', {
      name: 'shares',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '64M',
    });
    disk = join(vm.dir, 'disk0.qcow2');
    await engine.call('share.add', { vm: vm.id, path: data, tag: 'data' });
    // The tag comes from the folder's name; the comma in its path is escaped in the argv.
    const list = await engine.call('share.add', { vm: vm.id, path: docs, readOnly: true });
    expect(list.shares.map((s) => [s.config.tag, s.config.readOnly])).toEqual([
      ['data', false],
      ['docs_ro', true],
    ]);
    expect(list.shares[0]?.mountLine).toBe(
      'mkdir -p /mnt/data && mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 data /mnt/data',
    );
    await engine.call('clipboard.set', { vm: vm.id, on: true });
    await engine.call('vm.start', { vm: vm.id });
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
    con = await GuestConsole.open(engine, vm.id);
  });

  afterAll(() => con.close());

  it('refuses to change shares or the clipboard while the VM runs, saying why', async () => {
    const err = await errorOf(engine.call('share.remove', { vm: vm.id, tag: 'data' }));
    expect(err.code).toBe('BAD_STATE');
    expect(err.message).toMatch(/Shut the VM down to add or remove shared folders/);
    const clip = await errorOf(engine.call('clipboard.set', { vm: vm.id, on: false }));
    expect(clip.message).toMatch(/Shut the VM down to turn clipboard sharing on or off/);
    expect((await engine.call('share.list', { vm: vm.id })).locked).toMatch(/running/);
  });

  it('mounts the share with the line the panel shows: the guest reads and writes host files', async () => {
    const { shares } = await engine.call('share.list', { vm: vm.id });
    for (const s of shares) await con.run(`${s.mountLine}; echo MOUNTED=$?`, /MOUNTED=0\r?\n/);
    expect((await con.run('echo R=$(cat /mnt/data/in.txt)', /R=([\w-]+)\r?\n/))[1]).toBe(
      'hello-from-host',
    );
    await con.run('echo from-guest > /mnt/data/out.txt; echo W=$?', /W=0\r?\n/);
    expect(await readFile(join(data, 'out.txt'), 'utf8')).toBe('from-guest\n');
    expect((await con.run('echo D=$(cat /mnt/docs_ro/readme.txt)', /D=([\w-]+)\r?\n/))[1]).toBe(
      'read-only-doc',
    );
    const refused = await con.run(
      'echo nope > /mnt/docs_ro/new.txt; echo RO=$?',
      /(Read-only file system)[\s\S]*RO=(\d+)\r?\n/,
    );
    expect(refused[2]).not.toBe('0');
    expect(existsSync(join(docs, 'new.txt'))).toBe(false);
  });

  it('sees the clipboard port by the name spice-vdagent looks for', async () => {
    await con.run('echo P=$(cat /sys/class/virtio-ports/*/name)', /P=com\.redhat\.spice\.0\r?\n/);
  });

  it('refuses a snapshot while a 9p share is mounted, naming it, and writes nothing', async () => {
    const before = imageTags(disk);
    const err = await errorOf(
      engine.call('snapshot.create', { vm: vm.id, name: 'mounted', description: '' }),
    );
    expect(err.code).toBe('BAD_STATE');
    expect(err.message).toContain(
      "The shared folder 'data' is mounted in the guest: unmount it (umount /mnt/data) or shut the VM down to take a snapshot.",
    );
    expect(err.message).toContain("The shared folder 'docs_ro' is mounted");
    expect(imageTags(disk)).toEqual(before);
    const list: SnapshotList = await engine.call('snapshot.list', { vm: vm.id });
    expect(list.snapshots).toEqual([]);
    // The clipboard channel was not touched by the refusal.
    const chardevs = await engine
      .resolve(vm.id)
      .supervisor.command<{ label: string }[]>('query-chardev');
    expect(chardevs.map((c) => c.label)).toContain('vdagent0');
  });

  it('takes a live snapshot once the shares are unmounted, with the clipboard channel on, and reverts to it', async () => {
    await con.run('umount /mnt/data; umount /mnt/docs_ro; echo UM=$?', /UM=0\r?\n/);
    await con.memWrite('A');
    const snap = await finish(
      engine,
      await engine.call('snapshot.create', { vm: vm.id, name: 'clean', description: '' }),
      'snapshot.create',
    );
    expect(snap.kind).toBe('live');
    expect(imageTags(disk)).toHaveLength(1);
    const sup = engine.resolve(vm.id).supervisor;
    const labels = async () =>
      (await sup.command<{ label: string }[]>('query-chardev')).map((c) => c.label);
    // Back after the save: the guest sees the port again.
    expect(await labels()).toContain('vdagent0');
    await con.run('echo Q=$(cat /sys/class/virtio-ports/*/name)', /Q=com\.redhat\.spice\.0\r?\n/);

    await con.memWrite('B');
    await finish(
      engine,
      await engine.call('snapshot.revert', { vm: vm.id, snapshot: 'clean' }),
      'snapshot.revert',
    );
    expect(await con.memRead()).toBe('A');
    expect(await labels()).toContain('vdagent0');
    await con.run('echo Z=$(cat /sys/class/virtio-ports/*/name)', /Z=com\.redhat\.spice\.0\r?\n/);
    // And the share mounts again after the revert.
    await con.run(
      'mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 data /mnt/data; echo M2=$(cat /mnt/data/in.txt)',
      /M2=hello-from-host\r?\n/,
    );
    await con.run('umount /mnt/data; echo U2=$?', /U2=0\r?\n/);
  });

  it('refuses to save the VM to disk while the clipboard is on, naming it', async () => {
    const err = await errorOf(engine.call('vm.suspend', { vm: vm.id }));
    expect(err.code).toBe('BAD_STATE');
    expect(err.message).toMatch(
      /Clipboard sharing \(the qemu-vdagent channel\) cannot be saved by QEMU 7\.2, so Vivarium cannot save it to disk while it is there: turn clipboard sharing off in the Hardware tab/,
    );
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('running');
  });

  it('reverts a stopped VM to the live snapshot with the clipboard channel attached again', async () => {
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });
    const result = await finish(
      engine,
      await engine.call('snapshot.revert', { vm: vm.id, snapshot: 'clean' }),
      'snapshot.revert',
    );
    expect(result.started).toBe(true);
    con = await GuestConsole.open(engine, vm.id);
    expect(await con.memRead()).toBe('A');
    const chardevs = await engine
      .resolve(vm.id)
      .supervisor.command<{ label: string }[]>('query-chardev');
    expect(chardevs.map((c) => c.label)).toContain('vdagent0');
    await con.run('echo Y=$(cat /sys/class/virtio-ports/*/name)', /Y=com\.redhat\.spice\.0\r?\n/);
  });
});

describe('adding shares', () => {
  let vm: VmSummary;

  beforeAll(async () => {
    vm = await engine.call('vm.create', {
      name: 'adding',
      kernel: guest.kernel,
      initrd: guest.initrd,
      memoryMiB: 64,
      cpus: 1,
    });
  });

  it('refuses a missing folder, a file and a taken tag with what to do', async () => {
    const home = env?.home.dir ?? '';
    const missing = await errorOf(
      engine.call('share.add', { vm: vm.id, path: join(home, 'nowhere') }),
    );
    expect(missing.message).toMatch(/There is no folder .*nowhere on this computer: create it/);
    await writeFile(join(home, 'file.txt'), 'x');
    const file = await errorOf(
      engine.call('share.add', { vm: vm.id, path: join(home, 'file.txt') }),
    );
    expect(file.message).toMatch(/is a file, not a folder/);
    const bad = await errorOf(
      engine.call('share.add', { vm: vm.id, path: home, tag: 'two words' }),
    );
    expect(bad.message).toMatch(/A tag is a short word/);
    await engine.call('share.add', { vm: vm.id, path: home, tag: 'home' });
    const taken = await errorOf(engine.call('share.add', { vm: vm.id, path: home, tag: 'home' }));
    expect(taken.message).toMatch(/already has a shared folder tagged home/);
    const gone = await errorOf(engine.call('share.remove', { vm: vm.id, tag: 'other' }));
    expect(gone.message).toMatch(/no shared folder tagged other: its tags are home/);
    expect((await engine.call('share.remove', { vm: vm.id, tag: 'home' })).shares).toEqual([]);
  });

  it.skipIf(existsSync(SMBD_PATH))(
    'says plainly that SMB needs samba, with the install command, when smbd is missing',
    async () => {
      const list = await engine.call('share.list', { vm: vm.id });
      const smb = list.modes.find((m) => m.mode === 'smb');
      expect(smb?.ok).toBe(false);
      expect(smb?.reason).toContain(SMB_INSTALL);
      const err = await errorOf(
        engine.call('share.add', { vm: vm.id, path: env?.home.dir ?? '', mode: 'smb' }),
      );
      expect(err.code).toBe('QEMU_MISSING');
      expect(err.message).toContain(`(Debian/Ubuntu: ${SMB_INSTALL})`);
      expect((await engine.call('share.list', { vm: vm.id })).shares).toEqual([]);
    },
  );
});

describe('a virtiofs share', () => {
  it('starts virtiofsd beside QEMU, and a snapshot is refused naming the share', async () => {
    const vm = await engine.call('vm.create', {
      name: 'vfs',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 128,
      cpus: 1,
      diskSize: '32M',
    });
    const modes = (await engine.call('share.list', { vm: vm.id })).modes;
    const vfs = modes.find((m) => m.mode === 'virtiofs');
    if (!vfs?.ok) {
      // Not root and no namespaces: the mode is offered disabled with the reason instead.
      expect(vfs?.reason).toMatch(/virtiofsd/);
      return;
    }
    const dir = join(env?.home.dir ?? '', 'vfs');
    await mkdir(dir);
    const ro = await errorOf(
      engine.call('share.add', { vm: vm.id, path: dir, mode: 'virtiofs', readOnly: true }),
    );
    expect(ro.message).toMatch(/no read-only mode: use 9p/);
    await engine.call('share.add', { vm: vm.id, path: dir, tag: 'fast', mode: 'virtiofs' });
    await engine.call('vm.start', { vm: vm.id });
    const sup = engine.resolve(vm.id).supervisor;
    const devices = await sup.command<{ name: string }[]>('qom-list', {
      path: '/machine/peripheral',
    });
    expect(devices.map((d) => d.name)).toContain('share-fast-dev');
    const err = await errorOf(
      engine.call('snapshot.create', { vm: vm.id, name: 'x', description: '' }),
    );
    expect(err.message).toContain(
      "The shared folder 'fast' uses virtiofs, whose state QEMU 7.2 cannot save: shut the VM down to take a snapshot",
    );
    expect(imageTags(join(vm.dir, 'disk0.qcow2'))).toEqual([]);
    await engine.call('vm.powerOff', { vm: vm.id });
  });
});
