/**
 * aarch64 guests on real QEMU through the engine, emulated (TCG) on this x86 host: Debian's arm64
 * kernel with the busybox initramfs booted directly (no firmware), and the same from a GRUB EFI
 * ISO through AAVMF, whose live snapshot (UEFI variables in a qcow2 store) reverts. Each guest
 * boots once; wall times are logged.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import type { VmSummary } from '../../common/contract';
import { bootArchGuest, nextSample, requireArchGuest } from '../helpers/arch-guest';
import { finish, GuestConsole } from '../helpers/guest-console';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';
import { errorOf, waitForText } from '../helpers/fixtures';

let ge: GuestEngine | undefined;
let engine: Engine;
const g = requireArchGuest('aarch64');
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

beforeAll(async () => {
  ge = await openGuestEngine('viv-arm-');
  ({ engine } = ge);
});

afterAll(() => ge?.close());

describe('an aarch64 kernel booted directly', () => {
  let vm: VmSummary;
  let con: GuestConsole;

  beforeAll(async () => {
    const t0 = performance.now();
    const booted = await bootArchGuest(engine, 'aarch64', { firmware: 'bios' });
    vm = booted.vm;
    console.log(`aarch64 direct kernel boot: ${booted.bootMs} ms to the banner`);
    con = await GuestConsole.open(engine, vm.id);
    await con.run('', /guest# /);
    console.log(`aarch64 kernel guest ready for tests in ${Math.round(performance.now() - t0)} ms`);
  });

  afterAll(() => con.close());

  it('runs on the virt machine under TCG, its preset’s CPU and no x86 devices', async () => {
    expect(vm.config).toMatchObject({
      arch: 'aarch64',
      machine: 'virt',
      firmware: 'bios',
      video: 'virtio',
      cpu: { model: 'max', count: 1 },
    });
    const got = await engine.call('vm.get', { vm: vm.id });
    expect(got.runtime).toMatchObject({ state: 'running', accel: 'tcg' });
    expect(got.runtime.accelNotice).toMatch(/ARM 64-bit \(aarch64\) is emulated .* times slower/);
    expect((await con.run('uname -m', /\b(aarch64)\r?\n/))[1]).toBe('aarch64');
    // pauth-impdef: QEMU's own pointer-authentication algorithm, seen by the guest as IMPDEF.
    // (The arithmetic keeps the echoed command itself from matching.)
    await con.run('grep -q paca /proc/cpuinfo && echo PAUTH=$((6*7))', /PAUTH=42/);
  });

  it('reports statistics with one vCPU thread (query-cpus-fast on ARM)', async () => {
    const { subscription } = await engine.call('stats.subscribe', {});
    try {
      const s = await nextSample(engine, vm.id);
      expect(s.vcpuPercent).toHaveLength(1);
      expect(s.pid).toBe((await engine.call('vm.get', { vm: vm.id })).runtime.pid);
      expect(s.threads).toBeGreaterThan(1);
    } finally {
      await engine.call('stats.unsubscribe', { subscription });
    }
  });

  it('powers off', async () => {
    await engine.call('vm.powerOff', { vm: vm.id });
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('stopped');
  });
});

describe('an aarch64 guest from a GRUB EFI ISO through AAVMF', () => {
  let vm: VmSummary;
  let con: GuestConsole;

  beforeAll(async () => {
    vm = await engine.call('vm.create', {
      name: 'arm uefi',
      arch: 'aarch64',
      iso: g.iso!,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '64M',
    });
    const started = performance.now();
    await engine.call('vm.start', { vm: vm.id });
    await waitForText(join(vm.dir, 'logs', 'serial.log'), g.banner, 240_000);
    console.log(
      `aarch64 UEFI (AAVMF) + GRUB ISO boot: ${Math.round(performance.now() - started)} ms to the banner`,
    );
    con = await GuestConsole.open(engine, vm.id);
    await con.run('', /guest# /);
  });

  afterAll(() => con.close());

  it('boots with UEFI, the CD on SCSI and a virtio GPU', async () => {
    expect(vm.config).toMatchObject({ arch: 'aarch64', machine: 'virt', firmware: 'uefi' });
    const fw = await con.run('ls /sys/firmware', /\befi\b/);
    expect(fw[0]).toBe('efi');
    // The firmware's framebuffer on the virtio GPU, with the banner the guest draws there.
    const shot = await engine.call('vm.screenshot', {
      vm: vm.id,
      file: join(ARTIFACTS, 'arch-aarch64-uefi-display.png'),
    });
    expect(shot.width).toBeGreaterThanOrEqual(640);
    expect(statSync(shot.file).size).toBeGreaterThan(1000);
  });

  it('reverts a live snapshot (RAM, disk and the UEFI variables as qcow2)', async () => {
    const t0 = performance.now();
    const pid = (await engine.call('vm.get', { vm: vm.id })).runtime.pid;
    await con.memWrite('ARM-A');
    const s1 = await finish(
      engine,
      await engine.call('snapshot.create', { vm: vm.id, name: 's1', description: '' }),
      'snapshot.create',
    );
    expect(s1).toMatchObject({ name: 's1', kind: 'live', status: 'ok' });
    expect(s1.devices).toEqual(expect.arrayContaining(['disk0']));
    await con.memWrite('ARM-B');
    expect(await con.memRead()).toBe('ARM-B');
    const reverted = await finish(
      engine,
      await engine.call('snapshot.revert', { vm: vm.id, snapshot: 's1' }),
      'snapshot.revert',
    );
    expect(reverted).toMatchObject({ state: 'running', pid });
    expect(await con.memRead()).toBe('ARM-A');
    console.log(`aarch64 live snapshot and revert: ${Math.round(performance.now() - t0)} ms`);
  });
});

describe('a stopped VM moved to another architecture', () => {
  it('takes the new preset for what its old machine had, and AAVMF’s variable store', async () => {
    const pc = await engine.call('vm.create', {
      name: 'pc to arm',
      iso: g.iso!,
      firmware: 'uefi',
      machine: 'q35',
      diskBus: 'sata',
      nicModel: 'e1000',
      memoryMiB: 256,
      diskSize: '64M',
    });
    const ovmfVarsSize = statSync(join(pc.dir, 'uefi-vars.qcow2')).size;
    const arm = await engine.call('vm.update', { vm: pc.id, patch: { arch: 'aarch64' } });
    expect(arm.config).toMatchObject({
      arch: 'aarch64',
      machine: 'virt',
      firmware: 'uefi',
      video: 'virtio',
      cpu: { model: 'max' },
    });
    expect(arm.config.disks[0]!.bus).toBe('virtio');
    expect(arm.config.nics[0]!.model).toBe('virtio-net-pci');
    // AAVMF's store is 64 MiB (OVMF's 540 KiB): the qcow2 was made anew from its template.
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', join(pc.dir, 'uefi-vars.qcow2')], {
        encoding: 'utf8',
      }),
    ) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(statSync('/usr/share/AAVMF/AAVMF_VARS.fd').size);
    expect(ovmfVarsSize).toBeGreaterThan(0);
    const refused = await errorOf(
      engine.call('vm.update', { vm: pc.id, patch: { machine: 'q35' } }),
    );
    expect(refused.message).toMatch(/virt machine, not q35: change the machine type/);
  });
});
