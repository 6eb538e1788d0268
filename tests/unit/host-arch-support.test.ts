import { describe, expect, it } from 'vitest';
import {
  aavmfCandidates,
  archAccelerator,
  emulatorArch,
  probeArchSupport,
} from '../../electron/engine/host/arch-support';
import { resolveArchAccelerator } from '../../electron/engine/host/resolve';
import type { HostInfo } from '../../common/contract';

describe('guest architectures on this host', () => {
  it('names each preset’s emulator by QEMU’s architecture (ppc64 runs ppc64le)', () => {
    expect(emulatorArch('ppc64le')).toBe('ppc64');
    expect(emulatorArch('aarch64')).toBe('aarch64');
  });

  it('gives the hardware accelerator only to the host’s own architecture', () => {
    expect(archAccelerator('x86_64', 'x86_64', 'kvm')).toEqual({
      accelerator: 'kvm',
      native: true,
    });
    expect(archAccelerator('aarch64', 'x86_64', 'kvm')).toEqual({
      accelerator: 'tcg',
      native: false,
    });
    expect(archAccelerator('aarch64', 'aarch64', 'hvf')).toEqual({
      accelerator: 'hvf',
      native: true,
    });
    expect(archAccelerator('x86_64', 'aarch64', 'hvf').accelerator).toBe('tcg');
    expect(archAccelerator('x86_64', 'x86_64', 'tcg').native).toBe(false);
  });

  it('looks for AAVMF where Debian, Fedora and QEMU’s own builds put it', () => {
    const pairs = aavmfCandidates('linux', ['/opt/qemu/share/qemu']);
    expect(pairs[0]).toEqual(['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd']);
    expect(pairs.at(-1)).toEqual([
      '/opt/qemu/share/qemu/edk2-aarch64-code.fd',
      '/opt/qemu/share/qemu/edk2-arm-vars.fd',
    ]);
    expect(aavmfCandidates('darwin', ['/opt/homebrew/share/qemu'])).toHaveLength(1);
  });

  it('reports what is installed and the command for what is missing', async () => {
    const bin = (arch: string) => ({
      arch,
      path: `/usr/bin/qemu-system-${arch}`,
      version: '7.2.0',
    });
    const arches = await probeArchSupport({
      platform: 'linux',
      hostArch: 'x86_64',
      hostNodeArch: 'x64',
      // This machine has every emulator and firmware; leave s390x's emulator out to see the hint.
      binaries: [bin('x86_64'), bin('aarch64'), bin('ppc64'), bin('riscv64')],
      x86Firmware: { seabios: '/usr/share/qemu/bios-256k.bin', ovmfCode: null, ovmfVars: null },
      best: 'kvm',
      dataDirs: ['/usr/share/qemu'],
    });
    const by = Object.fromEntries(arches.map((a) => [a.arch, a]));
    expect(by.x86_64).toMatchObject({
      native: true,
      accelerator: 'kvm',
      notice: null,
      ready: true,
    });
    expect(by.x86_64!.missingPackages).toEqual(['ovmf']);
    expect(by.aarch64).toMatchObject({
      native: false,
      accelerator: 'tcg',
      ready: true,
      install: null,
      uefi: { code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.fd' },
    });
    expect(by.aarch64!.notice).toMatch(/ARM 64-bit .* is emulated on this x86-64 \(PC\) computer/);
    expect(by.ppc64le!.firmware[0]).toMatchObject({ path: '/usr/share/qemu/slof.bin' });
    expect(by.s390x).toMatchObject({
      qemu: null,
      ready: false,
      missingPackages: ['qemu-system-misc'],
      install: 'sudo apt install qemu-system-misc',
    });
    expect(by.riscv64!.ready).toBe(true);
  });

  it('runs a guest of another architecture under TCG with a notice, and refuses KVM for it', () => {
    const host = {
      arch: 'x86_64',
      platform: 'linux',
      qemuMissing: null,
      bestAccelerator: 'kvm',
      accelerators: [
        { name: 'kvm', present: true, usable: true },
        { name: 'tcg', present: true, usable: true },
      ],
      arches: [
        {
          arch: 'aarch64',
          accelerator: 'tcg',
          native: false,
          notice: 'ARM 64-bit (aarch64) is emulated here',
        },
      ],
    } as unknown as HostInfo;
    expect(resolveArchAccelerator(host, 'x86_64', 'auto')).toEqual({ accel: 'kvm', notice: null });
    expect(resolveArchAccelerator(host, 'aarch64', 'auto')).toEqual({
      accel: 'tcg',
      notice: 'ARM 64-bit (aarch64) is emulated here',
    });
    expect(() => resolveArchAccelerator(host, 'aarch64', 'kvm')).toThrow(
      /KVM runs only guests of this computer’s own architecture.*'auto'/,
    );
  });
});
