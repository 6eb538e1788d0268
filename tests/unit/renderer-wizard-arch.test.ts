/**
 * The wizard's guest architecture (features/wizard/arch.ts through model.ts): preselected from the
 * ISO's boot files, else this computer's own; the media offered for it; what it means on this
 * host (emulated and how much slower, its QEMU missing and how to install it); the profile's
 * hardware on it. Real catalogue entries and the engine's own defaults.
 */
import { describe, expect, it } from 'vitest';
import { archInstallCommand } from '../../common/arch';
import type { ArchSupport, HostInfo, MediaDetection } from '../../common/contract';
import { loadCurated } from '../../electron/engine/catalog/catalog';
import { profileToCreateDefaults } from '../../electron/engine/catalog/profile';
import { hardwareOn } from '../../renderer/src/features/wizard/arch';
import { derive } from '../../renderer/src/features/wizard/model';
import { WIZARD_INITIAL, type WizardState } from '../../renderer/src/stores/wizard';

function host(arch: string, arches?: ArchSupport[]): HostInfo {
  return {
    platform: 'linux',
    arch,
    cpus: 8,
    totalMemoryMiB: 16384,
    freeDiskBytes: null,
    dataDir: '/tmp/v',
    qemu: { binaries: [], img: null },
    qemuMissing: null,
    accelerators: [],
    bestAccelerator: 'tcg',
    notices: [],
    firmware: { seabios: null, ovmfCode: null, ovmfVars: null },
    ...(arches ? { arches } : {}),
  };
}

const debian = loadCurated().find((e) => e.id === 'debian')!;
const version = debian.versions[0]!;
const defaults = profileToCreateDefaults(debian, host('x86_64'), { version, versionGiven: true });

function debianChosen(patch: Partial<WizardState> = {}): WizardState {
  return {
    ...WIZARD_INITIAL,
    catalog: { status: 'idle' },
    cached: { status: 'ready', value: [] },
    osId: debian.id,
    versionId: version.id,
    entries: { [debian.id]: { status: 'ready', value: debian } },
    defaults: { status: 'ready', value: defaults },
    memoryMiB: defaults.memoryMiB,
    cpus: defaults.cpus,
    diskGiB: 20,
    name: 'Debian 13',
    ...patch,
  };
}

function armIso(file: string): MediaDetection {
  const best = {
    os: 'generic',
    name: 'Generic',
    version: null,
    versionName: null,
    arch: null,
    confidence: 'none' as const,
    reason: 'nothing matched',
  };
  return {
    file,
    sizeBytes: 1,
    format: 'iso9660',
    iso: {
      volumeId: 'VIVARIUM_ARM64',
      jolietVolumeId: null,
      systemId: '',
      volumeSetId: '',
      publisher: '',
      preparer: '',
      application: '',
      created: null,
      volumeBytes: 1,
      elTorito: { bios: false, uefi: true, entries: 1 },
      architectures: ['aarch64'],
      archEvidence: [{ arch: 'aarch64', reason: 'EFI boot image holds EFI/BOOT/BOOTAA64.EFI' }],
    },
    candidates: [best],
    best,
    arch: 'aarch64',
  };
}

const d = (s: WizardState, h: HostInfo | null = host('x86_64')) => derive(s, {}, [], 16384, h);

describe('the guest architecture in the wizard', () => {
  it("is this computer's own by default, with its own media and no notice", () => {
    const x = d(debianChosen());
    expect(x.arch).toMatchObject({ arch: 'x86_64', from: 'host', native: 'x86_64', notice: null });
    expect(x.media.downloadable.map((m) => m.arch)).toEqual(['x86_64', 'x86_64']);
    const arm = d(debianChosen(), host('aarch64'));
    expect(arm.arch).toMatchObject({ arch: 'aarch64', from: 'host', notice: null });
    expect(arm.media.chosen?.id).toBe('netinst-arm64');
  });

  it('offers the media of the picked architecture and says emulation is slower', () => {
    const x = d(debianChosen({ arch: 'aarch64' }));
    expect(x.arch.from).toBe('user');
    expect(x.media.downloadable.map((m) => m.id)).toEqual(['netinst-arm64']);
    expect(x.arch.notice).toMatch(/emulated.*times slower/);
    expect(x.blockers.summary).toBeNull();
    // Ready to use: the arm64 cloud image.
    expect(d(debianChosen({ arch: 'aarch64', setup: 'cloud' })).media.chosen?.file).toBe(
      'debian-13-genericcloud-arm64.qcow2',
    );
    // No s390x cloud image: the step says so.
    expect(d(debianChosen({ arch: 's390x', setup: 'cloud' })).blockers.media).toMatch(
      /No IBM Z .* cloud image/,
    );
  });

  it("follows the ISO's boot files unless the user picks another", () => {
    const file = '/isos/arm.iso';
    const s = debianChosen({
      source: 'iso',
      mediaKind: 'local',
      isoPath: file,
      detection: { file, state: { status: 'ready', value: armIso(file) } },
    });
    expect(d(s).arch).toMatchObject({
      arch: 'aarch64',
      from: 'iso',
      detected: {
        arches: ['aarch64'],
        reason: 'EFI boot image holds EFI/BOOT/BOOTAA64.EFI',
      },
    });
    expect(d({ ...s, arch: 'x86_64' }).arch).toMatchObject({ arch: 'x86_64', from: 'user' });
    // A detection of another path (the field changed since) says nothing.
    expect(d({ ...s, isoPath: '/isos/other.iso' }).arch.from).toBe('host');
  });

  it('disables Create, with the install command, when its QEMU is missing', () => {
    const missing: ArchSupport = {
      arch: 'aarch64',
      qemu: null,
      firmware: [],
      uefi: null,
      accelerator: 'tcg',
      native: false,
      notice: null,
      missingPackages: ['qemu-system-arm', 'qemu-efi-aarch64'],
      install: archInstallCommand('aarch64', ['qemu-system-arm', 'qemu-efi-aarch64']),
      ready: false,
    };
    const x = d(debianChosen({ arch: 'aarch64' }), host('x86_64', [missing]));
    expect(x.arch.unavailable).toBe(
      'QEMU for ARM 64-bit (aarch64) guests (qemu-system-aarch64) is not installed: sudo apt install qemu-system-arm qemu-efi-aarch64',
    );
    expect(x.blockers.summary).toBe(x.arch.unavailable);
    const ready = d(
      debianChosen({ arch: 'aarch64' }),
      host('x86_64', [{ ...missing, ready: true }]),
    );
    expect(ready.blockers.summary).toBeNull();
  });

  it("gives the profile's hardware as each architecture's preset has it", () => {
    expect(hardwareOn(defaults, 'x86_64')).toMatchObject({
      machine: defaults.machine,
      firmware: defaults.firmware,
      video: defaults.video,
    });
    // Debian's profile is BIOS on q35 with a standard VGA: none of them is ARM's.
    expect(hardwareOn(defaults, 'aarch64')).toEqual({
      machine: 'virt',
      firmware: 'uefi',
      video: 'virtio',
      sound: 'hda',
      diskBus: 'virtio',
      nicModel: 'virtio-net-pci',
      tpm: false,
      secureBoot: false,
    });
    expect(hardwareOn(defaults, 's390x')).toMatchObject({
      machine: 's390-ccw-virtio',
      video: 'none',
      sound: 'none',
    });
    expect(d(debianChosen({ arch: 'ppc64le' })).hardware?.machine).toBe('pseries');
  });
});
