import { describe, expect, it } from 'vitest';
import {
  VM_ARCHES,
  archConfigProblem,
  archDefaults,
  archPreset,
  emulationNotice,
  fitToArch,
  nativeArchOf,
  vmArchOf,
  type ArchConfigFields,
} from '../../common/arch';
import { GUEST_ARCHES } from '../../common/contract/catalog';
import { VmConfigSchema } from '../../common/contract/vm-config';
import { label } from '../../common/labels';

function fields(arch: (typeof VM_ARCHES)[number]): ArchConfigFields {
  const d = archDefaults(arch);
  return {
    arch,
    machine: d.machine,
    firmware: d.firmware,
    video: d.video,
    sound: d.sound,
    tpm: false,
    secureBoot: false,
    disks: [{ id: 'disk0', bus: d.diskBus }],
    nics: [{ model: d.nicModel }],
    kernelBoot: null,
  };
}

describe('architecture presets', () => {
  it('gives every architecture defaults that fit its own preset', () => {
    for (const arch of VM_ARCHES) {
      const f = fields(arch);
      // riscv64's OpenSBI starts only a kernel given directly.
      if (arch === 'riscv64') expect(archConfigProblem(f)).toMatch(/kernel/);
      else expect(archConfigProblem(f), arch).toBeNull();
      expect(archConfigProblem({ ...f, kernelBoot: { kernel: '/k' } }), arch).toBeNull();
      expect(label('arch', arch)).toBeTruthy();
    }
  });

  it('refuses what another architecture’s machine lacks, saying what to change', () => {
    expect(archConfigProblem({ ...fields('aarch64'), machine: 'q35' })).toMatch(
      /virt machine.*change the machine type/,
    );
    expect(archConfigProblem({ ...fields('s390x'), video: 'std' })).toMatch(/serial console only/);
    expect(
      archConfigProblem({ ...fields('aarch64'), disks: [{ id: 'disk0', bus: 'ide' }] }),
    ).toMatch(/disk0 is on ide.*virtio, scsi/);
    expect(archConfigProblem({ ...fields('aarch64'), firmware: 'bios' })).toMatch(
      /switch the firmware to UEFI \(AAVMF\)/,
    );
    expect(archConfigProblem({ ...fields('ppc64le'), secureBoot: true })).toMatch(/Secure Boot/);
    expect(archConfigProblem({ ...fields('x86_64'), machine: 'virt' })).toMatch(/q35, pc/);
  });

  it('uses the hardware accelerator only for the host’s own architecture', () => {
    expect(nativeArchOf('x64')).toBe('x86_64');
    expect(nativeArchOf('arm64')).toBe('aarch64');
    expect(nativeArchOf('ia32')).toBeNull();
    expect(emulationNotice('x86_64', 'x64')).toBeNull();
    expect(emulationNotice('aarch64', 'arm64')).toBeNull();
    expect(emulationNotice('x86_64', 'arm64')).toMatch(/emulated on this ARM 64-bit.*times slower/);
    expect(emulationNotice('s390x', 'x64')).toMatch(/IBM Z.*emulated/);
  });

  it('keeps i686 an x86 guest and covers every VM architecture in the catalogue’s list', () => {
    expect(vmArchOf('i686')).toBe('x86_64');
    for (const arch of VM_ARCHES) expect(GUEST_ARCHES).toContain(arch);
    expect(archPreset('aarch64').cpuMaxProps).toContain('pauth-impdef=on');
    expect(archPreset('s390x').serialOnly).toBe(true);
  });

  it('moves what the new architecture lacks to its preset, keeping what fits', () => {
    const x86 = {
      ...fields('x86_64'),
      firmware: 'uefi' as const,
      sound: 'hda' as const,
      tpm: true,
      disks: [
        { id: 'disk0', bus: 'sata' as const },
        { id: 'disk1', bus: 'scsi' as const },
      ],
      nics: [{ model: 'e1000' as const }],
      cpuModel: 'host',
    };
    const arm = fitToArch(x86, 'aarch64');
    expect(arm).toMatchObject({
      arch: 'aarch64',
      machine: 'virt',
      firmware: 'uefi',
      video: 'virtio',
      sound: 'hda',
      tpm: false,
      cpuModel: 'max',
    });
    expect(arm.disks.map((d) => d.bus)).toEqual(['virtio', 'scsi']);
    expect(arm.nics[0]!.model).toBe('virtio-net-pci');
    expect(archConfigProblem({ ...x86, ...arm })).toBeNull();
    const z = fitToArch(x86, 's390x');
    expect(z).toMatchObject({ machine: 's390-ccw-virtio', firmware: 'bios', video: 'none' });
    expect(archConfigProblem({ ...x86, ...z })).toBeNull();
  });

  it('loads a vm.json saved before the architecture field as x86_64', () => {
    const old = VmConfigSchema.parse({
      configVersion: 3,
      id: 'abcdef012345',
      name: 'old',
      createdAt: '2026-01-01T00:00:00Z',
      memoryMiB: 512,
    });
    expect(old.arch).toBe('x86_64');
    expect(old.machine).toBe('q35');
    const arm = VmConfigSchema.parse({ ...old, arch: 'aarch64', machine: 'virt' });
    expect(arm.arch).toBe('aarch64');
    expect(() => VmConfigSchema.parse({ ...old, arch: 'mips' })).toThrow();
  });
});
