/**
 * libvirt interop: a VM out as a libvirt domain (its XML, disks, UEFI variables and TPM state in
 * a folder that `virsh define` takes), and a libvirt domain (`virsh dumpxml`) in as a VM. Both
 * are tasks (disks are copied with progress); the finished task's `result` is typed in
 * {@link LibvirtTaskResults}.
 */
import { z } from 'zod';
import type { TaskInfo } from './tasks';
import type { VmSummary } from './vm';
import { AbsolutePathSchema, VmNameSchema, VmRefSchema } from './vm-config';

/**
 * flatten: each disk becomes one self-contained qcow2 (qemu-img convert); carry: the backing
 * chain (a linked clone's base, a cloud image) is copied too, each layer on the one below by a
 * relative name, so the folder can move as a whole.
 */
export const LIBVIRT_DISK_MODES = ['flatten', 'carry'] as const;
export type LibvirtDiskMode = (typeof LIBVIRT_DISK_MODES)[number];

/**
 * network: a NAT card joins libvirt's `default` network (what virt-manager does); user: QEMU's
 * user-mode stack inside the domain (needs no libvirt network, works in qemu:///session).
 */
export const LIBVIRT_NAT_MODES = ['network', 'user'] as const;

/** copy: the domain's disks are copied into the new VM's folder; reference: used where they are. */
export const LIBVIRT_IMPORT_DISK_MODES = ['copy', 'reference'] as const;
export type LibvirtImportDiskMode = (typeof LIBVIRT_IMPORT_DISK_MODES)[number];

export interface LibvirtExportResult {
  /** The domain's name (the VM's, without `/`) and UUID. */
  name: string;
  uuid: string;
  /** DIR/NAME.xml. */
  xmlFile: string;
  /** Every file written, the XML last. */
  files: string[];
  /** What the domain could not carry, one sentence each. */
  unmapped: string[];
  /** How to define and start it here and on another host, one line each (commands to type). */
  note: string[];
}

export interface LibvirtImportResult {
  vm: VmSummary;
  /** What the domain had that the VM does not, one sentence each. */
  unmapped: string[];
}

export const libvirtMethods = {
  /**
   * Writes DIR/NAME.xml and the VM's files beside it. The VM must be shut down and not saved to
   * disk (libvirt cannot resume Vivarium's saved memory). A task (kind 'vm.exportLibvirt').
   */
  'vm.exportLibvirt': z.object({
    vm: VmRefSchema,
    dir: AbsolutePathSchema,
    disks: z.enum(LIBVIRT_DISK_MODES).default('flatten'),
    nat: z.enum(LIBVIRT_NAT_MODES).default('network'),
  }),
  /**
   * A domain's XML (`virsh dumpxml NAME`) in as a new VM. A task (kind 'vm.importLibvirt'); a
   * refusal (not a domain, a disk missing, a name the library refuses) leaves nothing behind.
   */
  'vm.importLibvirt': z.object({
    xml: z.string().min(1, 'Give the domain XML (virsh dumpxml NAME)').max(1_000_000),
    disks: z.enum(LIBVIRT_IMPORT_DISK_MODES).default('copy'),
    /** Instead of the domain's own name. */
    name: VmNameSchema.optional(),
  }),
} as const;

export interface LibvirtResults {
  'vm.exportLibvirt': TaskInfo;
  'vm.importLibvirt': TaskInfo;
}

/** `task.result` of finished libvirt tasks, by task kind. */
export interface LibvirtTaskResults {
  'vm.exportLibvirt': LibvirtExportResult;
  'vm.importLibvirt': LibvirtImportResult;
}
