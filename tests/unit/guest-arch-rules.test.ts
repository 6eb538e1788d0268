/**
 * When a guest architecture can be chosen (common/rules/guest-arch.ts): its QEMU or firmware
 * missing on this host, with the command that installs them; when a VM may move to another one;
 * what moving changes.
 */
import { describe, expect, it } from 'vitest';
import type { ArchSupport } from '../../common/contract';
import { archChangeProblem } from '../../common/rules/vm-settings';
import {
  archChangeLines,
  archUnavailableReason,
  emulationNoticeOn,
  hostArchOf,
} from '../../common/rules/guest-arch';

const support = (patch: Partial<ArchSupport>): ArchSupport => ({
  arch: 'ppc64le',
  qemu: { arch: 'ppc64', path: '/usr/bin/qemu-system-ppc64', version: '7.2.0' },
  firmware: [],
  uefi: null,
  accelerator: 'tcg',
  native: false,
  notice: null,
  missingPackages: [],
  install: null,
  ready: true,
  ...patch,
});

describe('archUnavailableReason', () => {
  it('names the missing emulator or firmware and the command installing it', () => {
    expect(archUnavailableReason({ arches: [support({})] }, 'ppc64le')).toBeNull();
    expect(
      archUnavailableReason(
        {
          arches: [
            support({
              qemu: null,
              ready: false,
              install: 'sudo apt install qemu-system-ppc',
            }),
          ],
        },
        'ppc64le',
      ),
    ).toBe(
      'QEMU for POWER, little-endian (ppc64le) guests (qemu-system-ppc64) is not installed: sudo apt install qemu-system-ppc',
    );
    expect(
      archUnavailableReason(
        {
          arches: [
            support({
              arch: 'aarch64',
              ready: false,
              install: 'sudo apt install qemu-efi-aarch64',
            }),
          ],
        },
        'aarch64',
      ),
    ).toBe(
      'The firmware ARM 64-bit (aarch64) guests boot with is not installed: sudo apt install qemu-efi-aarch64',
    );
  });

  it('refuses nothing on a host that does not report architectures', () => {
    expect(archUnavailableReason({}, 's390x')).toBeNull();
    expect(archUnavailableReason(null, 's390x')).toBeNull();
  });
});

describe('hostArchOf and emulationNoticeOn', () => {
  it("reads the host's architecture in QEMU's words or Node's", () => {
    expect(hostArchOf({ arch: 'x86_64' })).toBe('x86_64');
    expect(hostArchOf({ arch: 'x64' })).toBe('x86_64');
    expect(hostArchOf({ arch: 'aarch64' })).toBe('aarch64');
    expect(hostArchOf({ arch: 'mips' })).toBeNull();
  });

  it('says emulation is slower for another architecture, nothing for the own one', () => {
    expect(emulationNoticeOn({ arch: 'x86_64' }, 'x86_64')).toBeNull();
    expect(emulationNoticeOn({ arch: 'x86_64' }, 'aarch64')).toMatch(
      /^ARM 64-bit \(aarch64\) is emulated on this x86-64 \(PC\) computer .* times slower/,
    );
    // What the host reports wins.
    expect(
      emulationNoticeOn({ arch: 'x86_64', arches: [support({ notice: 'Slow here.' })] }, 'ppc64le'),
    ).toBe('Slow here.');
  });
});

describe('archChangeProblem', () => {
  it('lets a stopped VM without saved state or snapshots move', () => {
    expect(archChangeProblem({ qemuRunning: false, saved: false, snapshots: 0 })).toBeNull();
    expect(archChangeProblem({ qemuRunning: true, saved: false, snapshots: 0 })).toMatch(
      /^Shut the VM down/,
    );
    expect(archChangeProblem({ qemuRunning: false, saved: true, snapshots: 0 })).toMatch(
      /discard its saved state/,
    );
    expect(archChangeProblem({ qemuRunning: false, saved: false, snapshots: 2 })).toMatch(
      /delete its 2 snapshots/,
    );
  });
});

describe('archChangeLines', () => {
  it('says what moves with the processor, with the labels the UI shows', () => {
    expect(
      archChangeLines(
        { arch: 'x86_64', machine: 'q35', firmware: 'bios' },
        { arch: 'aarch64', machine: 'virt', firmware: 'uefi' },
      ),
    ).toEqual([
      'Processor: x86-64 (PC) → ARM 64-bit (aarch64)',
      'Machine: Q35 (modern, PCIe) → virt (ARM and RISC-V virtual machine)',
      'Firmware: BIOS (SeaBIOS) → UEFI (AAVMF)',
    ]);
  });
});
