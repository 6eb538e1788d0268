/**
 * The Vivarium API contract: every request, result and event shape shared by the engine, the
 * Electron IPC adapter, the WebSocket server, the CLI and the renderer. Runtime code here is
 * limited to the zod schemas that validate requests at each boundary.
 */
import { z } from 'zod';
import { CPU_COUNT_MAX, CPU_COUNT_MIN, MEMORY_MIB_MAX, MEMORY_MIB_MIN } from '../rules/vm-settings';

export const CONFIG_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Vocabulary

import type { VmState } from '../vm-state';
export { VM_STATES, type VmState } from '../vm-state';

export const MACHINE_TYPES = ['q35', 'pc'] as const;
export const FIRMWARES = ['bios', 'uefi'] as const;
export const DISK_BUSES = ['virtio', 'sata', 'ide'] as const;
export const DISK_FORMATS = ['qcow2', 'raw'] as const;
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
export const ACCELERATORS = ['kvm', 'hvf', 'whpx', 'tcg'] as const;
export type Accelerator = (typeof ACCELERATORS)[number];
export const BOOT_DEVICES = ['disk', 'cdrom', 'network'] as const;
export const STREAM_KINDS = ['vnc', 'serial', 'monitor'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

// ---------------------------------------------------------------------------------------------
// Field schemas

/** Control characters would corrupt logs and window titles; everything else is allowed. */
export const VmNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the VM a name')
  .max(80, 'Keep the name under 80 characters')
  .refine((s) => !/\p{Cc}/u.test(s), 'The name cannot contain control characters');

export const VmIdSchema = z.string().regex(/^[a-f0-9]{12}$/, 'Not a VM id');

/** A VM is addressed by id or by its (unique) name. */
export const VmRefSchema = z.string().min(1, 'Name the VM');

const AbsolutePathSchema = z
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
});
export type DiskConfig = z.infer<typeof DiskSchema>;

export const KernelBootSchema = z.object({
  kernel: AbsolutePathSchema,
  initrd: AbsolutePathSchema.optional(),
  append: z.string().max(4096).default(''),
});

export const PortForwardSchema = z.object({
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  hostAddress: z.ipv4().default('127.0.0.1'),
  hostPort: z.number().int().min(1).max(65535),
  guestPort: z.number().int().min(1).max(65535),
});
export type PortForward = z.infer<typeof PortForwardSchema>;

export const VmConfigSchema = z.object({
  configVersion: z.literal(CONFIG_VERSION),
  id: VmIdSchema,
  name: VmNameSchema,
  os: z.string().min(1).default('generic'),
  notes: z.string().max(10_000).default(''),
  createdAt: z.string(),
  arch: z.literal('x86_64').default('x86_64'),
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
  disks: z.array(DiskSchema).max(8).default([]),
  cdrom: AbsolutePathSchema.nullable().default(null),
  bootOrder: z.array(z.enum(BOOT_DEVICES)).min(1).default(['cdrom', 'disk']),
  kernelBoot: KernelBootSchema.nullable().default(null),
  network: z
    .object({
      mode: z.enum(['user', 'none']).default('user'),
      model: z.enum(NIC_MODELS).default('virtio-net-pci'),
      mac: z
        .string()
        .regex(/^52:54:00(:[0-9a-f]{2}){3}$/)
        .optional(),
      portForwards: z.array(PortForwardSchema).default([]),
    })
    .default({ mode: 'user', model: 'virtio-net-pci', portForwards: [] }),
  video: z.enum(VIDEO_MODELS).default('std'),
  usbTablet: z.boolean().default(true),
  /** The guest's sound card. No host playback yet: QEMU's 'none' audio backend (issue 5). */
  sound: z.enum(SOUND_MODELS).default('none'),
  /** A TPM 2.0 from swtpm (Windows 11). QEMU needs swtpm running beside it: see args.ts. */
  tpm: z.boolean().default(false),
  /** UEFI Secure Boot (OVMF's secboot build, SMM on). Needs firmware 'uefi' and machine 'q35'. */
  secureBoot: z.boolean().default(false),
  /** 'auto' picks the best accelerator that the host probe found working. */
  accel: z.enum(['auto', ...ACCELERATORS]).default('auto'),
  /** Appended verbatim after everything Vivarium builds; never parsed back. */
  extraArgs: z.array(z.string()).default([]),
});
export type VmConfig = z.infer<typeof VmConfigSchema>;

// ---------------------------------------------------------------------------------------------
// Requests

const SizeSchema = z
  .string()
  .regex(/^\d+(\.\d+)?\s*[KMGT]?i?B?$/i, 'Sizes look like 512M, 20G or 1T');

export const CreateVmRequestSchema = z
  .object({
    name: VmNameSchema,
    /** A catalogue id ('debian', 'debian-13', an osinfo short id like 'win11'): its hardware
     * profile fills every field the request leaves out. Without it: 'generic' and plain defaults. */
    os: z.string().min(1).max(200).optional(),
    iso: AbsolutePathSchema.optional(),
    kernel: AbsolutePathSchema.optional(),
    initrd: AbsolutePathSchema.optional(),
    append: z.string().max(4096).optional(),
    memoryMiB: MemoryMiBSchema.optional(),
    cpus: CpuCountSchema.optional(),
    /** Size of a new thin qcow2 disk; "0" for none. */
    diskSize: SizeSchema.optional(),
    machine: z.enum(MACHINE_TYPES).optional(),
    firmware: z.enum(FIRMWARES).optional(),
    diskBus: z.enum(DISK_BUSES).optional(),
    nicModel: z.enum(NIC_MODELS).optional(),
    network: z.enum(['user', 'none']).optional(),
    video: z.enum(VIDEO_MODELS).optional(),
    sound: z.enum(SOUND_MODELS).optional(),
    usbTablet: z.boolean().optional(),
    /** A TPM 2.0 (needs swtpm on the host). */
    tpm: z.boolean().optional(),
    /** UEFI Secure Boot with Microsoft's keys enrolled (needs firmware 'uefi' and machine 'q35'). */
    secureBoot: z.boolean().optional(),
    accel: z.enum(['auto', ...ACCELERATORS]).optional(),
    notes: z.string().max(10_000).optional(),
  })
  .refine((r) => !(r.initrd && !r.kernel), {
    message: 'An initrd needs a kernel (--kernel)',
    path: ['initrd'],
  });
export type CreateVmRequest = z.input<typeof CreateVmRequestSchema>;

/** Fields a user may change; the engine refuses those that need the VM stopped while it runs. */
export const VmPatchSchema = z
  .object({
    name: VmNameSchema,
    notes: z.string().max(10_000),
    memoryMiB: MemoryMiBSchema,
    cpuCount: CpuCountSchema,
    cpuModel: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    machine: z.enum(MACHINE_TYPES),
    firmware: z.enum(FIRMWARES),
    cdrom: AbsolutePathSchema.nullable(),
    bootOrder: z.array(z.enum(BOOT_DEVICES)).min(1),
    nicModel: z.enum(NIC_MODELS),
    networkMode: z.enum(['user', 'none']),
    portForwards: z.array(PortForwardSchema),
    video: z.enum(VIDEO_MODELS),
    sound: z.enum(SOUND_MODELS),
    usbTablet: z.boolean(),
    /** A TPM 2.0 (needs swtpm on the host). Off keeps its state (tpm/) for when it comes back. */
    tpm: z.boolean(),
    /** UEFI Secure Boot (needs firmware 'uefi' and machine 'q35'). Turning it on or off gives
     * the VM a fresh UEFI variable store from the matching template; its snapshots are kept. */
    secureBoot: z.boolean(),
    accel: z.enum(['auto', ...ACCELERATORS]),
    kernelBoot: KernelBootSchema.nullable(),
    extraArgs: z.array(z.string()),
  })
  .partial();
export type VmPatch = z.input<typeof VmPatchSchema>;

const Ref = z.object({ vm: VmRefSchema });

// ---------------------------------------------------------------------------------------------
// Tasks: long work (downloads, conversions, snapshots) returns a task id at once; progress
// arrives as `task` events.

export const TASK_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskInfo {
  id: string;
  /** e.g. 'download', 'disk.import', 'snapshot.save'. */
  kind: string;
  title: string;
  vmId: string | null;
  state: TaskState;
  /** 0..1 when known. */
  progress: number | null;
  /** Bytes done/total, speed and ETA for transfers. */
  bytesDone: number | null;
  bytesTotal: number | null;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  message: string | null;
  error: ApiErrorBody | null;
  /** What the finished task produced (a file path, a VM id...). */
  result: unknown;
  cancellable: boolean;
  startedAt: string;
  endedAt: string | null;
}

// ---------------------------------------------------------------------------------------------
// Storage and snapshots (issue 4)
//
// Long work (snapshot create/revert/delete, disk import, clone) returns a TaskInfo at once; the
// finished task's `result` is typed in {@link StorageTaskResults} by task kind (= method name).
// A Timeline view refreshes `snapshot.list` when a task of kind 'snapshot.*' for its VM ends.

/** 'live': memory, devices and disks of a running/paused VM; 'disk': disks only, VM was off. */
export const SNAPSHOT_KINDS = ['live', 'disk'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];
/** 'missing': no image holds it any more (deleted outside the app); 'partial': only some do. */
export type SnapshotStatus = 'ok' | 'missing' | 'partial';

/** A yes, or a no with the reason in words the UI shows beside the disabled button. */
export type Verdict = { ok: true } | { ok: false; reason: string };
/** Whether a snapshot can be taken now, and which kind it would be. */
export type CanSnapshot = { ok: true; kind: SnapshotKind } | { ok: false; reason: string };

export const SnapshotNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the snapshot a name')
  .max(120, 'Keep the name under 120 characters')
  .refine((s) => !/\p{Cc}/u.test(s), 'The name cannot contain control characters');
/** A snapshot is addressed by its id, its tag or its name (names are unique per VM). */
export const SnapshotRefSchema = z.string().min(1, 'Name the snapshot');
const SnapshotDescriptionSchema = z
  .string()
  .max(10_000, 'Keep the description under 10000 characters');
const DiskRefSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]{0,15}$/, 'Disk ids are short lowercase words (disk0)');
/** An absolute size ("20G") or a growth ("+5G"). */
const ResizeSchema = z
  .string()
  .regex(/^\+?\d+(\.\d+)?\s*[KMGT]?i?B?$/i, 'Sizes look like 30G (the new size) or +10G (growth)');

export interface SnapshotNode {
  id: string;
  /** The tag inside the disk images: generated, unique per VM (external ones keep theirs). */
  tag: string;
  /** The user's name for it (unique per VM). */
  name: string;
  description: string;
  createdAt: string;
  /** "You are here" when this one was taken; null for a root. */
  parent: string | null;
  /** Oldest first. */
  children: string[];
  kind: SnapshotKind;
  /** Bytes of saved memory: 0 for disk-only, null until the images were read. */
  vmStateSize: number | null;
  status: SnapshotStatus;
  /** Found in the images, not taken by Vivarium (qemu-img, virsh...). */
  external: boolean;
  /** A screen image from the moment it was taken (`snapshot.thumbnail`). */
  hasThumbnail: boolean;
  /** Block nodes that hold it: disk ids, and 'fw-vars' (the UEFI variables) on UEFI VMs. */
  devices: string[];
  canRevert: Verdict;
  canDelete: Verdict;
}

export interface SnapshotList {
  vmId: string;
  /** Every snapshot, oldest first (so parents come before their children). */
  snapshots: SnapshotNode[];
  /** Ids of the nodes without a parent, oldest first. */
  roots: string[];
  /** "You are here": the snapshot the VM's present state grew from; null before the first one. */
  current: string | null;
  canSnapshot: CanSnapshot;
  state: VmState;
}

export interface SnapshotRevertResult {
  snapshot: SnapshotNode;
  state: VmState;
  pid: number | null;
  /** A stopped VM reverted to a live snapshot is started at that moment (QEMU launched paused,
   * the snapshot loaded, then continued); a running VM keeps its QEMU process. */
  started: boolean;
}

export interface SnapshotDeleteResult {
  deleted: string;
  /** Children that now hang from the deleted snapshot's parent. */
  reparented: string[];
  current: string | null;
}

export interface SnapshotThumbnail {
  /** null when the snapshot has none (taken while off, external, or the VM has no display). */
  pngBase64: string | null;
  width: number;
  height: number;
}

export interface DiskInfo {
  id: string;
  /** Absolute path. */
  file: string;
  format: (typeof DISK_FORMATS)[number];
  bus: (typeof DISK_BUSES)[number];
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

/** `task.result` of finished storage and snapshot tasks, by task kind. */
export interface StorageTaskResults {
  'snapshot.create': SnapshotNode;
  'snapshot.revert': SnapshotRevertResult;
  'snapshot.delete': SnapshotDeleteResult;
  'disk.import': VmSummary;
  'vm.clone': VmSummary;
}

// ---------------------------------------------------------------------------------------------
// Catalogue and downloads (issue 5)
//
// The guest-OS catalogue (curated entries, extended by osinfo-db where the host has it), what a
// profile means on this host (`catalog.defaults`, also applied by `vm.create` when `os` is given),
// ISO detection, and verified install-media downloads. `media.download` returns a task: progress
// arrives as `task` events (bytes, speed, ETA); the finished task's `result` is a
// {@link MediaDownloadResult}.

export const OS_FAMILIES = [
  'windows',
  'linux',
  'bsd',
  'solaris',
  'dos',
  'alternative',
  'other',
] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];
export const GUEST_ARCHES = ['x86_64', 'i686'] as const;
export type GuestArch = (typeof GUEST_ARCHES)[number];
export type SoundModel = (typeof SOUND_MODELS)[number];
/** 'usb-tablet': absolute pointer (the mouse follows the viewer's); 'ps2': relative PS/2 mouse. */
export type PointerInput = 'usb-tablet' | 'ps2';
/** Where an entry comes from: Vivarium's own data, the host's osinfo-db, or an extra file. */
export type CatalogSource = 'curated' | 'osinfo' | 'extra';

/** The virtual hardware an OS has drivers for, out of the box. */
export interface HardwareProfile {
  machine: (typeof MACHINE_TYPES)[number];
  firmware: (typeof FIRMWARES)[number];
  /** false: the OS cannot boot with BIOS (Windows 11), so there is no fallback without OVMF. */
  biosSupported: boolean;
  tpm: boolean;
  secureBoot: boolean;
  diskBus: (typeof DISK_BUSES)[number];
  nicModel: (typeof NIC_MODELS)[number];
  video: (typeof VIDEO_MODELS)[number];
  sound: SoundModel;
  input: PointerInput;
}

export interface ResourceSpec {
  memoryMiB: number;
  cpus: number;
  /** 0: the OS runs without a disk (a live system). */
  diskGiB: number;
}

export interface MediaSpec {
  /** Unique within its version, e.g. 'netinst', 'desktop'. */
  id: string;
  label: string;
  arch: GuestArch;
  kind: 'installer' | 'netinst' | 'live' | 'bootonly';
  /**
   * Download URLs, the first the primary and the rest mirrors, tried in order. They may hold
   * `{file}` (the file name, fixed or found with `filePattern`) and `{latest:REGEX}` (the greatest
   * entry of that folder's listing matching REGEX, e.g. a dated snapshot folder). Empty for media
   * a person has to fetch from `page` (Windows).
   */
  urls: string[];
  file?: string;
  /** Finds the file name in the checksum list (or the folder listing): the greatest match wins. */
  filePattern?: string;
  /** Roughly, for the free-space check before the server says. */
  sizeBytes?: number;
  sha256?: string;
  /** A checksum list (SHA256SUMS, CHECKSUM, *.sha256...): URLs relative to the media's folder or
   * absolute, `{file}` allowed; the first that loads is used. */
  checksum?: { urls: string[]; algorithm: 'sha256' | 'sha512'; name?: string };
  /** Why there is no checksum to verify against (nightly builds, manual downloads). */
  checksumReason?: string;
  /** The download is an archive holding the image: `member` (a regex) picks it. */
  archive?: { format: 'zip' | '7z'; member: string };
  /** A page where a person downloads it. */
  page?: string;
}

export interface CatalogVersion {
  id: string;
  name: string;
  codename?: string;
  released?: string;
  /** End of the project's support (ISO date), when known. */
  eol?: string;
  lts?: boolean;
  /** 'legacy' versions are known (for detection) but not offered as a download. */
  status: 'current' | 'supported' | 'rolling' | 'legacy';
  media: MediaSpec[];
  notes: string[];
}

/** One ISO 9660 signature. Every regex given must match (osinfo's are anchored at the start). */
export interface DetectPattern {
  /** A regex for the volume id; '' leaves it free (then `application` says what to match). */
  volumeId: string;
  publisher?: string;
  application?: string;
  system?: string;
  ignoreCase?: boolean;
  /** The version the pattern means; a named group `version` in `volumeId` or `application`
   * takes it from the image instead. */
  version?: string;
  arch?: GuestArch;
}

export interface CatalogEntry {
  id: string;
  name: string;
  vendor: string;
  family: OsFamily;
  description: string;
  homepage: string | null;
  /** A file name in assets/logos without `.svg`; `logoSvg` holds the image itself. */
  logo: string;
  logoSvg: string;
  source: CatalogSource;
  architectures: GuestArch[];
  /** Other ids that select this entry ('win11', 'debian12' style osinfo short ids match too). */
  aliases: string[];
  profile: HardwareProfile;
  resources: { minimum: ResourceSpec; recommended: ResourceSpec };
  /** Newest first; the first non-legacy one is the default. */
  versions: CatalogVersion[];
  detect: DetectPattern[];
  /** What a beginner needs to know: drivers, quirks, workarounds. */
  notes: string[];
}

export interface CatalogSummary {
  id: string;
  name: string;
  family: OsFamily;
  description: string;
  logo: string;
  source: CatalogSource;
  architectures: GuestArch[];
  /** The default version's id and name. */
  latest: { id: string; name: string } | null;
  versions: Array<{ id: string; name: string; status: CatalogVersion['status'] }>;
  minimum: ResourceSpec;
  recommended: ResourceSpec;
  /** At least one version has media Vivarium can download by itself. */
  downloadable: boolean;
}

export interface CatalogRequirement {
  id: 'uefi' | 'tpm' | 'secure-boot' | 'memory' | 'disk-space';
  met: boolean;
  message: string;
}

/** A profile applied to this host: what `vm.create` would use, and what the wizard prefills. */
export interface CreateDefaults {
  /** What the VM's config stores: the entry id, with the version when one was chosen. */
  os: string;
  entry: string;
  version: string | null;
  machine: (typeof MACHINE_TYPES)[number];
  firmware: (typeof FIRMWARES)[number];
  diskBus: (typeof DISK_BUSES)[number];
  nicModel: (typeof NIC_MODELS)[number];
  video: (typeof VIDEO_MODELS)[number];
  sound: SoundModel;
  usbTablet: boolean;
  memoryMiB: number;
  cpus: number;
  /** For `vm.create`'s diskSize: '32G', or '0' for none. */
  diskSize: string;
  /** What the VM gets: false where the host cannot provide it yet (see requirements). */
  tpm: boolean;
  secureBoot: boolean;
  /** Bounds for the wizard's fields: min from the OS, max from the host. */
  limits: {
    memoryMiB: { min: number; recommended: number; max: number };
    cpus: { min: number; recommended: number; max: number };
    diskGiB: { min: number; recommended: number; free: number | null };
  };
  /** Things the user should know before going on ("4 GiB is below Windows 11's minimum"). */
  warnings: string[];
  requirements: CatalogRequirement[];
  notes: string[];
}

/** The ISO 9660 primary volume descriptor and El Torito facts of an image. */
export interface IsoInfo {
  volumeId: string;
  /** The Joliet volume id when it differs (it may be longer and mixed case). */
  jolietVolumeId: string | null;
  systemId: string;
  volumeSetId: string;
  publisher: string;
  preparer: string;
  application: string;
  /** ISO 8601, from the descriptor's creation date; null when unset. */
  created: string | null;
  volumeBytes: number;
  elTorito: { bios: boolean; uefi: boolean; entries: number } | null;
}

export interface DetectionCandidate {
  os: string;
  name: string;
  version: string | null;
  versionName: string | null;
  arch: GuestArch | null;
  /** 'exact': the OS and a version it knows; 'family': the OS, version unknown or ambiguous;
   * 'none': nothing matched, the Generic profile. */
  confidence: 'exact' | 'family' | 'none';
  /** The field that matched, e.g. 'volume id "Debian 13.1.0 amd64 n"'. */
  reason: string;
}

export interface MediaDetection {
  file: string;
  sizeBytes: number;
  format: 'iso9660' | 'qcow2' | 'vmdk' | 'vdi' | 'vhdx' | 'unknown';
  iso: IsoInfo | null;
  /** Best first; never empty (the last resort is Generic with confidence 'none'). */
  candidates: DetectionCandidate[];
  best: DetectionCandidate;
}

export interface CachedMedia {
  sha256: string;
  /** The image to boot (extracted from its archive when it came in one). */
  file: string;
  filename: string;
  bytes: number;
  /** Where it was downloaded from; '' for an image uploaded from a browser (server mode). */
  url: string;
  os: string | null;
  version: string | null;
  mediaId: string | null;
  /** How it was checked: against a published SHA-256/512, a hash the user gave, or not at all. */
  verified: 'published' | 'user' | 'none';
  addedAt: string;
  /**
   * VMs whose CD-ROM holds this image now, by real path (a symlink to it counts), sorted by name;
   * they keep it busy: see `media.delete`.
   */
  usedBy: { id: string; name: string }[];
}

/**
 * A download that stopped before its end (cancelled, cut off, the app quit): it resumes where it
 * stopped when the same media (or URL) is downloaded again, or is discarded to free the space.
 */
export interface PartialDownload {
  /** Names it for `media.discardPartial`. */
  key: string;
  url: string;
  /** The file name the URL gives. */
  filename: string;
  bytes: number;
  /** The full size, when the server said. */
  total: number | null;
  /** The SHA-256 it is expected to have, when known (pass it back to `media.download`). */
  sha256: string | null;
  modifiedAt: string;
}

export interface MediaDownloadResult {
  file: string;
  sha256: string;
  bytes: number;
  /** Already in the cache: nothing was downloaded. */
  reused: boolean;
  media: CachedMedia;
}

/**
 * What server mode's `PUT /upload?name=FILE` (the body: the image, with a Content-Length)
 * answers: an image sent from the browser, stored in the media cache like a download (`reused`
 * when the cache already held the same bytes: no second copy), and what `media.detect` makes of
 * it. Errors answer with an {@link ApiErrorBody}.
 */
export interface MediaUploadResult extends MediaDownloadResult {
  detection: MediaDetection;
}

const Sha256Schema = z
  .string()
  .trim()
  .regex(/^[A-Fa-f0-9]{64}$/, 'A SHA-256 is 64 hex digits')
  .transform((s) => s.toLowerCase());

/** One mirror (URL template) of a media item, as `catalog.check` resolved and probed it. */
export interface CatalogCheckMirror {
  template: string;
  status: 'ok' | 'broken';
  /** broken: what failed, where (404, no checksum line for NAME in URL, DNS failure...). */
  reason: string | null;
  /** The image's concrete URL, once resolved. */
  url: string | null;
  file: string | null;
  /** The size the server gave for the image. */
  bytes: number | null;
  /** The checksum list holding the image's line, when the media has one. */
  checksumUrl: string | null;
}

/** One media item of a catalogue entry's version (or an entry without media, skipped). */
export interface CatalogCheckItem {
  os: string;
  osName: string;
  version: string | null;
  media: string | null;
  arch: GuestArch | null;
  /** ok: every mirror resolves and answers; broken: one does not; skipped: nothing to check. */
  status: 'ok' | 'broken' | 'skipped';
  /** broken: the first mirror's failure (all of them when several fail); skipped: why. */
  reason: string | null;
  /** Why the image cannot be verified after download, when the catalogue says so. */
  note: string | null;
  mirrors: CatalogCheckMirror[];
  ms: number;
}

export interface CatalogCheckReport {
  items: CatalogCheckItem[];
  counts: { ok: number; broken: number; skipped: number };
  seconds: number;
}

/** Either a catalogue entry's media (`os`, optionally `version`, `media`, `arch`) or a URL. */
export const MediaDownloadRequestSchema = z
  .object({
    os: z.string().min(1).max(200).optional(),
    version: z.string().min(1).max(100).optional(),
    media: z.string().min(1).max(100).optional(),
    arch: z.enum(GUEST_ARCHES).optional(),
    url: z.url({ protocol: /^https?$/, error: 'Give an http:// or https:// URL' }).optional(),
    sha256: Sha256Schema.optional(),
  })
  .refine((r) => (r.os === undefined) !== (r.url === undefined), {
    message: 'Give either an OS from the catalogue or a URL',
    path: ['os'],
  })
  .refine((r) => r.url !== undefined || r.sha256 === undefined, {
    message: 'A SHA-256 goes with a URL; catalogue media carry their own',
    path: ['sha256'],
  });

/** Every method: its request schema. Results are typed in {@link ApiResults}. */
export const methods = {
  'task.list': z.object({}),
  'task.get': z.object({ id: z.string().min(1) }),
  'task.cancel': z.object({ id: z.string().min(1) }),
  'host.info': z.object({ refresh: z.boolean().default(false) }),
  'vm.list': z.object({}),
  'vm.get': Ref,
  'vm.create': CreateVmRequestSchema,
  'vm.update': z.object({ vm: VmRefSchema, patch: VmPatchSchema }),
  'vm.delete': z.object({ vm: VmRefSchema, keepDisks: z.boolean().default(false) }),
  'vm.start': Ref,
  'vm.pause': Ref,
  'vm.resume': Ref,
  'vm.reset': Ref,
  /** ACPI power button; `timeoutMs` bounds the wait for the guest to power off. */
  'vm.shutdown': z.object({
    vm: VmRefSchema,
    timeoutMs: z.number().int().min(0).max(600_000).default(60_000),
  }),
  'vm.powerOff': Ref,
  'vm.screenshot': z.object({ vm: VmRefSchema, file: AbsolutePathSchema.optional() }),
  'vm.sendKeys': z.object({
    vm: VmRefSchema,
    keys: z
      .array(z.string().regex(/^[a-z0-9_]+$/))
      .min(1)
      .max(10),
  }),
  'vm.openStream': z.object({ vm: VmRefSchema, kind: z.enum(STREAM_KINDS) }),
  'vm.log': z.object({
    vm: VmRefSchema,
    kind: z.enum(['serial', 'qemu', 'events']),
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
  }),
  // Storage and snapshots (issue 4)
  'snapshot.list': z.object({ vm: VmRefSchema }),
  /** Live when the VM runs or is paused, disk-only when it is off. Returns a task. */
  'snapshot.create': z.object({
    vm: VmRefSchema,
    name: SnapshotNameSchema,
    description: SnapshotDescriptionSchema.default(''),
  }),
  /** Unsaved state since the current position is lost (the UI warns first). Returns a task. */
  'snapshot.revert': z.object({ vm: VmRefSchema, snapshot: SnapshotRefSchema }),
  /** Its children move to its parent; a 'missing' one is only removed from the tree. A task. */
  'snapshot.delete': z.object({ vm: VmRefSchema, snapshot: SnapshotRefSchema }),
  'snapshot.update': z.object({
    vm: VmRefSchema,
    snapshot: SnapshotRefSchema,
    name: SnapshotNameSchema.optional(),
    description: SnapshotDescriptionSchema.optional(),
  }),
  'snapshot.thumbnail': z.object({ vm: VmRefSchema, snapshot: SnapshotRefSchema }),
  'disk.list': z.object({ vm: VmRefSchema }),
  /** A new thin qcow2 of `size`, or an existing image `file` used where it is. VM off. */
  'disk.add': z
    .object({
      vm: VmRefSchema,
      size: SizeSchema.optional(),
      file: AbsolutePathSchema.optional(),
      bus: z.enum(DISK_BUSES).optional(),
      readOnly: z.boolean().default(false),
    })
    .refine((r) => (r.size === undefined) !== (r.file === undefined), {
      message: 'Give either a size for a new disk or the file of an existing one',
      path: ['size'],
    }),
  /** VM off. `deleteFile` removes the image too when it lives in the VM's folder. */
  'disk.detach': z.object({
    vm: VmRefSchema,
    disk: DiskRefSchema,
    deleteFile: z.boolean().default(false),
  }),
  /** VM off. Grows; shrinking needs `shrink` (shrink the guest's filesystems first). */
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
  }),
  'disk.check': z.object({
    vm: VmRefSchema,
    disk: DiskRefSchema.optional(),
    /** Repairs need the VM off. */
    repair: z.enum(['none', 'leaks', 'all']).default('none'),
  }),
  /** The VM must be off. Linked: overlays on its frozen disks (instant); full: a copy. A task. */
  'vm.clone': z.object({ vm: VmRefSchema, name: VmNameSchema, linked: z.boolean().default(false) }),
  // Catalogue and downloads (issue 5)
  /** Summaries, curated first; `query` matches names, ids, aliases and versions. */
  'catalog.list': z.object({
    query: z.string().max(200).optional(),
    family: z.enum(OS_FAMILIES).optional(),
    includeOsinfo: z.boolean().default(true),
  }),
  'catalog.get': z.object({ id: z.string().min(1).max(200) }),
  /** The profile of `os` on this host: what `vm.create` with that `os` would use. */
  'catalog.defaults': z.object({
    os: z.string().min(1).max(200),
    version: z.string().min(1).max(100).optional(),
  }),
  /** Reads a local image's ISO 9660 descriptors and matches them to the catalogue. */
  'media.detect': z.object({ file: AbsolutePathSchema }),
  /** Downloads (or finds in the cache) and verifies install media. Returns a task. */
  'media.download': MediaDownloadRequestSchema,
  'media.list': z.object({}),
  /**
   * Deletes a cached image. One that is in a VM's CD-ROM is refused (BAD_STATE, naming the VMs)
   * unless `eject`: then it is ejected from those VMs first, which must be stopped.
   */
  'media.delete': z.object({ sha256: Sha256Schema, eject: z.boolean().default(false) }),
  /**
   * Downloads that stopped before their end, newest first. One being written now (by this or
   * another Vivarium process on the same data folder) is left out.
   */
  'media.partials': z.object({}),
  /** Deletes a partial download: NOT_FOUND for an unknown key, BAD_STATE while it downloads. */
  'media.discardPartial': z.object({ key: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/) }),
  /**
   * For maintainers: resolves every media of the named entries (default: the curated and extra
   * ones) as a download would and checks, without downloading an image, that it is there. A task
   * (progress: media checked so far; cancellable) whose result is a CatalogCheckReport; an unknown
   * OS fails the call itself.
   */
  'catalog.check': z.object({
    os: z.array(z.string().min(1).max(200)).max(200).default([]),
    /** Per request, in seconds. */
    timeoutSeconds: z.number().positive().max(600).default(15),
    concurrency: z.number().int().min(1).max(16).default(4),
  }),
} as const;

export type Method = keyof typeof methods;
export type Params<M extends Method> = z.input<(typeof methods)[M]>;
export type ParsedParams<M extends Method> = z.output<(typeof methods)[M]>;

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}

// ---------------------------------------------------------------------------------------------
// Results

export interface QemuBinary {
  arch: string;
  path: string;
  version: string;
}

export interface AcceleratorReport {
  name: Accelerator;
  /** Compiled into QEMU and the host interface exists (e.g. /dev/kvm). */
  present: boolean;
  /** A probe guest actually ran under it. */
  usable: boolean;
  /** Why it is not usable, in words a user can act on. */
  reason?: string;
}

export interface HostInfo {
  platform: NodePlatform;
  arch: string;
  cpus: number;
  totalMemoryMiB: number;
  freeDiskBytes: number | null;
  dataDir: string;
  qemu: { binaries: QemuBinary[]; img: { path: string; version: string } | null };
  /** Non-null when QEMU cannot be used at all; says how to install it. */
  qemuMissing: string | null;
  accelerators: AcceleratorReport[];
  /** What `accel: 'auto'` resolves to. */
  bestAccelerator: Accelerator;
  /** Notices for the user, e.g. "KVM is present but a test guest hung: using TCG". */
  notices: string[];
  firmware: {
    seabios: string | null;
    ovmfCode: string | null;
    ovmfVars: string | null;
    /** OVMF's Secure Boot build (SMM) and its vars template with Microsoft's keys enrolled. */
    ovmfSecureBootCode?: string | null;
    ovmfSecureBootVars?: string | null;
  };
  /** swtpm, which emulates a VM's TPM 2.0; null when not installed. */
  swtpm?: string | null;
}

export type NodePlatform = 'linux' | 'darwin' | 'win32' | 'freebsd' | 'openbsd' | 'other';

export interface VmRuntime {
  state: VmState;
  pid: number | null;
  accel: Accelerator | null;
  /** ISO time at which the guest started running. */
  startedAt: string | null;
  /** Why the accelerator was chosen, e.g. the broken-KVM fallback. */
  accelNotice: string | null;
  /** For `crashed`: how QEMU ended and the tail of its stderr. */
  lastExit: { code: number | null; signal: string | null; stderrTail: string } | null;
  /** Shown in the UI when an operation failed or needs a decision. */
  lastError: string | null;
}

export interface VmSummary {
  id: string;
  name: string;
  config: VmConfig;
  runtime: VmRuntime;
  /** The VM's folder on disk. */
  dir: string;
}

export interface ShutdownResult {
  stopped: boolean;
  /** Set when the guest ignored the power button within the timeout. */
  reason?: string;
  /** The user may force a power-off. */
  canForce: boolean;
}

export interface StreamTicket {
  kind: StreamKind;
  /** Path on the stream server, e.g. /stream/<token>; a front door adds the origin. */
  path: string;
  /** A full ws:// URL when the front door knows it (Electron); browsers use their origin. */
  url: string | null;
  /** Serial and monitor streams first replay what the guest printed before. */
  replay: boolean;
}

export interface ScreenshotResult {
  file: string;
  /** PNG bytes as base64 when no file was asked for (thumbnails). */
  pngBase64: string | null;
  width: number;
  height: number;
}

export interface ApiResults {
  'task.list': TaskInfo[];
  'task.get': TaskInfo;
  'task.cancel': TaskInfo;
  'host.info': HostInfo;
  'vm.list': VmSummary[];
  'vm.get': VmSummary;
  'vm.create': VmSummary;
  'vm.update': VmSummary;
  'vm.delete': { deleted: true; keptFiles: string[] };
  'vm.start': VmSummary;
  'vm.pause': VmSummary;
  'vm.resume': VmSummary;
  'vm.reset': VmSummary;
  'vm.shutdown': ShutdownResult;
  'vm.powerOff': VmSummary;
  'vm.screenshot': ScreenshotResult;
  'vm.sendKeys': { sent: number };
  'vm.openStream': StreamTicket;
  'vm.log': { text: string; truncated: boolean; file: string };
  // Storage and snapshots (issue 4)
  'snapshot.list': SnapshotList;
  'snapshot.create': TaskInfo;
  'snapshot.revert': TaskInfo;
  'snapshot.delete': TaskInfo;
  'snapshot.update': SnapshotNode;
  'snapshot.thumbnail': SnapshotThumbnail;
  'disk.list': VmStorage;
  'disk.add': VmSummary;
  'disk.detach': VmSummary;
  'disk.resize': DiskInfo;
  'disk.import': TaskInfo;
  'disk.check': DiskCheckReport[];
  'vm.clone': TaskInfo;
  // Catalogue and downloads (issue 5)
  'catalog.list': CatalogSummary[];
  'catalog.get': CatalogEntry;
  'catalog.defaults': CreateDefaults;
  'media.detect': MediaDetection;
  'media.download': TaskInfo;
  'media.list': CachedMedia[];
  'media.delete': { deleted: boolean; file: string | null; ejectedFrom: string[] };
  'media.partials': PartialDownload[];
  'media.discardPartial': { discarded: boolean; bytes: number };
  'catalog.check': TaskInfo;
}

// ---------------------------------------------------------------------------------------------
// Events

export type ApiEvent =
  | { type: 'vm.state'; vm: VmSummary }
  | { type: 'vm.added'; vm: VmSummary }
  | { type: 'vm.removed'; id: string }
  | { type: 'host.notice'; message: string }
  | { type: 'task'; task: TaskInfo };

// ---------------------------------------------------------------------------------------------
// Errors

export const ERROR_CODES = [
  'INVALID_REQUEST',
  'NOT_FOUND',
  'NAME_TAKEN',
  'BAD_STATE',
  'FILE_NOT_FOUND',
  'FILE_UNREADABLE',
  'QEMU_MISSING',
  'QEMU_FAILED',
  'QMP_ERROR',
  'TIMEOUT',
  'RESOURCE_LIMIT',
  'CANCELLED',
  'CHECKSUM_MISMATCH',
  'NETWORK',
  'DISK_FULL',
  'UNAUTHORIZED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** What crosses a boundary when a call fails. */
export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  /** Field-level messages for forms, keyed by dotted path. */
  fields?: Record<string, string>;
}

/** The one interface every front door offers the renderer and the CLI. */
export interface VivariumApi {
  call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC framing for the WebSocket front door

export const RpcRequestSchema = z.object({
  id: z.number().int(),
  method: z.string(),
  params: z.unknown(),
});
export type RpcRequest = z.infer<typeof RpcRequestSchema>;

export type RpcMessage =
  { id: number; result: unknown } | { id: number; error: ApiErrorBody } | { event: ApiEvent };

/** The IPC channel names the preload bridge and the main process share. */
export const IPC = { call: 'vivarium:call', event: 'vivarium:event' } as const;

/** What the main process answers over IPC: errors keep their code instead of Electron's text. */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody };

/** What the preload exposes as `window.vivarium`. */
export interface PreloadBridge {
  call(method: string, params: unknown): Promise<IpcReply>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /**
   * Where a dropped or chosen File lives on disk (Electron's webUtils); '' when it has no path.
   * Typed `object` because common/ knows no DOM; the preload and the renderer pass a File.
   */
  pathForFile(file: object): string;
}
