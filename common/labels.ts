/**
 * Human labels for the contract's vocabulary: the wizard, Settings, the Hardware tab, Overview
 * and the CLI show these, never their own spelling.
 */
import type { DiskBus, DiskCache } from './contract/vm-config';

export const DISK_BUS_LABELS: Record<DiskBus, string> = {
  virtio: 'VirtIO',
  scsi: 'SCSI (VirtIO SCSI)',
  sata: 'SATA (AHCI)',
  ide: 'IDE',
};

export const DISK_CACHE_LABELS: Record<DiskCache, string> = {
  writeback: 'Write-back (QEMU default)',
  none: 'None (direct I/O, host cache bypassed)',
  writethrough: 'Write-through',
  directsync: 'Direct sync',
  unsafe: 'Unsafe (flushes ignored)',
};

/** What each cache mode means for the guest's data, said where the user picks one. */
export const DISK_CACHE_NOTES: Record<DiskCache, string> = {
  writeback:
    'Writes go through the host’s page cache; the guest’s flushes reach the disk. Safe with guests that flush.',
  none: 'Bypasses the host’s page cache (O_DIRECT); flushes reach the disk. Needs a file system that supports direct I/O (not tmpfs).',
  writethrough: 'Every write reaches the disk before the guest hears back: safest, slowest.',
  directsync: 'Direct I/O and every write reaches the disk: safest without the host’s cache.',
  unsafe:
    'Flushes are ignored: fastest, but a host crash or power cut can corrupt the disk. For throw-away installs.',
};
