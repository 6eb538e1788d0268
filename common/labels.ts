/**
 * One human label for every word of the VM config's vocabulary (machine types, firmwares, device
 * models, accelerators, boot devices). The wizard, Settings, Overview, the host view and the CLI
 * all show these, so one model never goes by two names. Each table is a Record over the
 * contract's union: a value added to the contract without its label fails the typecheck.
 */
import {
  ACCELERATORS,
  BOOT_DEVICES,
  DISK_BUSES,
  DISK_CACHES,
  DISK_FORMATS,
  FIRMWARES,
  MACHINE_TYPES,
  NIC_MODELS,
  SOUND_MODELS,
  VIDEO_MODELS,
  VM_ARCHES,
} from './contract/vocabulary';
import { ARCH_LABELS } from './arch';

export { ARCH_LABELS, firmwareLabel } from './arch';

type Of<T extends readonly string[]> = T[number];

export const MACHINE_LABELS: Record<Of<typeof MACHINE_TYPES>, string> = {
  q35: 'Q35 (modern, PCIe)',
  pc: 'i440FX (older PC)',
  virt: 'virt (ARM and RISC-V virtual machine)',
  pseries: 'pSeries (POWER, PAPR)',
  's390-ccw-virtio': 'S390 CCW VirtIO (IBM Z)',
};

export const FIRMWARE_LABELS: Record<Of<typeof FIRMWARES>, string> = {
  bios: 'BIOS (SeaBIOS)',
  uefi: 'UEFI (OVMF)',
};

export const DISK_BUS_LABELS: Record<Of<typeof DISK_BUSES>, string> = {
  virtio: 'VirtIO',
  scsi: 'SCSI (VirtIO SCSI)',
  sata: 'SATA (AHCI)',
  ide: 'IDE',
};

export const DISK_CACHE_LABELS: Record<Of<typeof DISK_CACHES>, string> = {
  writeback: 'Write-back (QEMU default)',
  none: 'None (direct I/O, host cache bypassed)',
  writethrough: 'Write-through',
  directsync: 'Direct sync',
  unsafe: 'Unsafe (flushes ignored)',
};

/** What each cache mode means for the guest's data, said where the user picks one. */
export const DISK_CACHE_NOTES: Record<Of<typeof DISK_CACHES>, string> = {
  writeback:
    'Writes go through the host’s page cache; the guest’s flushes reach the disk. Safe with guests that flush.',
  none: 'Bypasses the host’s page cache (O_DIRECT); flushes reach the disk. Needs a file system that supports direct I/O (not tmpfs).',
  writethrough: 'Every write reaches the disk before the guest hears back: safest, slowest.',
  directsync: 'Direct I/O and every write reaches the disk: safest without the host’s cache.',
  unsafe:
    'Flushes are ignored: fastest, but a host crash or power cut can corrupt the disk. For throw-away installs.',
};

export const DISK_FORMAT_LABELS: Record<Of<typeof DISK_FORMATS>, string> = {
  qcow2: 'QCOW2 (thin, snapshots)',
  raw: 'Raw image',
};

export const NIC_MODEL_LABELS: Record<Of<typeof NIC_MODELS>, string> = {
  'virtio-net-pci': 'VirtIO network',
  e1000: 'Intel E1000',
  e1000e: 'Intel 82574 (E1000e)',
  rtl8139: 'Realtek RTL8139',
  ne2k_pci: 'NE2000 PCI',
  pcnet: 'AMD PCnet',
};

export const VIDEO_MODEL_LABELS: Record<Of<typeof VIDEO_MODELS>, string> = {
  std: 'Standard VGA',
  virtio: 'VirtIO GPU',
  cirrus: 'Cirrus VGA',
  ramfb: 'RAM framebuffer',
  none: 'No display',
};

export const SOUND_MODEL_LABELS: Record<Of<typeof SOUND_MODELS>, string> = {
  none: 'No sound card',
  hda: 'Intel HD Audio',
  ac97: 'AC’97',
  sb16: 'Sound Blaster 16 (DOS)',
};

export const ACCELERATOR_LABELS: Record<Of<typeof ACCELERATORS> | 'auto', string> = {
  auto: 'Automatic',
  kvm: 'KVM',
  hvf: 'HVF',
  whpx: 'WHPX',
  tcg: 'TCG (emulated)',
};

export const BOOT_DEVICE_LABELS: Record<Of<typeof BOOT_DEVICES>, string> = {
  disk: 'Disk',
  cdrom: 'CD-ROM',
  network: 'Network (PXE)',
};

export const TPM_LABELS: Record<'on' | 'off', string> = {
  on: 'TPM 2.0 (swtpm)',
  off: 'No TPM',
};

export const SECURE_BOOT_LABELS: Record<'on' | 'off', string> = {
  on: 'Secure Boot on',
  off: 'Secure Boot off',
};

/** Every vocabulary with its values (from the contract) and its labels, by kind. */
export const VOCABULARIES = {
  arch: { values: VM_ARCHES, labels: ARCH_LABELS },
  machine: { values: MACHINE_TYPES, labels: MACHINE_LABELS },
  firmware: { values: FIRMWARES, labels: FIRMWARE_LABELS },
  diskBus: { values: DISK_BUSES, labels: DISK_BUS_LABELS },
  diskFormat: { values: DISK_FORMATS, labels: DISK_FORMAT_LABELS },
  diskCache: { values: DISK_CACHES, labels: DISK_CACHE_LABELS },
  nicModel: { values: NIC_MODELS, labels: NIC_MODEL_LABELS },
  video: { values: VIDEO_MODELS, labels: VIDEO_MODEL_LABELS },
  sound: { values: SOUND_MODELS, labels: SOUND_MODEL_LABELS },
  accel: { values: ['auto', ...ACCELERATORS] as const, labels: ACCELERATOR_LABELS },
  boot: { values: BOOT_DEVICES, labels: BOOT_DEVICE_LABELS },
  tpm: { values: ['on', 'off'] as const, labels: TPM_LABELS },
  secureBoot: { values: ['on', 'off'] as const, labels: SECURE_BOOT_LABELS },
} as const;

export type LabelKind = keyof typeof VOCABULARIES;
export type LabelValue<K extends LabelKind> = (typeof VOCABULARIES)[K]['values'][number];

/** The human label of one value, e.g. label('video', 'std') is 'Standard VGA'. */
export function label<K extends LabelKind>(kind: K, value: LabelValue<K>): string {
  return (VOCABULARIES[kind].labels as Record<string, string>)[value as string] ?? value;
}

/**
 * The label with the raw value beside it, for the CLI's text output: people read the label,
 * scripts and `--flag VALUE` need the value (`Standard VGA (std)`).
 */
export function labelWithValue<K extends LabelKind>(kind: K, value: LabelValue<K>): string {
  const text = label(kind, value);
  return text === value ? text : `${text} (${value})`;
}

/** `[value, label]` pairs in the contract's order, for pickers. */
export function labelOptions<K extends LabelKind>(
  kind: K,
): ReadonlyArray<readonly [LabelValue<K>, string]> {
  return (VOCABULARIES[kind].values as readonly LabelValue<K>[]).map(
    (v) => [v, label(kind, v)] as const,
  );
}
