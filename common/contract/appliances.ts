/**
 * Appliances: OVF packages (an `.ova` tar, or an `.ovf` with its files beside it) as VirtualBox,
 * VMware and other hypervisors hand them out, read into Vivarium VMs, and Vivarium VMs written
 * out as OVAs that VirtualBox imports.
 */
import { z } from 'zod';
import type { TaskInfo } from './tasks';
import type { VmSummary } from './vm';
import { AbsolutePathSchema, VmNameSchema, VmRefSchema } from './vm-config';
import type { DiskBus, SoundModel } from './vocabulary';
import type { FIRMWARES, MACHINE_TYPES, NIC_MODELS } from './vocabulary';

/** Who wrote the envelope, as its namespaces and sections tell. */
export const APPLIANCE_PRODUCERS = ['virtualbox', 'vmware', 'other'] as const;
export type ApplianceProducer = (typeof APPLIANCE_PRODUCERS)[number];

/** The controller a disk sits on in the appliance (OVF's RASD resource types 5, 6, 20). */
export const APPLIANCE_CONTROLLERS = ['ide', 'sata', 'scsi', 'virtio', 'none'] as const;
export type ApplianceController = (typeof APPLIANCE_CONTROLLERS)[number];

export interface ApplianceDisk {
  /** The disk file as the package names it (a member of the OVA, or a file beside the .ovf). */
  file: string;
  /** Its format as the envelope says (a URI: vmdk.html#streamOptimized, ...). */
  format: string;
  controller: ApplianceController;
  /** Where it goes in the VM. */
  bus: DiskBus;
  /** The disk's size as the guest sees it. */
  capacityBytes: number;
  /** The file's own size (compressed), when known. */
  fileBytes: number | null;
}

export interface ApplianceNic {
  /** The card as the envelope names it (E1000, PCNet32, VmxNet3, virtio...). */
  source: string;
  model: (typeof NIC_MODELS)[number];
}

/** An appliance's virtual hardware, read and mapped to what Vivarium gives a VM. */
export interface ApplianceSummary {
  file: string;
  kind: 'ova' | 'ovf';
  producer: ApplianceProducer;
  /** The name the VM gets unless another is asked (the virtual system's name). */
  name: string;
  os: {
    /** What the envelope says (VirtualBox OSType, VMware osType, or the CIM id and text). */
    source: string | null;
    /** The catalogue entry it maps to ('generic' when none fits). */
    entry: string;
    entryName: string;
  };
  cpus: number;
  memoryMiB: number;
  machine: (typeof MACHINE_TYPES)[number];
  firmware: (typeof FIRMWARES)[number];
  /** In boot order: the first is the system disk. */
  disks: ApplianceDisk[];
  nics: ApplianceNic[];
  sound: SoundModel;
  /** What the appliance has that the VM does not get, or gets as something else, and why. */
  notMapped: string[];
  /** The manifest's algorithm that checked every file, or null when the package has none. */
  verifiedWith: 'SHA1' | 'SHA256' | 'mixed' | null;
}

export interface ApplianceExport {
  file: string;
  bytes: number;
  disks: number;
}

export const applianceMethods = {
  /**
   * Reads an .ova or .ovf without writing anything: member paths, the manifest's checksums of
   * every file, and the hardware mapped to a VM (what `appliance.import` would make). Refused,
   * with the reason, when the package is unsafe or broken.
   */
  'appliance.inspect': z.object({ file: AbsolutePathSchema }),
  /**
   * Imports an appliance as a new VM: a task (kind 'appliance.import', progress over the disks'
   * conversion, cancellable) whose result is the VmSummary. Nothing is left behind on failure.
   */
  'appliance.import': z.object({ file: AbsolutePathSchema, name: VmNameSchema.optional() }),
  /**
   * Writes a stopped VM as an OVA (OVF 1.0, stream-optimized VMDK disks, SHA-256 manifest): a
   * task (kind 'appliance.export') whose result is an ApplianceExport.
   */
  'appliance.export': z.object({
    vm: VmRefSchema,
    file: AbsolutePathSchema.refine((p) => p.toLowerCase().endsWith('.ova'), {
      message: 'Name the file NAME.ova',
    }),
  }),
} as const;

export interface ApplianceResults {
  'appliance.inspect': ApplianceSummary;
  'appliance.import': TaskInfo;
  'appliance.export': TaskInfo;
}

/** `task.result` of finished appliance tasks, by task kind. */
export interface ApplianceTaskResults {
  'appliance.import': VmSummary;
  'appliance.export': ApplianceExport;
}
