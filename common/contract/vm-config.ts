/**
 * The persisted VM config (`vm.json`, versioned by CONFIG_VERSION): its vocabulary and the field
 * schemas that requests of several domains reuse.
 */
import { z } from 'zod';
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
} from './vocabulary';
import {
  NIC_MAX,
  bridgeNameProblem,
  macProblem,
  networkNameProblem,
  normalizeMac,
} from '../rules/networks';
import { forwardExposureProblem } from '../rules/port-forwards';
import { HOTPLUG_PORTS, MAX_DISKS } from '../rules/disk-limits';
import { USB_ENTRY_ID, USB_HEX_ID, USB_MAX, USB_PORT_PATH } from '../rules/usb';
import { nameCharactersProblem } from '../rules/vm-names';
import { SHARE_MAX, SHARE_MODES, shareTagProblem } from '../rules/shares';
import { CPU_COUNT_MAX, CPU_COUNT_MIN, MEMORY_MIB_MAX, MEMORY_MIB_MIN } from '../rules/vm-settings';

export const CONFIG_VERSION = 3;

/**
 * The generation of the devices every VM gets whether or not the user added them, like QEMU's
 * versioned machine types for Vivarium's own devices. Saved memory and live snapshots load only
 * into the device layout they were taken with, so a VM keeps its generation until it starts cold
 * with neither (see vms/device-layout.ts); new VMs get the latest.
 * 1: a CD drive only with a disc in it, the xHCI controller only for the tablet or USB devices,
 *    no hot-plug buses.
 * 2: an empty CD drive ready for a disc, the xHCI controller always, and on q35 spare PCIe root
 *    ports and a virtio-scsi controller for disks plugged in while the VM runs.
 */
export const DEVICE_LAYOUT_LATEST = 2;

// ---------------------------------------------------------------------------------------------
// Vocabulary (common/contract/vocabulary.ts)

export {
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
  type Accelerator,
  type DiskBus,
  type DiskCache,
  type Firmware,
  type MachineType,
  type NicModel,
  type SoundModel,
  type VideoModel,
  type VmArch,
} from './vocabulary';
export { HOTPLUG_PORTS, MAX_DISKS } from '../rules/disk-limits';

// ---------------------------------------------------------------------------------------------
// Field schemas

/** Control characters would corrupt logs and window titles; everything else is allowed. */
/**
 * A name as a request gives it (create, rename, clone): trimmed, in NFC, without control or
 * format characters (common/rules/vm-names.ts says why).
 */
export const VmNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the VM a name')
  .max(80, 'Keep the name under 80 characters')
  .transform((s) => s.normalize('NFC'))
  .superRefine((s, ctx) => {
    const problem = nameCharactersProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * A name as a stored config holds it: in NFC, but a name saved before format characters were
 * refused still loads (the VM stays usable; renaming it applies today's rules).
 */
export const StoredVmNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the VM a name')
  .max(80, 'Keep the name under 80 characters')
  .refine((s) => !/\p{Cc}/u.test(s), 'The name cannot contain control characters')
  .transform((s) => s.normalize('NFC'));

export const VmIdSchema = z.string().regex(/^[a-f0-9]{12}$/, 'Not a VM id');

/** A VM is addressed by id or by its (unique) name. */
export const VmRefSchema = z.string().min(1, 'Name the VM');

export const AbsolutePathSchema = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'Use an absolute path')
  .refine((p) => !p.includes('\0'), 'The path contains a NUL byte');

export const MemoryMiBSchema = z
  .number()
  .int('Memory is a whole number of MiB')
  .min(MEMORY_MIB_MIN, `Give the VM at least ${MEMORY_MIB_MIN} MiB of memory`)
  .max(MEMORY_MIB_MAX, 'That is more memory than QEMU can give');

export const CpuCountSchema = z
  .number()
  .int()
  .min(CPU_COUNT_MIN, 'A VM needs at least one CPU')
  .max(CPU_COUNT_MAX, `At most ${CPU_COUNT_MAX} CPUs`);

export const DiskSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9]{0,15}$/, 'Disk ids are short lowercase words'),
  /** Relative paths live in the VM's folder; absolute ones are the user's own files. */
  file: z
    .string()
    .min(1)
    .refine((p) => !p.includes('\0')),
  format: z.enum(DISK_FORMATS),
  bus: z.enum(DISK_BUSES),
  readOnly: z.boolean().default(false),
  cache: z.enum(DISK_CACHES).default('writeback'),
  /**
   * q35, virtio: the spare PCIe root port the disk sits on (see HOTPLUG_PORTS), so it can be
   * unplugged while the VM runs and sits at the same place at every start (a snapshot's saved
   * devices only load into the same layout). Absent: on the root bus, fixed while the VM runs.
   */
  port: z
    .number()
    .int()
    .min(0)
    .max(HOTPLUG_PORTS - 1)
    .optional(),
});
export type DiskConfig = z.infer<typeof DiskSchema>;

export const KernelBootSchema = z.object({
  kernel: AbsolutePathSchema,
  initrd: AbsolutePathSchema.optional(),
  append: z.string().max(4096).default(''),
});

const PORT_RANGE = 'Use a port from 1 to 65535';
/** A TCP/UDP port number, refused with the range to use. */
export const PortSchema = z
  .number()
  .int(PORT_RANGE)
  .min(1, `Out of range: ${PORT_RANGE.toLowerCase()}`)
  .max(65535, `Out of range: ${PORT_RANGE.toLowerCase()}`);

/**
 * A forward as a stored config holds it. `public` (absent means false) is the user's explicit yes
 * to a host address other computers can reach; configs saved before it existed still load.
 */
export const StoredPortForwardSchema = z.object({
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  hostAddress: z.ipv4().default('127.0.0.1'),
  hostPort: PortSchema,
  guestPort: PortSchema,
  public: z.boolean().optional(),
  /** Vivarium picked the host port (a ready-to-use guest's SSH): taken at start, it moves to a free one. */
  auto: z.boolean().optional(),
});

/** A forward as a request gives it: a non-loopback host address needs `public: true`. */
export const PortForwardSchema = StoredPortForwardSchema.superRefine((f, ctx) => {
  const problem = forwardExposureProblem(f);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['hostAddress'] });
});
export type PortForward = z.infer<typeof StoredPortForwardSchema>;

function rule(problem: (value: string) => string | null) {
  return (value: string, ctx: z.RefinementCtx): void => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  };
}

export const NetworkNameSchema = z.string().trim().superRefine(rule(networkNameProblem));
export const BridgeNameSchema = z.string().trim().superRefine(rule(bridgeNameProblem));
/** A card's own address: unicast, written lower case with colons. */
export const MacSchema = z.string().transform(normalizeMac).superRefine(rule(macProblem));

/**
 * Where a card's cable goes. A NAT card has its own user-mode network (QEMU's slirp: the guest is
 * 10.0.2.15) with its forwards; a card on a private network shares that network's switch (and
 * its NAT and forwards, when it has them); bridged cards join a host bridge.
 */
export const NicAttachmentSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('nat'),
    forwards: z.array(StoredPortForwardSchema).default([]),
    /**
     * false: the guest reaches only this computer, through its forwards (QEMU's restrict=on):
     * for air-gapped labs and CI, where a guest must not fetch from the internet.
     */
    internet: z.boolean().default(true),
  }),
  z.object({ kind: z.literal('network'), network: NetworkNameSchema }),
  z.object({ kind: z.literal('bridge'), bridge: BridgeNameSchema }),
  z.object({ kind: z.literal('none') }),
]);
export type NicAttachment = z.infer<typeof NicAttachmentSchema>;

export const NicConfigSchema = z.object({
  model: z.enum(NIC_MODELS).default('virtio-net-pci'),
  /** Generated once when the card is made and kept (clones get their own). */
  mac: MacSchema,
  attach: NicAttachmentSchema,
});
export type NicConfig = z.infer<typeof NicConfigSchema>;

/**
 * A guest made from a cloud image: what its first boot is told (a NoCloud seed volume in the VM's
 * folder) and where its system disk came from. The password itself is kept only as a hash, in
 * the seed.
 */
export const CloudInitConfigSchema = z.object({
  user: z.string().min(1),
  hostname: z.string().min(1),
  /** The seed volume, relative to the VM's folder. */
  seed: z.string().min(1).default('cidata.iso'),
  /** The private key Vivarium made for this VM, relative to its folder; null: none was made. */
  keyFile: z.string().nullable().default(null),
  /** The user's own public keys were given too (then a plain `ssh` works without -i). */
  userKeys: z.boolean().default(false),
  password: z.boolean().default(false),
  image: z.object({
    file: AbsolutePathSchema,
    format: z.enum(DISK_FORMATS),
    /** 'overlay': the disk is a thin qcow2 on the image (which must stay); 'copy': a full copy. */
    mode: z.enum(['overlay', 'copy']),
  }),
});
export type CloudInitConfig = z.infer<typeof CloudInitConfigSchema>;

const UsbEntryIdSchema = z.string().regex(USB_ENTRY_ID, 'USB entry ids look like usb1');
const UsbHexIdSchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(USB_HEX_ID, 'USB ids are four hex digits, like 046d'));

/**
 * A USB device of the VM: one of the host's, found by vendor and product (and its place on the
 * host's buses, when two identical ones are plugged in), or a USB drive backed by an image file.
 */
export const UsbDeviceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('host'),
    id: UsbEntryIdSchema,
    vendorId: UsbHexIdSchema,
    productId: UsbHexIdSchema,
    /** Bus number and port path (sysfs' 1-1.2 is bus 1, port "1.2"): this one of several alike. */
    bus: z.number().int().min(1).max(255).optional(),
    port: z.string().regex(USB_PORT_PATH, 'Ports look like 1 or 1.2').optional(),
    /** The product name the host gave when it was attached, to show while it is unplugged. */
    name: z.string().max(200).optional(),
  }),
  z.object({
    kind: z.literal('drive'),
    id: UsbEntryIdSchema,
    file: AbsolutePathSchema,
    format: z.enum(DISK_FORMATS),
    readOnly: z.boolean().default(false),
  }),
]);
export type UsbDeviceConfig = z.infer<typeof UsbDeviceSchema>;
/**
 * A host folder offered to the guest. The tag is the word the guest mounts it by; the path is a
 * folder on this computer (checked when the share is added and again at each start).
 */
export const ShareConfigSchema = z.object({
  tag: z.string().superRefine(rule(shareTagProblem)),
  path: AbsolutePathSchema,
  readOnly: z.boolean().default(false),
  mode: z.enum(SHARE_MODES).default('9p'),
});
export type ShareConfig = z.infer<typeof ShareConfigSchema>;

export const VmConfigSchema = z.object({
  configVersion: z.literal(CONFIG_VERSION),
  id: VmIdSchema,
  name: StoredVmNameSchema,
  os: z.string().min(1).default('generic'),
  notes: z.string().max(10_000).default(''),
  /**
   * Power off, Reset and Revert ask first, saying what is lost; false when the user said "don't
   * ask again" for this VM (deleting a VM always asks).
   */
  confirmDestructive: z.boolean().default(true),
  createdAt: z.string(),
  /**
   * The guest's architecture (common/arch.ts has its preset). Configs saved before there was a
   * choice are x86_64.
   */
  arch: z.enum(VM_ARCHES).default('x86_64'),
  machine: z.enum(MACHINE_TYPES).default('q35'),
  firmware: z.enum(FIRMWARES).default('bios'),
  cpu: z
    .object({
      model: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/)
        .default('max'),
      count: CpuCountSchema,
    })
    .default({ model: 'max', count: 1 }),
  memoryMiB: MemoryMiBSchema,
  disks: z.array(DiskSchema).max(MAX_DISKS).default([]),
  cdrom: AbsolutePathSchema.nullable().default(null),
  bootOrder: z.array(z.enum(BOOT_DEVICES)).min(1).default(['cdrom', 'disk']),
  kernelBoot: KernelBootSchema.nullable().default(null),
  /** Network cards, in PCI order (the guest's eth0 first). Empty: no network at all. */
  nics: z
    .array(NicConfigSchema)
    .max(NIC_MAX)
    .default([])
    .superRefine((nics, ctx) => {
      const seen = new Set<string>();
      nics.forEach((n, i) => {
        if (seen.has(n.mac)) {
          ctx.addIssue({
            code: 'custom',
            message: `Two cards have the MAC ${n.mac}`,
            path: [i, 'mac'],
          });
        }
        seen.add(n.mac);
      });
    }),
  video: z.enum(VIDEO_MODELS).default('std'),
  usbTablet: z.boolean().default(true),
  /** USB devices on the VM's xHCI controller, attached at start and live. */
  usb: z
    .array(UsbDeviceSchema)
    .max(USB_MAX)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((d, i) => {
        if (seen.has(d.id)) {
          ctx.addIssue({ code: 'custom', message: `Two USB devices are ${d.id}`, path: [i, 'id'] });
        }
        seen.add(d.id);
      });
    }),
  /** The guest's sound card. No host playback yet: QEMU's 'none' audio backend. */
  sound: z.enum(SOUND_MODELS).default('none'),
  /** A TPM 2.0 from swtpm (Windows 11). QEMU needs swtpm running beside it: see args.ts. */
  tpm: z.boolean().default(false),
  /** UEFI Secure Boot (OVMF's secboot build, SMM on). Needs firmware 'uefi' and machine 'q35'. */
  secureBoot: z.boolean().default(false),
  /** 'auto' picks the best accelerator that the host probe found working. */
  accel: z.enum(['auto', ...ACCELERATORS]).default('auto'),
  /** A virtio-serial channel for the QEMU guest agent (addresses, OS, clean shutdown, fsfreeze). */
  guestAgent: z.boolean().default(false),
  cloudInit: CloudInitConfigSchema.nullable().default(null),
  /** Host folders offered to the guest (9p, SMB through a NAT card, virtiofs). */
  shares: z
    .array(ShareConfigSchema)
    .max(SHARE_MAX)
    .default([])
    .superRefine((shares, ctx) => {
      const seen = new Set<string>();
      shares.forEach((s, i) => {
        if (seen.has(s.tag)) {
          ctx.addIssue({
            code: 'custom',
            message: `Two shared folders have the tag ${s.tag}`,
            path: [i, 'tag'],
          });
        }
        seen.add(s.tag);
      });
    }),
  /** Clipboard sharing through QEMU's vdagent channel (the guest runs spice-vdagent). */
  clipboard: z.boolean().default(false),
  /** See DEVICE_LAYOUT_LATEST. */
  layout: z.number().int().min(1).max(DEVICE_LAYOUT_LATEST).default(DEVICE_LAYOUT_LATEST),
  /**
   * A virtio-balloon device (deflate-on-oom): the guest reports its memory and its size can change
   * while it runs. New VMs get it; configs saved before it existed load without it (no new device
   * appears in a guest that was installed without one) until the user turns it on.
   */
  balloon: z.boolean().default(false),
  /** Appended verbatim after everything Vivarium builds; never parsed back. */
  extraArgs: z.array(z.string()).default([]),
});
export type VmConfig = z.infer<typeof VmConfigSchema>;

export const SizeSchema = z
  .string()
  .regex(/^\d+(\.\d+)?\s*[KMGT]?i?B?$/i, 'Sizes look like 512M, 20G or 1T');
