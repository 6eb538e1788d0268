/**
 * An s390x guest on real QEMU through the engine, emulated (TCG) on this x86 host: Debian's
 * kernel with the busybox initramfs, booted once, its banner and shell on the serial console.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import type { VmSummary } from '../../common/contract';
import { bootArchGuest, nextSample, requireArchGuest } from '../helpers/arch-guest';
import { GuestConsole } from '../helpers/guest-console';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';

requireArchGuest('s390x');
let ge: GuestEngine | undefined;
let engine: Engine;
let vm: VmSummary;
let con: GuestConsole;

beforeAll(async () => {
  ge = await openGuestEngine('viv-s390x-');
  ({ engine } = ge);
  const booted = await bootArchGuest(engine, 's390x');
  vm = booted.vm;
  console.log(`s390x direct kernel boot: ${booted.bootMs} ms to the banner`);
  con = await GuestConsole.open(engine, vm.id);
  await con.run('', /guest# /);
});

afterAll(async () => {
  con.close();
  await ge?.close();
});

describe('an s390x guest', () => {
  it('boots to its banner on the serial console, under TCG with the emulation notice', async () => {
    const got = await engine.call('vm.get', { vm: vm.id });
    expect(got.runtime).toMatchObject({ state: 'running', accel: 'tcg' });
    expect(got.runtime.accelNotice).toMatch(/is emulated .* times slower/);
    expect((await con.run('uname -m', /\b(s390x)\r?\n/))[1]).toBe('s390x');
  });

  it('runs on CCW devices with no display, as its preset says', () => {
    expect(vm.config).toMatchObject({
      machine: 's390-ccw-virtio',
      video: 'none',
      firmware: 'bios',
    });
  });

  it('keeps RAM markers and reports statistics with one vCPU thread', async () => {
    await con.memWrite('Z-RAM');
    expect(await con.memRead()).toBe('Z-RAM');
    const { subscription } = await engine.call('stats.subscribe', {});
    try {
      const s = await nextSample(engine, vm.id);
      expect(s.vcpuPercent).toHaveLength(1);
      expect(s.threads).toBeGreaterThan(1);
    } finally {
      await engine.call('stats.unsubscribe', { subscription });
    }
  });
});
