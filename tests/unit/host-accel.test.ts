import { describe, expect, it } from 'vitest';
import {
  accelProbeArgs,
  hardwareAccelFor,
  hardwareProbeBudgetMs,
  parseAccelHelp,
} from '../../electron/engine/host/accel';

describe('accelerator helpers', () => {
  it('parses -accel help', () => {
    expect(parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nkvm\n')).toEqual([
      'tcg',
      'kvm',
    ]);
    expect(parseAccelHelp('Accelerators supported in QEMU binary:\r\ntcg\r\nwhpx\r\n')).toEqual([
      'tcg',
      'whpx',
    ]);
    expect(parseAccelHelp('')).toEqual([]);
  });

  it('knows the hardware accelerator per OS', () => {
    expect(hardwareAccelFor('linux')).toBe('kvm');
    expect(hardwareAccelFor('darwin')).toBe('hvf');
    expect(hardwareAccelFor('win32')).toBe('whpx');
    expect(hardwareAccelFor('freebsd')).toBeNull();
  });

  it('builds the probe argv', () => {
    expect(accelProbeArgs('kvm', '/c/probe.bin')).toEqual([
      '-accel',
      'kvm',
      '-display',
      'none',
      '-nodefaults',
      '-no-user-config',
      '-bios',
      '/c/probe.bin',
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=1',
      '-m',
      '64',
    ]);
  });

  it('gives a hardware accelerator a budget relative to TCG on the same probe', () => {
    expect(hardwareProbeBudgetMs(150)).toBe(1000);
    expect(hardwareProbeBudgetMs(400)).toBe(1600);
  });
});
