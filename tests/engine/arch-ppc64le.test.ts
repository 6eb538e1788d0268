/**
 * A ppc64le guest on real QEMU through the engine, emulated (TCG) on this x86 host: Debian's
 * kernel with the busybox initramfs, booted once, its banner and shell on the serial console.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import type { VmSummary } from '../../common/contract';
import { bootArchGuest, nextSample, requireArchGuest } from '../helpers/arch-guest';
import { GuestConsole } from '../helpers/guest-console';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';

requireArchGuest('ppc64le');
let ge: GuestEngine | undefined;
let engine: Engine;
let vm: VmSummary;
let con: GuestConsole;

beforeAll(async () => {
  ge = await openGuestEngine('viv-ppc64le-');
  ({ engine } = ge);
  const booted = await bootArchGuest(engine, 'ppc64le');
  vm = booted.vm;
  console.log(`ppc64le direct kernel boot: ${booted.bootMs} ms to the banner`);
  con = await GuestConsole.open(engine, vm.id);
  await con.run('', /guest# /);
});

afterAll(async () => {
  con.close();
  await ge?.close();
});

describe('a ppc64le guest', () => {
  it('boots to its banner on the serial console, under TCG with the emulation notice', async () => {
    const got = await engine.call('vm.get', { vm: vm.id });
    expect(got.runtime).toMatchObject({ state: 'running', accel: 'tcg' });
    expect(got.runtime.accelNotice).toMatch(/is emulated .* times slower/);
    expect((await con.run('uname -m', /\b(ppc64le)\r?\n/))[1]).toBe('ppc64le');
  });

  it('runs on the pseries machine with SLOF and a POWER9 CPU', async () => {
    expect(vm.config).toMatchObject({
      machine: 'pseries',
      firmware: 'bios',
      cpu: { model: 'power9' },
    });
    // (The arithmetic keeps the echoed command itself from matching.)
    await con.run('grep -q POWER9 /proc/cpuinfo && echo CPU=$((6*7))', /CPU=42/);
  });

  it('keeps RAM markers and reports statistics with one vCPU thread', async () => {
    await con.memWrite('POWER-RAM');
    expect(await con.memRead()).toBe('POWER-RAM');
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
