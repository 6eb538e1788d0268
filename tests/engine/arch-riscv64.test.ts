/**
 * A riscv64 guest on real QEMU through the engine, emulated (TCG): riscv64 is not a Debian
 * bookworm architecture, so there is no Debian kernel to boot; the guest is U-Boot (u-boot-qemu's
 * S-mode build) started by OpenSBI (-bios default) as the kernel, and the test goes as far as
 * U-Boot's banner and prompt on the serial console.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import type { VmSummary } from '../../common/contract';
import { bootArchGuest, requireArchGuest } from '../helpers/arch-guest';
import { GuestConsole } from '../helpers/guest-console';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';

requireArchGuest('riscv64');
let ge: GuestEngine | undefined;
let engine: Engine;
let vm: VmSummary;

beforeAll(async () => {
  ge = await openGuestEngine('viv-riscv-');
  ({ engine } = ge);
  const booted = await bootArchGuest(engine, 'riscv64', { memoryMiB: 256 }, 60_000);
  vm = booted.vm;
  console.log(`riscv64 OpenSBI + U-Boot: ${booted.bootMs} ms to U-Boot's banner`);
});

afterAll(() => ge?.close());

describe('a riscv64 guest: OpenSBI and U-Boot (no Debian riscv64 kernel in bookworm)', () => {
  it('boots OpenSBI then U-Boot to its banner on the serial console, under TCG', async () => {
    const got = await engine.call('vm.get', { vm: vm.id });
    expect(got.runtime).toMatchObject({ state: 'running', accel: 'tcg' });
    expect(got.runtime.accelNotice).toMatch(/RISC-V 64-bit \(riscv64\) is emulated/);
    expect(vm.config).toMatchObject({ arch: 'riscv64', machine: 'virt', firmware: 'bios' });
    const con = await GuestConsole.open(engine, vm.id);
    try {
      // U-Boot counts down to autoboot (nothing to boot here) and then prompts.
      await con.run('', /=> /, 30_000);
      const ver = await con.run('version', /U-Boot (\d{4}\.\d{2})/);
      expect(Number(ver[1]!.slice(0, 4))).toBeGreaterThanOrEqual(2020);
    } finally {
      con.close();
    }
  });
});
