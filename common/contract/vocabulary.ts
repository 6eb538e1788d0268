/**
 * The VM config's vocabulary: the values its enums take. Apart from vm-config.ts (which builds the
 * zod schemas on them) so that code showing these words (common/labels.ts, and through it the
 * renderer's first chunk) does not bring zod along: zod probes for eval, which the page's
 * Content-Security-Policy refuses and Chromium reports as a console error.
 */

/**
 * The guest's CPU architecture: what QEMU system emulator runs it, and with it everything in its
 * preset (common/arch.ts). x86_64 also runs 32-bit x86 guests.
 */
export const VM_ARCHES = ['x86_64', 'aarch64', 'ppc64le', 's390x', 'riscv64'] as const;
export type VmArch = (typeof VM_ARCHES)[number];
/** q35 and pc are x86's; virt is ARM's and RISC-V's; pseries POWER's; s390-ccw-virtio IBM Z's. */
export const MACHINE_TYPES = ['q35', 'pc', 'virt', 'pseries', 's390-ccw-virtio'] as const;
export type MachineType = (typeof MACHINE_TYPES)[number];
/**
 * 'bios': the machine's own firmware (SeaBIOS, SLOF, the s390-ccw loader, OpenSBI; on aarch64's
 * virt none at all, so only a direct kernel boot starts); 'uefi': EDK2 (OVMF, AAVMF) with a
 * per-VM variable store. common/arch.ts names each per architecture.
 */
export const FIRMWARES = ['bios', 'uefi'] as const;
export type Firmware = (typeof FIRMWARES)[number];
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
export type NicModel = (typeof NIC_MODELS)[number];
/** 'ramfb': a plain framebuffer firmware can draw on (ARM and RISC-V virt have no VGA). */
export const VIDEO_MODELS = ['std', 'virtio', 'cirrus', 'ramfb', 'none'] as const;
export type VideoModel = (typeof VIDEO_MODELS)[number];
/** Sound card the guest sees: Intel HD Audio, AC'97, or a Sound Blaster 16 (DOS). */
export const SOUND_MODELS = ['none', 'hda', 'ac97', 'sb16'] as const;
export type SoundModel = (typeof SOUND_MODELS)[number];
export const ACCELERATORS = ['kvm', 'hvf', 'whpx', 'tcg'] as const;
export type Accelerator = (typeof ACCELERATORS)[number];
export const BOOT_DEVICES = ['disk', 'cdrom', 'network'] as const;
