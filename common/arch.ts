/**
 * Guest architectures and the one preset each gets: what QEMU emulator runs it, which machine,
 * CPU, firmware, display, buses and input work there, and which Debian packages bring them. The
 * wizard, Settings and the CLI offer only what a preset allows and fill in its defaults, so the
 * user never picks a machine type by hand; the engine builds the argv from the same table
 * (electron/engine/qemu/args.ts) and the host probe checks the same binaries and packages.
 * Zod-free, like contract/vocabulary.ts, so the renderer's first chunk can show it.
 */
import {
  VM_ARCHES,
  type DiskBus,
  type Firmware,
  type MachineType,
  type NicModel,
  type SoundModel,
  type VideoModel,
  type VmArch,
} from './contract/vocabulary';

export { VM_ARCHES, type VmArch } from './contract/vocabulary';

export const ARCH_LABELS: Record<VmArch, string> = {
  x86_64: 'x86-64 (PC)',
  aarch64: 'ARM 64-bit (aarch64)',
  ppc64le: 'POWER, little-endian (ppc64le)',
  s390x: 'IBM Z mainframe (s390x)',
  riscv64: 'RISC-V 64-bit (riscv64)',
};

/** How the virtio devices reach the guest: PCI, or IBM Z's channel subsystem (CCW). */
export type VirtioTransport = 'pci' | 'ccw';

export interface ArchPreset {
  arch: VmArch;
  /** QEMU's system emulator, as found on PATH or beside the app. */
  qemuBinary: string;
  /** Debian/Ubuntu packages that bring the emulator and the firmware this preset boots with. */
  debianPackages: readonly string[];
  /** Node's `process.arch` of hosts that run this guest under KVM/HVF/WHPX; others emulate (TCG). */
  hostNodeArch: string;
  /** Machine types offered, the preset's first. */
  machines: readonly MachineType[];
  /** The CPU model new VMs get under emulation; 'host' is used under a hardware accelerator. */
  cpuModel: string;
  /**
   * Properties added to `-cpu max` under emulation. aarch64's pauth-impdef=on swaps the
   * architected pointer-authentication hash (QARMA, slow to emulate) for QEMU's own, which
   * roughly halves TCG's cost on pointer-authenticated kernels.
   */
  cpuMaxProps: readonly string[];
  /** Firmwares offered, the preset's first, each with its name on this architecture. */
  firmwares: readonly Firmware[];
  firmwareLabels: Partial<Record<Firmware, string>>;
  /** Whether this firmware starts anything without a direct kernel boot (aarch64 'bios' does not). */
  firmwareBootsMedia: Partial<Record<Firmware, boolean>>;
  /** Displays offered, the preset's first; ['none'] with `serialOnly`. */
  videos: readonly VideoModel[];
  /** No graphics at all: the guest is used through its serial console (IBM Z's sclpconsole). */
  serialOnly: boolean;
  diskBuses: readonly DiskBus[];
  nicModels: readonly NicModel[];
  sounds: readonly SoundModel[];
  virtio: VirtioTransport;
  /** Where the CD drive sits: x86's IDE/SATA ports, or a SCSI controller everywhere else. */
  cdromBus: 'ide' | 'scsi';
  /**
   * 'ps2': the machine has a PS/2 keyboard and mouse, the USB tablet is optional; 'usb': xHCI
   * tablet and keyboard are the only input; 'none': serial only.
   */
  input: 'ps2' | 'usb' | 'none';
  /** TPM 2.0 and Secure Boot (x86 only for now). */
  tpm: boolean;
  secureBoot: boolean;
}

const PRESETS: Record<VmArch, ArchPreset> = {
  x86_64: {
    arch: 'x86_64',
    qemuBinary: 'qemu-system-x86_64',
    debianPackages: ['qemu-system-x86', 'ovmf'],
    hostNodeArch: 'x64',
    machines: ['q35', 'pc'],
    cpuModel: 'max',
    cpuMaxProps: [],
    firmwares: ['bios', 'uefi'],
    firmwareLabels: { bios: 'BIOS (SeaBIOS)', uefi: 'UEFI (OVMF)' },
    firmwareBootsMedia: { bios: true, uefi: true },
    videos: ['std', 'virtio', 'cirrus', 'ramfb', 'none'],
    serialOnly: false,
    diskBuses: ['virtio', 'scsi', 'sata', 'ide'],
    nicModels: ['virtio-net-pci', 'e1000', 'e1000e', 'rtl8139', 'ne2k_pci', 'pcnet'],
    sounds: ['none', 'hda', 'ac97', 'sb16'],
    virtio: 'pci',
    cdromBus: 'ide',
    input: 'ps2',
    tpm: true,
    secureBoot: true,
  },
  aarch64: {
    arch: 'aarch64',
    qemuBinary: 'qemu-system-aarch64',
    debianPackages: ['qemu-system-arm', 'qemu-efi-aarch64'],
    hostNodeArch: 'arm64',
    machines: ['virt'],
    cpuModel: 'max',
    cpuMaxProps: ['pauth-impdef=on'],
    firmwares: ['uefi', 'bios'],
    firmwareLabels: { uefi: 'UEFI (AAVMF)', bios: 'None (direct kernel boot only)' },
    firmwareBootsMedia: { uefi: true, bios: false },
    videos: ['virtio', 'ramfb', 'none'],
    serialOnly: false,
    diskBuses: ['virtio', 'scsi'],
    nicModels: ['virtio-net-pci', 'e1000e'],
    sounds: ['none', 'hda'],
    virtio: 'pci',
    cdromBus: 'scsi',
    input: 'usb',
    tpm: false,
    secureBoot: false,
  },
  ppc64le: {
    arch: 'ppc64le',
    qemuBinary: 'qemu-system-ppc64',
    debianPackages: ['qemu-system-ppc'],
    hostNodeArch: 'ppc64',
    machines: ['pseries'],
    cpuModel: 'power9',
    cpuMaxProps: [],
    firmwares: ['bios'],
    firmwareLabels: { bios: 'SLOF (Open Firmware)' },
    firmwareBootsMedia: { bios: true },
    videos: ['std', 'virtio', 'none'],
    serialOnly: false,
    diskBuses: ['virtio', 'scsi'],
    nicModels: ['virtio-net-pci'],
    sounds: ['none'],
    virtio: 'pci',
    cdromBus: 'scsi',
    input: 'usb',
    tpm: false,
    secureBoot: false,
  },
  s390x: {
    arch: 's390x',
    qemuBinary: 'qemu-system-s390x',
    debianPackages: ['qemu-system-misc'],
    hostNodeArch: 's390x',
    machines: ['s390-ccw-virtio'],
    cpuModel: 'max',
    cpuMaxProps: [],
    firmwares: ['bios'],
    firmwareLabels: { bios: 's390-ccw loader' },
    firmwareBootsMedia: { bios: true },
    videos: ['none'],
    serialOnly: true,
    diskBuses: ['virtio', 'scsi'],
    nicModels: ['virtio-net-pci'],
    sounds: ['none'],
    virtio: 'ccw',
    cdromBus: 'scsi',
    input: 'none',
    tpm: false,
    secureBoot: false,
  },
  riscv64: {
    arch: 'riscv64',
    qemuBinary: 'qemu-system-riscv64',
    debianPackages: ['qemu-system-misc', 'opensbi', 'u-boot-qemu'],
    hostNodeArch: 'riscv64',
    machines: ['virt'],
    cpuModel: 'rv64',
    cpuMaxProps: [],
    firmwares: ['bios'],
    firmwareLabels: { bios: 'OpenSBI' },
    firmwareBootsMedia: { bios: false },
    videos: ['virtio', 'ramfb', 'none'],
    serialOnly: false,
    diskBuses: ['virtio', 'scsi'],
    nicModels: ['virtio-net-pci', 'e1000e'],
    sounds: ['none'],
    virtio: 'pci',
    cdromBus: 'scsi',
    input: 'usb',
    tpm: false,
    secureBoot: false,
  },
};

/** The preset of an architecture. Pure. */
export function archPreset(arch: VmArch): ArchPreset {
  return PRESETS[arch];
}

/** What a serial-only guest's display says instead of a screen. */
export const SERIAL_ONLY_NOTE =
  'Serial console only: this machine has no display. Use the Console tab (or `vivarium console`).';

/** The firmware's name on this architecture ('UEFI (AAVMF)'), or the word itself if not offered. */
export function firmwareLabel(arch: VmArch, firmware: Firmware): string {
  return PRESETS[arch].firmwareLabels[firmware] ?? firmware;
}

/** The guest architecture a host of Node's `process.arch` runs natively, or null. */
export function nativeArchOf(nodeArch: string): VmArch | null {
  return VM_ARCHES.find((a) => PRESETS[a].hostNodeArch === nodeArch) ?? null;
}

/** Whether a guest of `arch` can use the host's hardware accelerator. */
export function runsNatively(arch: VmArch, hostNodeArch: string): boolean {
  return PRESETS[arch].hostNodeArch === hostNodeArch;
}

/** The install command for what a missing emulator or firmware needs (Debian/Ubuntu). */
export function archInstallCommand(arch: VmArch, missing?: readonly string[]): string {
  return `sudo apt install ${(missing ?? PRESETS[arch].debianPackages).join(' ')}`;
}

/**
 * How many times slower an emulated (TCG) guest runs than the host itself, per guest
 * architecture, as tests/bench/boot.bench.ts measures it: the same busybox shell loop timed
 * inside each emulated guest and natively on an x86-64 host (2 cores shared with other work, QEMU
 * 7.2), two runs: aarch64 13.2x and 16.5x, ppc64le 8.2x and 20.9x, s390x 18.3x and 22.2x; the
 * figures move with the host's load, so the notice gives a round middle. riscv64's test guest has
 * no shell (U-Boot only) and x86-64 is emulated only on other hosts: both get EMULATION_SLOWDOWN.
 * The notice says it as "about N times slower".
 */
export const EMULATION_SLOWDOWN = 15;
export const EMULATION_SLOWDOWN_BY_ARCH: Record<VmArch, number> = {
  x86_64: EMULATION_SLOWDOWN,
  aarch64: 15,
  ppc64le: 15,
  s390x: 20,
  riscv64: EMULATION_SLOWDOWN,
};

/**
 * What a VM of `arch` on this host says about speed: null when it runs natively (or the host has
 * no hardware accelerator anyway, and every guest is emulated alike).
 */
export function emulationNotice(arch: VmArch, hostNodeArch: string): string | null {
  if (runsNatively(arch, hostNodeArch)) return null;
  const host = nativeArchOf(hostNodeArch);
  const on = host ? `this ${ARCH_LABELS[host]} computer` : 'this computer';
  return `${ARCH_LABELS[arch]} is emulated on ${on} (QEMU's TCG): expect it to run about ${EMULATION_SLOWDOWN_BY_ARCH[arch]} times slower than a guest of the host's own architecture.`;
}

/** The settings a new VM of `arch` gets from its preset (the wizard and `create --arch`). */
export function archDefaults(arch: VmArch): {
  arch: VmArch;
  machine: MachineType;
  firmware: Firmware;
  video: VideoModel;
  diskBus: DiskBus;
  nicModel: NicModel;
  sound: SoundModel;
  cpuModel: string;
} {
  const p = PRESETS[arch];
  return {
    arch,
    machine: p.machines[0]!,
    firmware: p.firmwares[0]!,
    video: p.videos[0]!,
    diskBus: p.diskBuses[0]!,
    nicModel: p.nicModels[0]!,
    sound: p.sounds[0]!,
    cpuModel: p.cpuModel,
  };
}

/** The parts of a VM config an architecture constrains. */
export interface ArchConfigFields {
  arch: VmArch;
  machine: MachineType;
  firmware: Firmware;
  video: VideoModel;
  sound: SoundModel;
  tpm: boolean;
  secureBoot: boolean;
  disks: ReadonlyArray<{ id: string; bus: DiskBus }>;
  nics: ReadonlyArray<{ model: NicModel }>;
  kernelBoot: unknown;
}

/**
 * Why a config does not fit its architecture's preset (a machine, firmware, bus or device that
 * machine lacks), said as what to change; null when it fits. Create, Settings and start check it.
 */
export function archConfigProblem(config: ArchConfigFields): string | null {
  const p = PRESETS[config.arch];
  const name = ARCH_LABELS[config.arch];
  const offer = (list: readonly string[]) => list.join(', ');
  if (!p.machines.includes(config.machine)) {
    return `${name} guests use the ${offer(p.machines)} machine, not ${config.machine}: change the machine type.`;
  }
  if (!p.firmwares.includes(config.firmware)) {
    return `${name} guests boot with ${offer(p.firmwares.map((f) => firmwareLabel(config.arch, f)))}: change the firmware.`;
  }
  if (!p.firmwareBootsMedia[config.firmware] && !config.kernelBoot) {
    const other = p.firmwares.find((f) => p.firmwareBootsMedia[f]);
    return other
      ? `${name} with ${firmwareLabel(config.arch, config.firmware)} starts only a kernel given directly: switch the firmware to ${firmwareLabel(config.arch, other)}, or set a kernel to boot.`
      : `${name} guests start from a kernel given directly (${firmwareLabel(config.arch, config.firmware)} has no disk or CD boot here): set a kernel to boot.`;
  }
  if (!p.videos.includes(config.video)) {
    return p.serialOnly
      ? `${name} guests have no display (serial console only): set the display to none.`
      : `${name} guests can show ${offer(p.videos)}, not ${config.video}: change the display.`;
  }
  if (!p.sounds.includes(config.sound)) {
    return `${name} guests can have the sound cards ${offer(p.sounds)}, not ${config.sound}: change the sound card.`;
  }
  if (config.tpm && !p.tpm) return `${name} guests cannot have a TPM yet: turn the TPM off.`;
  if (config.secureBoot && !p.secureBoot) {
    return `Secure Boot is for x86-64 guests: turn it off for this ${name} guest.`;
  }
  const disk = config.disks.find((d) => !p.diskBuses.includes(d.bus));
  if (disk) {
    return `Disk ${disk.id} is on ${disk.bus}, which ${name} guests do not have: use ${offer(p.diskBuses)}.`;
  }
  const nic = config.nics.find((n) => !p.nicModels.includes(n.model));
  if (nic) {
    return `${name} guests have no ${nic.model} network card: use ${offer(p.nicModels)}.`;
  }
  return null;
}

/**
 * The guest architecture a catalogue entry's architecture runs as: 32-bit x86 runs on the x86-64
 * emulator. Pure.
 */
export function vmArchOf(arch: VmArch | 'i686'): VmArch {
  return arch === 'i686' ? 'x86_64' : arch;
}

/**
 * The config fields that change when a VM moves to `arch` (Settings, for a stopped VM): each one
 * the new preset lacks takes the preset's choice; what still fits stays. Pure.
 */
export function fitToArch<T extends ArchConfigFields & { cpuModel: string }>(
  config: T,
  arch: VmArch,
): Pick<
  T,
  'arch' | 'machine' | 'firmware' | 'video' | 'sound' | 'tpm' | 'secureBoot' | 'cpuModel'
> & {
  disks: Array<T['disks'][number]>;
  nics: Array<T['nics'][number]>;
} {
  const p = PRESETS[arch];
  const d = archDefaults(arch);
  const keep = <V>(list: readonly V[], value: V, fallback: V): V =>
    list.includes(value) ? value : fallback;
  const sameFamily = config.arch === arch;
  return {
    arch,
    machine: keep(p.machines, config.machine, d.machine),
    firmware: keep(p.firmwares, config.firmware, d.firmware),
    video: keep(p.videos, config.video, d.video),
    sound: keep(p.sounds, config.sound, d.sound),
    tpm: config.tpm && p.tpm,
    secureBoot: config.secureBoot && p.secureBoot,
    cpuModel: sameFamily ? config.cpuModel : d.cpuModel,
    disks: config.disks.map((disk) =>
      p.diskBuses.includes(disk.bus) ? disk : { ...disk, bus: d.diskBus },
    ),
    nics: config.nics.map((nic) =>
      p.nicModels.includes(nic.model) ? nic : { ...nic, model: d.nicModel },
    ),
  };
}
