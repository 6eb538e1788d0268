/**
 * The Vivarium API contract: every request, result and event shape shared by the engine, the
 * Electron IPC adapter, the WebSocket server, the CLI and the renderer. Runtime code here is
 * limited to the zod schemas that validate requests at each boundary.
 */
import { z } from 'zod';

export const CONFIG_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Vocabulary

export const VM_STATES = [
  'stopped',
  'starting',
  'running',
  'pausing',
  'paused',
  'resuming',
  'saving',
  'restoring',
  'stopping',
  'crashed',
] as const;
export type VmState = (typeof VM_STATES)[number];

export const MACHINE_TYPES = ['q35', 'pc'] as const;
export const FIRMWARES = ['bios', 'uefi'] as const;
export const DISK_BUSES = ['virtio', 'sata', 'ide'] as const;
export const DISK_FORMATS = ['qcow2', 'raw'] as const;
export const NIC_MODELS = ['virtio-net-pci', 'e1000', 'rtl8139', 'ne2k_pci', 'pcnet'] as const;
export const VIDEO_MODELS = ['std', 'virtio', 'cirrus', 'none'] as const;
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
  .min(16, 'Give the VM at least 16 MiB of memory')
  .max(1024 * 1024, 'That is more memory than QEMU can give');

export const CpuCountSchema = z
  .number()
  .int()
  .min(1, 'A VM needs at least one CPU')
  .max(64, 'At most 64 CPUs');

export const DiskSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9]{0,15}$/, 'Disk ids are short lowercase words'),
  /** Relative paths live in the VM's folder; absolute ones are the user's own files. */
  file: z.string().min(1).refine((p) => !p.includes('\0')),
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
    .object({ model: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('max'), count: CpuCountSchema })
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
    os: z.string().min(1).default('generic'),
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
    usbTablet: z.boolean(),
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
  firmware: { seabios: string | null; ovmfCode: string | null; ovmfVars: string | null };
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
  | { id: number; result: unknown }
  | { id: number; error: ApiErrorBody }
  | { event: ApiEvent };

/** The IPC channel names the preload bridge and the main process share. */
export const IPC = { call: 'vivarium:call', event: 'vivarium:event' } as const;

/** What the main process answers over IPC: errors keep their code instead of Electron's text. */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody };

/** What the preload exposes as `window.vivarium`. */
export interface PreloadBridge {
  call(method: string, params: unknown): Promise<IpcReply>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
}
