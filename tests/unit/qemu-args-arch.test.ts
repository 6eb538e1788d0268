import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archDefaults, VM_ARCHES, type VmArch } from '../../common/arch';
import { CONFIG_VERSION, VmConfigSchema, type VmConfig } from '../../common/contract';
import { buildQemuArgs, type LaunchContext } from '../../electron/engine/qemu/args';
import { enginePaths, vmFiles } from '../../electron/engine/paths';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'argv');
const ID = 'a1b2c3d4e5f6';
const MAC = '52:54:00:d4:e5:f6';
const AAVMF = '/usr/share/AAVMF/AAVMF_CODE.fd';

/** A VM of `arch` with its preset's defaults, a disk, a card and an ISO, plus `overrides`. */
function config(arch: VmArch, overrides: Record<string, unknown> = {}): VmConfig {
  const d = archDefaults(arch);
  return VmConfigSchema.parse({
    configVersion: CONFIG_VERSION,
    id: ID,
    name: `Test ${arch}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    arch,
    machine: d.machine,
    firmware: d.firmware,
    video: d.video,
    sound: d.sound,
    cpu: { model: d.cpuModel, count: 1 },
    memoryMiB: 512,
    disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: d.diskBus }],
    nics: [{ model: d.nicModel, mac: MAC, attach: { kind: 'nat' } }],
    cdrom: `/isos/debian-12-${arch}.iso`,
    ...overrides,
  });
}

const kernelBoot = (kernel: string, append: string) => ({
  kernelBoot: { kernel, initrd: '/boot/initrd.img', append },
  cdrom: null,
  bootOrder: ['disk'],
});

const files = vmFiles(
  enginePaths('/home/u/.local/share/vivarium', '/run/user/1000/vivarium/abcd1234'),
  ID,
);

function ctx(overrides: Partial<LaunchContext> = {}): LaunchContext {
  return { accel: 'tcg', platform: 'linux', ovmfCode: null, vmDir: files.dir, files, ...overrides };
}

const cases: Record<string, [VmConfig, LaunchContext]> = {
  'arch-aarch64-uefi-iso': [config('aarch64'), ctx({ ovmfCode: AAVMF })],
  'arch-aarch64-kernel-boot-no-firmware': [
    config('aarch64', {
      firmware: 'bios',
      video: 'none',
      ...kernelBoot('/boot/vmlinuz-arm64', 'console=ttyAMA0'),
    }),
    ctx(),
  ],
  'arch-aarch64-uefi-kernel-boot-ramfb': [
    config('aarch64', { video: 'ramfb', ...kernelBoot('/boot/vmlinuz-arm64', 'console=ttyAMA0') }),
    ctx({ ovmfCode: AAVMF }),
  ],
  'arch-aarch64-scsi-e1000e-agent-balloon-share': [
    config('aarch64', {
      disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'scsi' }],
      nics: [{ model: 'e1000e', mac: MAC, attach: { kind: 'nat' } }],
      guestAgent: true,
      balloon: true,
      sound: 'hda',
      shares: [{ tag: 'home', path: '/home/u', mode: '9p' }],
    }),
    ctx({ ovmfCode: AAVMF }),
  ],
  'arch-aarch64-kvm-on-arm-host': [
    config('aarch64', { cpu: { model: 'host', count: 4 } }),
    ctx({ accel: 'kvm', ovmfCode: AAVMF }),
  ],
  'arch-ppc64le-iso': [config('ppc64le'), ctx()],
  'arch-ppc64le-kernel-boot': [
    config('ppc64le', { ...kernelBoot('/boot/vmlinux-ppc64el', 'console=hvc0') }),
    ctx(),
  ],
  'arch-s390x-iso-serial-only': [config('s390x', { guestAgent: true, balloon: true }), ctx()],
  'arch-s390x-kernel-boot': [
    config('s390x', { ...kernelBoot('/boot/vmlinuz-s390x', 'console=ttysclp0') }),
    ctx(),
  ],
  'arch-riscv64-opensbi-kernel-boot': [
    config('riscv64', {
      kernelBoot: { kernel: '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin', append: '' },
      cdrom: null,
      bootOrder: ['disk'],
    }),
    ctx(),
  ],
};

describe('buildQemuArgs golden files per architecture', () => {
  for (const [name, [cfg, context]] of Object.entries(cases)) {
    it(name, () => {
      const text = `${buildQemuArgs(cfg, context).join('\n')}\n`;
      const file = join(GOLDEN_DIR, `${name}.txt`);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('covers every architecture', () => {
    for (const arch of VM_ARCHES.filter((a) => a !== 'x86_64')) {
      expect(
        Object.keys(cases).some((n) => n.startsWith(`arch-${arch}-`)),
        arch,
      ).toBe(true);
    }
  });
});

describe('devices the x86 machines have and the others lack', () => {
  const x86Only = ['ide-cd', 'pcie-root-port', 'virtio-vga', 'tpm-crb', 'isa-debug-exit', 'ahci'];

  it('gives no other architecture an x86 device, and IBM Z only CCW devices', () => {
    for (const [name, [cfg, context]] of Object.entries(cases)) {
      const argv = buildQemuArgs(cfg, context).join(' ');
      for (const dev of x86Only) expect(argv, `${name}: ${dev}`).not.toContain(`"${dev}"`);
      if (cfg.arch === 's390x') {
        expect(argv, name).not.toMatch(/-pci"/);
        expect(argv, name).not.toContain('usb');
      }
    }
  });

  it('refuses a config its architecture cannot run, saying what to change', () => {
    expect(() => buildQemuArgs(config('aarch64', { machine: 'q35' }), ctx())).toThrow(
      /virt machine.*change the machine type/,
    );
    expect(() => buildQemuArgs(config('aarch64'), ctx())).toThrow(
      /UEFI firmware for ARM 64-bit.*sudo apt install qemu-system-arm qemu-efi-aarch64/,
    );
    expect(() => buildQemuArgs(config('aarch64', { firmware: 'bios' }), ctx())).toThrow(
      /switch the firmware to UEFI \(AAVMF\), or set a kernel/,
    );
    expect(() => buildQemuArgs(config('riscv64'), ctx())).toThrow(/set a kernel to boot/);
    expect(() =>
      buildQemuArgs(
        config('s390x', {
          usb: [{ kind: 'drive', id: 'usb1', file: '/x.img', format: 'raw' }],
        }),
        ctx(),
      ),
    ).toThrow(/no USB: remove the VM's USB devices/);
  });
});
