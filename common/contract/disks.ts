/**
 * Storage: a VM's disks (add, detach, resize, import, check) and clones.
 *
 * Import and clone return a TaskInfo at once; the finished task's `result` is typed in
 * {@link DiskTaskResults} by task kind (= method name).
 */
import { z } from 'zod';
import type { TaskInfo } from './tasks';
import type { VmSummary } from './vm';
import {
  AbsolutePathSchema,
  DISK_BUSES,
  DISK_CACHES,
  type DiskCache,
  type DISK_FORMATS,
  SizeSchema,
  VmNameSchema,
  VmRefSchema,
} from './vm-config';

const DiskRefSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]{0,15}$/, 'Disk ids are short lowercase words (disk0)');
/** An absolute size ("20G") or a growth ("+5G"). */
const ResizeSchema = z
  .string()
  .regex(/^\+?\d+(\.\d+)?\s*[KMGT]?i?B?$/i, 'Sizes look like 30G (the new size) or +10G (growth)');

export interface DiskInfo {
  id: string;
  /** Absolute path. */
  file: string;
  format: (typeof DISK_FORMATS)[number];
  bus: (typeof DISK_BUSES)[number];
  cache: DiskCache;
  readOnly: boolean;
  exists: boolean;
  virtualSize: number | null;
  /** Bytes used on the host. */
  actualSize: number | null;
  /** The read-only base this disk is an overlay on (linked clones), absolute. */
  backingFile: string | null;
  /** Snapshots stored inside this image. */
  snapshotCount: number;
}

export interface VmStorage {
  vmId: string;
  disks: DiskInfo[];
  /** The UEFI variable store (qcow2), for UEFI VMs. */
  nvram: string | null;
  /** VMs whose disks are overlays on this VM's frozen bases: while any exists, this VM cannot be
   * deleted. */
  linkedClones: Array<{ id: string; name: string }>;
  /** The VM this one is a linked clone of. */
  linkedTo: { id: string; name: string } | null;
}

export type DiskCheckStatus = 'clean' | 'leaks' | 'corrupt' | 'unsupported' | 'failed';

export interface DiskCheckReport {
  disk: string;
  file: string;
  status: DiskCheckStatus;
  corruptions: number;
  leaks: number;
  checkErrors: number;
  repaired: boolean;
  /** What it means and what to do. */
  message: string;
}

/** `task.result` of finished storage tasks, by task kind. */
export interface DiskTaskResults {
  'disk.import': VmSummary;
  'vm.clone': VmSummary;
}

export const diskMethods = {
  'disk.list': z.object({ vm: VmRefSchema }),
  /**
   * A new thin qcow2 of `size`, or an existing image `file` used where it is. On a running VM
   * the disk is plugged in live where the bus allows (common/rules/disks.ts).
   */
  'disk.add': z
    .object({
      vm: VmRefSchema,
      size: SizeSchema.optional(),
      file: AbsolutePathSchema.optional(),
      bus: z.enum(DISK_BUSES).optional(),
      cache: z.enum(DISK_CACHES).optional(),
      readOnly: z.boolean().default(false),
    })
    .refine((r) => (r.size === undefined) !== (r.file === undefined), {
      message: 'Give either a size for a new disk or the file of an existing one',
      path: ['size'],
    }),
  /**
   * `deleteFile` removes the image too when it lives in the VM's folder. On a running VM a
   * hot-plugged disk is unplugged (the guest must let go of it).
   */
  'disk.detach': z.object({
    vm: VmRefSchema,
    disk: DiskRefSchema,
    deleteFile: z.boolean().default(false),
  }),
  /**
   * Grows (live on a running VM: the guest sees the new size); shrinking needs `shrink` (shrink
   * the guest's filesystems first) and the VM off.
   */
  'disk.resize': z.object({
    vm: VmRefSchema,
    disk: DiskRefSchema.optional(),
    size: ResizeSchema,
    shrink: z.boolean().default(false),
  }),
  /** Copies a qcow2, raw/img, VMDK, VDI, VHDX or VHD image into the VM as a new qcow2. A task. */
  'disk.import': z.object({
    vm: VmRefSchema,
    file: AbsolutePathSchema,
    bus: z.enum(DISK_BUSES).optional(),
    cache: z.enum(DISK_CACHES).optional(),
  }),
  /** A disk's bus or cache mode. VM off: QEMU fixes both when it opens the disk. */
  'disk.update': z
    .object({
      vm: VmRefSchema,
      disk: DiskRefSchema,
      bus: z.enum(DISK_BUSES).optional(),
      cache: z.enum(DISK_CACHES).optional(),
    })
    .refine((r) => r.bus !== undefined || r.cache !== undefined, {
      message: 'Give a bus or a cache mode to change',
      path: ['bus'],
    }),
  'disk.check': z.object({
    vm: VmRefSchema,
    disk: DiskRefSchema.optional(),
    /** Repairs need the VM off. */
    repair: z.enum(['none', 'leaks', 'all']).default('none'),
  }),
  /** The VM must be off. Linked: overlays on its frozen disks (instant); full: a copy. A task. */
  'vm.clone': z.object({ vm: VmRefSchema, name: VmNameSchema, linked: z.boolean().default(false) }),
} as const;

export interface DiskResults {
  'disk.list': VmStorage;
  'disk.add': VmSummary;
  'disk.detach': VmSummary;
  'disk.resize': DiskInfo;
  'disk.import': TaskInfo;
  'disk.update': VmSummary;
  'disk.check': DiskCheckReport[];
  'vm.clone': TaskInfo;
}
