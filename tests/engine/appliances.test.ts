/**
 * OVA/OVF appliances through the engine on real QEMU: VirtualBox- and VMware-style packages
 * (two disks each, built from the test guest) imported and booted to the guest's banner; broken
 * and unsafe packages refused with nothing left behind; an exported OVA read back to the same
 * hardware.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { list as listTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplianceExport, TaskInfo, VmSummary } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import {
  buildAppliance,
  guestDisks,
  ovaMembers,
  tarOf,
  type BuiltAppliance,
} from '../helpers/appliances';
import { errorOf, guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';

let root: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;
let work: string;
let homeDir: string;
let disks: Awaited<ReturnType<typeof guestDisks>>;

async function finished<T>(task: TaskInfo): Promise<T> {
  return (await engine.tasks.wait(task.id)) as T;
}

async function importOva(file: string, name?: string): Promise<VmSummary> {
  return finished<VmSummary>(await engine.call('appliance.import', { file, name }));
}

function virtualSize(file: string): number {
  const info = JSON.parse(
    execFileSync('qemu-img', ['info', '-U', '--output=json', file], { encoding: 'utf8' }),
  ) as { 'virtual-size': number };
  return info['virtual-size'];
}

/** Every VM folder and journal record in the library, and any appliance work folder. */
function libraryLeftovers(): string[] {
  const vms = readdirSync(join(homeDir, 'vms')).filter((n) => !n.startsWith('.'));
  const journal = existsSync(join(homeDir, 'journal')) ? readdirSync(join(homeDir, 'journal')) : [];
  return [...vms.map((n) => `vms/${n}`), ...journal.map((n) => `journal/${n}`)];
}

async function writeOva(
  name: string,
  a: BuiltAppliance,
  edit = (m: ReturnType<typeof ovaMembers>) => m,
) {
  const file = join(work, name);
  await writeFile(file, tarOf(edit(ovaMembers(a))));
  return file;
}

async function expectRefused(file: string, pattern: RegExp): Promise<void> {
  const before = libraryLeftovers();
  const inspected = await errorOf(engine.call('appliance.inspect', { file }));
  expect(inspected.code).toBe('INVALID_REQUEST');
  expect(inspected.message).toMatch(pattern);
  const task = await engine.call('appliance.import', { file, name: `refused ${Date.now()}` });
  const failed = await errorOf(engine.tasks.wait(task.id));
  expect(failed.message).toMatch(pattern);
  expect(engine.tasks.get(task.id).state).toBe('failed');
  expect(libraryLeftovers()).toEqual(before);
}

beforeAll(async () => {
  requireGuest();
  root = await tempHome('viv-ova-');
  work = join(root.dir, 'work');
  homeDir = join(root.dir, 'home');
  await mkdir(work, { recursive: true });
  disks = await guestDisks(work);
  engine = await openEngine({ home: homeDir, role: 'owner' });
}, 60_000);

afterAll(async () => {
  for (const vm of await engine.call('vm.list', {}).catch(() => [])) {
    await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
  }
  await engine.close();
  await root.remove();
});

describe('appliance import (real QEMU)', () => {
  let vbox: VmSummary;
  let vmware: VmSummary;

  it('maps a VirtualBox-style OVA, imports both disks and boots it to the banner', async () => {
    const file = await writeOva('vbox.ova', buildAppliance('virtualbox', disks));
    const summary = await engine.call('appliance.inspect', { file });
    expect(summary).toMatchObject({
      kind: 'ova',
      producer: 'virtualbox',
      name: 'VBox Appliance',
      os: { source: 'Debian_64', entry: 'debian' },
      cpus: 1,
      memoryMiB: 256,
      machine: 'q35',
      firmware: 'bios',
      sound: 'ac97',
      verifiedWith: 'SHA1',
    });
    expect(summary.disks.map((d) => [d.file, d.controller, d.bus, d.capacityBytes])).toEqual([
      ['vbox-appliance-disk001.vmdk', 'sata', 'sata', disks.bootCapacity],
      ['vbox-appliance-disk002.vmdk', 'sata', 'sata', disks.blankCapacity],
    ]);
    expect(summary.nics.map((n) => n.model)).toEqual(['e1000', 'pcnet']);
    expect(libraryLeftovers()).toEqual([]);

    const progress: number[] = [];
    const off = engine.onEvent((e) => {
      if (e.type === 'task' && e.task.kind === 'appliance.import' && e.task.progress !== null) {
        progress.push(e.task.progress);
      }
    });
    vbox = await importOva(file);
    off();
    expect(progress.length).toBeGreaterThan(1);
    expect(vbox.config.disks.map((d) => [d.file, d.bus])).toEqual([
      ['disk0.qcow2', 'sata'],
      ['disk1.qcow2', 'sata'],
    ]);
    expect(virtualSize(join(vbox.dir, 'disk0.qcow2'))).toBe(disks.bootCapacity);
    expect(virtualSize(join(vbox.dir, 'disk1.qcow2'))).toBe(disks.blankCapacity);
    expect(vbox.config.nics.map((n) => n.model)).toEqual(['e1000', 'pcnet']);
    expect(readdirSync(vbox.dir)).not.toContain('appliance.tmp');

    await engine.call('vm.start', { vm: vbox.id });
    await waitForText(join(vbox.dir, 'logs', 'serial.log'), guest.banner);
    // A running VM is not exported: its disks change under the copy.
    const refused = await errorOf(
      engine.call('appliance.export', { vm: vbox.id, file: join(work, 'running.ova') }),
    );
    expect(refused.code).toBe('BAD_STATE');
    expect(refused.message).toMatch(/shut it down first/);
    expect(existsSync(join(work, 'running.ova'))).toBe(false);
    await engine.call('vm.powerOff', { vm: vbox.id });
  }, 180_000);

  it('maps a VMware-style OVA (SCSI, UEFI, VMXNET3, disks listed out of order) and boots it', async () => {
    const file = await writeOva('vmware.ova', buildAppliance('vmware', disks, { firmware: 'efi' }));
    const summary = await engine.call('appliance.inspect', { file });
    expect(summary).toMatchObject({
      producer: 'vmware',
      name: 'VMware Appliance',
      os: { source: 'debian12_64', entry: 'debian' },
      memoryMiB: 320,
      machine: 'q35',
      firmware: 'uefi',
      sound: 'none',
      verifiedWith: 'SHA256',
    });
    expect(summary.disks.map((d) => [d.file, d.controller, d.bus])).toEqual([
      ['vmware-appliance-disk001.vmdk', 'scsi', 'scsi'],
      ['vmware-appliance-disk002.vmdk', 'scsi', 'scsi'],
    ]);
    expect(summary.nics).toEqual([
      { source: 'VmxNet3', model: 'e1000' },
      { source: 'E1000', model: 'e1000' },
    ]);
    expect(summary.notMapped.join('\n')).toMatch(/VmxNet3/);

    vmware = await importOva(file, 'vmware guest');
    expect(vmware.config.firmware).toBe('uefi');
    expect(existsSync(engine.resolve(vmware.id).files.nvram)).toBe(true);
    await engine.call('vm.start', { vm: vmware.id });
    await waitForText(join(vmware.dir, 'logs', 'serial.log'), guest.banner, 150_000);
    await engine.call('vm.powerOff', { vm: vmware.id });
  }, 240_000);

  it('imports an .ovf with its disks beside it', async () => {
    const a = buildAppliance('virtualbox', disks, {
      name: 'Folder Appliance',
      algorithm: 'sha256',
    });
    const dir = join(work, 'folder');
    await mkdir(dir);
    await writeFile(join(dir, a.ovfName), a.ovf);
    await writeFile(join(dir, a.mfName), a.mf);
    for (const d of a.disks) await writeFile(join(dir, d.name), d.data);
    const vm = await importOva(join(dir, a.ovfName));
    expect(vm.name).toBe('Folder Appliance');
    expect(vm.config.disks).toHaveLength(2);
    expect(virtualSize(join(vm.dir, 'disk1.qcow2'))).toBe(disks.blankCapacity);
    // The user's files stay as they were.
    expect(readdirSync(dir).sort()).toEqual(
      [a.ovfName, a.mfName, ...a.disks.map((d) => d.name)].sort(),
    );
    await engine.call('vm.delete', { vm: vm.id });
  }, 60_000);

  it('exports a VM to an OVA that reads back to the same hardware', async () => {
    const out = join(work, 'exported.ova');
    const task = await engine.call('appliance.export', { vm: vmware.id, file: out });
    const result = await finished<ApplianceExport>(task);
    expect(result).toMatchObject({ file: out, disks: 2 });
    const members: string[] = [];
    await listTar({ file: out, onReadEntry: (e) => members.push(e.path) });
    expect(members).toEqual([
      'exported.ovf',
      'exported.mf',
      'exported-disk001.vmdk',
      'exported-disk002.vmdk',
    ]);
    const again = await engine.call('appliance.inspect', { file: out });
    expect(again.verifiedWith).toBe('SHA256');
    const back = await importOva(out, 'round trip');
    const pick = (v: VmSummary) => ({
      cpus: v.config.cpu.count,
      memoryMiB: v.config.memoryMiB,
      firmware: v.config.firmware,
      buses: v.config.disks.map((d) => d.bus),
      sizes: v.config.disks.map((d) => virtualSize(join(v.dir, d.file))),
      nics: v.config.nics.map((n) => n.model),
      os: v.config.os,
    });
    expect(pick(back)).toEqual(pick(vmware));
    // The VirtualBox one (SATA, two different cards, AC97) too.
    const out2 = join(work, 'exported-vbox.ova');
    await finished(await engine.call('appliance.export', { vm: vbox.id, file: out2 }));
    const back2 = await importOva(out2, 'round trip 2');
    expect({ ...pick(back2), sound: back2.config.sound }).toEqual({
      ...pick(vbox),
      sound: vbox.config.sound,
    });
    expect(readdirSync(work).filter((n) => /\.(parts|tmp)-/.test(n))).toEqual([]);
  }, 120_000);
});

describe('broken and unsafe appliances are refused with nothing left behind', () => {
  let good: BuiltAppliance;
  beforeAll(() => {
    good = buildAppliance('virtualbox', disks, { name: 'Refused' });
  });

  it('refuses a tampered manifest, naming the file', async () => {
    const mf = good.mf
      .toString()
      .replace(
        /(disk002\.vmdk\)= )([0-9a-f])/,
        (_, p: string, c: string) => p + (c === '0' ? '1' : '0'),
      );
    const file = await writeOva('tampered.ova', { ...good, mf: Buffer.from(mf) });
    await expectRefused(file, /vbox-appliance-disk002\.vmdk does not match its SHA1/);
  });

  it('refuses a disk changed after the manifest was written', async () => {
    const data = Buffer.from(good.disks[1]?.data ?? Buffer.alloc(0));
    data[data.length - 600] = (data[data.length - 600] ?? 0) ^ 0xff;
    const file = await writeOva('altered.ova', good, (m) =>
      m.map((x) => (x.path.endsWith('disk002.vmdk') ? { ...x, data } : x)),
    );
    await expectRefused(file, /disk002\.vmdk does not match/);
  });

  it('refuses a missing disk, naming it', async () => {
    const file = await writeOva('missing.ova', good, (m) =>
      m.filter((x) => !x.path.endsWith('disk002.vmdk')),
    );
    await expectRefused(
      file,
      /references vbox-appliance-disk002\.vmdk, which the archive does not contain/,
    );
  });

  it('refuses a disk the manifest does not list', async () => {
    const mf = good.mf
      .toString()
      .split('\n')
      .filter((l) => !l.includes('disk001'))
      .join('\n');
    const file = await writeOva('unlisted.ova', { ...good, mf: Buffer.from(mf) });
    await expectRefused(file, /vbox-appliance-disk001\.vmdk is not in the manifest/);
  });

  it('refuses a ../ member path before writing anything', async () => {
    const file = await writeOva('dotdot.ova', good, (m) => [
      ...m,
      { path: '../escaped.vmdk', data: Buffer.from('x') },
    ]);
    await expectRefused(file, /"\.\.\/escaped\.vmdk" with a path that leaves the package/);
    expect(existsSync(join(root.dir, 'escaped.vmdk'))).toBe(false);
    expect(existsSync(join(homeDir, 'escaped.vmdk'))).toBe(false);
  });

  it('refuses an absolute member path and a link', async () => {
    const abs = await writeOva('absolute.ova', good, (m) => [
      { path: '/tmp/viv-ova-absolute', data: Buffer.from('x') },
      ...m,
    ]);
    await expectRefused(abs, /an absolute path/);
    expect(existsSync('/tmp/viv-ova-absolute')).toBe(false);
    const link = await writeOva('link.ova', good, (m) => [
      ...m,
      { path: 'shadow.vmdk', type: 'SymbolicLink', linkpath: '/etc/shadow' },
    ]);
    await expectRefused(link, /"shadow\.vmdk" is a link \(to \/etc\/shadow\)/);
  });

  it('a cancelled import leaves nothing behind', async () => {
    // A disk of random bytes takes long enough to convert to be cancelled in the middle.
    const raw = join(work, 'random.raw');
    await writeFile(raw, randomBytes(96 * 2 ** 20));
    const big = join(work, 'random.vmdk');
    execFileSync('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'vmdk',
      '-o',
      'subformat=streamOptimized',
      raw,
      big,
    ]);
    const slow = { ...disks, blank: readFileSync(big), blankCapacity: 96 * 2 ** 20 };
    const file = await writeOva('slow.ova', buildAppliance('vmware', slow, { name: 'Cancelled' }));
    const before = libraryLeftovers();
    const task = await engine.call('appliance.import', { file });
    await waitFor(
      () => {
        const t = engine.tasks.get(task.id);
        return t.message?.startsWith('Converting vmware-appliance-disk002') ? t : null;
      },
      'the second disk to be converting',
      60_000,
    );
    engine.tasks.cancel(task.id);
    expect((await errorOf(engine.tasks.wait(task.id))).code).toBe('CANCELLED');
    expect(engine.tasks.get(task.id).state).toBe('cancelled');
    expect(libraryLeftovers()).toEqual(before);
    expect((await engine.call('vm.list', {})).some((v) => v.name === 'Cancelled')).toBe(false);
  }, 60_000);

  it('refuses a file that is not an appliance', async () => {
    const file = join(work, 'not-a-tar.ova');
    await writeFile(file, Buffer.alloc(4096, 7));
    await expectRefused(file, /not a readable OVA|holds no \.ovf/);
  });
});
