/**
 * The VM config's vocabulary: the values its enums take. Apart from vm-config.ts (which builds the
 * zod schemas on them) so that code showing these words (common/labels.ts, and through it the
 * renderer's first chunk) does not bring zod along: zod probes for eval, which the page's
 * Content-Security-Policy refuses and Chromium reports as a console error.
 */

export const MACHINE_TYPES = ['q35', 'pc'] as const;
export const FIRMWARES = ['bios', 'uefi'] as const;
export const DISK_BUSES = ['virtio', 'scsi', 'sata', 'ide'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
export const DISK_FORMATS = ['qcow2', 'raw'] as const;
/**
 * QEMU's cache modes (its -drive cache= vocabulary): whether the host's page cache is used
 * (O_DIRECT or not), whether the guest's flushes reach the disk, and whether the guest sees a
 * volatile write cache. 'writeback' is QEMU's own default.
 */
export const DISK_CACHES = ['writeback', 'none', 'writethrough', 'directsync', 'unsafe'] as const;
export type DiskCache = (typeof DISK_CACHES)[number];
export const NIC_MODELS = [
  'virtio-net-pci',
  'e1000',
  'e1000e',
  'rtl8139',
  'ne2k_pci',
  'pcnet',
] as const;
export const VIDEO_MODELS = ['std', 'virtio', 'cirrus', 'none'] as const;
/** Sound card the guest sees: Intel HD Audio, AC'97, or a Sound Blaster 16 (DOS). */
export const SOUND_MODELS = ['none', 'hda', 'ac97', 'sb16'] as const;
export type SoundModel = (typeof SOUND_MODELS)[number];
export const ACCELERATORS = ['kvm', 'hvf', 'whpx', 'tcg'] as const;
export type Accelerator = (typeof ACCELERATORS)[number];
export const BOOT_DEVICES = ['disk', 'cdrom', 'network'] as const;
