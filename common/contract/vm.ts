/** VMs: create, read, change, delete and the power lifecycle. */
import { z } from 'zod';
import { hostnameProblem, publicKeyProblem, userNameProblem } from '../rules/cloud-guest';
import { parseAttachment } from '../rules/networks';
import type { VmState } from '../vm-state';
import type { TaskInfo } from './tasks';
import {
  ACCELERATORS,
  AbsolutePathSchema,
  BOOT_DEVICES,
  CpuCountSchema,
  DISK_BUSES,
  FIRMWARES,
  KernelBootSchema,
  MACHINE_TYPES,
  MemoryMiBSchema,
  NIC_MODELS,
  SOUND_MODELS,
  SizeSchema,
  VIDEO_MODELS,
  VM_ARCHES,
  VmNameSchema,
  VmRefSchema,
  type Accelerator,
  type VmConfig,
} from './vm-config';

export { VM_STATES, type VmState } from '../vm-state';

function rule(problem: (value: string) => string | null) {
  return (value: string, ctx: z.RefinementCtx): void => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  };
}

/**
 * A ready-to-use guest from a cloud image: its system disk is made from `image` (a thin overlay
 * or a copy, grown to `diskSize`) and its first boot is configured by a NoCloud seed.
 */
export const CloudCreateSchema = z.object({
  /** A local cloud image (qcow2 or raw): a cached catalogue download or the user's own file. */
  image: AbsolutePathSchema,
  user: z.string().trim().superRefine(rule(userNameProblem)),
  /** OpenSSH public key lines (a .pub file's). Vivarium also makes a key of its own for the VM. */
  sshKeys: z
    .array(z.string().trim().superRefine(rule(publicKeyProblem)))
    .max(32)
    .default([]),
  password: z.string().min(1).max(512).optional(),
  /** Default: from the VM's name. */
  hostname: z.string().trim().superRefine(rule(hostnameProblem)).optional(),
  /** Default: the host's. */
  timezone: z
    .string()
    .regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, 'A time zone looks like Europe/Paris or UTC')
    .optional(),
  locale: z
    .string()
    .regex(
      /^[A-Za-z]{2,3}(_[A-Z]{2})?(\.[A-Za-z0-9-]+)?(@\w+)?$/,
      'A locale looks like en_US.UTF-8',
    )
    .optional(),
  keyboard: z
    .object({
      layout: z.string().regex(/^[a-z]{2,12}$/, 'A keyboard layout looks like us or de'),
      variant: z
        .string()
        .regex(/^[a-z0-9_-]{0,32}$/)
        .optional(),
    })
    .optional(),
  diskMode: z.enum(['overlay', 'copy']).default('overlay'),
});
export type CloudCreate = z.input<typeof CloudCreateSchema>;

// ---------------------------------------------------------------------------------------------
// Requests

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
    /**
     * The guest's architecture (default x86_64): its preset (common/arch.ts) fills machine,
     * firmware, display, buses and CPU the request leaves out, and refuses what it lacks.
     */
    arch: z.enum(VM_ARCHES).optional(),
    machine: z.enum(MACHINE_TYPES).optional(),
    firmware: z.enum(FIRMWARES).optional(),
    diskBus: z.enum(DISK_BUSES).optional(),
    nicModel: z.enum(NIC_MODELS).optional(),
    /** The first card's cable: `nat` (default), `network:NAME`, `bridge:BR` or `none` (no card). */
    network: z
      .string()
      .transform((spec, ctx) => {
        const parsed = parseAttachment(spec);
        if (!parsed.ok) {
          ctx.addIssue({ code: 'custom', message: parsed.message });
          return z.NEVER;
        }
        return parsed.value;
      })
      .optional(),
    /** false: the guest reaches only this computer (through its forwards), not the internet. */
    internet: z.boolean().optional(),
    video: z.enum(VIDEO_MODELS).optional(),
    sound: z.enum(SOUND_MODELS).optional(),
    usbTablet: z.boolean().optional(),
    /** A TPM 2.0 (needs swtpm on the host). */
    tpm: z.boolean().optional(),
    /** UEFI Secure Boot with Microsoft's keys enrolled (needs firmware 'uefi' and machine 'q35'). */
    secureBoot: z.boolean().optional(),
    accel: z.enum(['auto', ...ACCELERATORS]).optional(),
    notes: z.string().max(10_000).optional(),
    /** Make the VM from a cloud image, ready to ssh into (instead of installing from an ISO). */
    cloud: CloudCreateSchema.optional(),
    /** A channel for the QEMU guest agent; default: on for cloud images and Linux guests. */
    guestAgent: z.boolean().optional(),
    /** A memory balloon; default: on unless the guest OS has no driver for it (DOS). */
    balloon: z.boolean().optional(),
  })
  .refine((r) => !(r.initrd && !r.kernel), {
    message: 'An initrd needs a kernel (--kernel)',
    path: ['initrd'],
  })
  .refine((r) => !(r.cloud && (r.iso || r.kernel)), {
    message: 'A VM from a cloud image boots its disk: leave out the ISO and the kernel',
    path: ['cloud'],
  })
  .refine((r) => !(r.cloud && r.network?.kind === 'none'), {
    message: 'A ready-to-use guest is reached over SSH: it needs a network',
    path: ['network'],
  });
export type CreateVmRequest = z.input<typeof CreateVmRequestSchema>;

/** Fields a user may change; the engine refuses those that need the VM stopped while it runs. */
export const VmPatchSchema = z
  .object({
    name: VmNameSchema,
    notes: z.string().max(10_000),
    confirmDestructive: z.boolean(),
    memoryMiB: MemoryMiBSchema,
    cpuCount: CpuCountSchema,
    cpuModel: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    /**
     * A stopped VM only. What the new architecture's preset lacks (machine, firmware, display,
     * sound, disk buses, card models, CPU model) moves to the preset's choice unless the patch
     * gives it; the UEFI variable store is made anew for the new firmware.
     */
    arch: z.enum(VM_ARCHES),
    machine: z.enum(MACHINE_TYPES),
    firmware: z.enum(FIRMWARES),
    cdrom: AbsolutePathSchema.nullable(),
    bootOrder: z.array(z.enum(BOOT_DEVICES)).min(1),
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
    /** The memory balloon device (from the next start). */
    balloon: z.boolean(),
  })
  .partial();
export type VmPatch = z.input<typeof VmPatchSchema>;

const Ref = z.object({ vm: VmRefSchema });

// ---------------------------------------------------------------------------------------------
// Results

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
  /**
   * For `saved`: ISO time the memory and device state were saved to disk (the UI's "Saved 2 min
   * ago"); null in every other state.
   */
  savedAt: string | null;
}

/** How to reach a ready guest over SSH (through its forward on the host). */
export interface GuestSsh {
  user: string;
  host: string;
  port: number;
  /** What a person types: `ssh -p 2222 user@127.0.0.1` (with -i when only Vivarium's key fits). */
  command: string;
  /** The whole argv for `ssh`, with Vivarium's key and the VM's own known_hosts file. */
  argv: string[];
}

/** What the guest agent says about the guest. */
export interface GuestInterfaceFacts {
  name: string;
  /** Lower case with colons, as the card's config has it; null when the agent did not say. */
  mac: string | null;
  addresses: string[];
}

export interface GuestAgentInfo {
  os: {
    name: string;
    version: string | null;
    prettyName: string | null;
    kernel: string | null;
  } | null;
  hostname: string | null;
  /** Non-loopback, non-link-local addresses, IPv4 first. */
  addresses: string[];
  /**
   * The same addresses per guest interface with its MAC, so each network card shows its own
   * (absent in what older versions saved).
   */
  interfaces?: GuestInterfaceFacts[];
  /** ISO time of the agent's last answer. */
  seenAt: string;
}

/** The guest as seen from outside since this start: reachable, and what its agent reports. */
export interface GuestStatus {
  /** SSH answered (or the guest agent did) since the VM last started. */
  ready: boolean;
  readyAt: string | null;
  /** From the start to ready. */
  readySeconds: number | null;
  via: 'ssh' | 'agent' | null;
  /** Null when the VM has no SSH forward. */
  ssh: GuestSsh | null;
  /** Null until the agent answered (or when the VM has no agent channel). */
  agent: GuestAgentInfo | null;
}

export interface VmSummary {
  id: string;
  name: string;
  config: VmConfig;
  runtime: VmRuntime;
  /** The VM's folder on disk. */
  dir: string;
  /** For VMs with an SSH forward or a guest agent channel; null otherwise. */
  guest: GuestStatus | null;
}

export interface ShutdownResult {
  stopped: boolean;
  /** Set when the guest ignored the power button within the timeout. */
  reason?: string;
  /** The user may force a power-off. */
  canForce: boolean;
  /** How the guest was asked: its guest agent, or the ACPI power button. */
  via?: 'agent' | 'acpi';
}

export const vmMethods = {
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
  /**
   * Suspend to disk: memory and device state go to a file in the VM's folder, then QEMU ends and
   * the VM is `saved`. Returns a task at once (kind 'vm.suspend'; `task` events carry bytes
   * done/total; cancellable: the VM keeps running). Refused, naming the device, when something in
   * the VM cannot be saved (e.g. the clipboard channel). The task's result is the VmSummary.
   * `vm.start` on a saved VM resumes it and removes the file once the guest runs.
   */
  'vm.suspend': Ref,
  /** Deletes a saved VM's saved state: its next start boots fresh. Refused while QEMU runs. */
  'vm.discardState': Ref,
} as const;

export interface VmResults {
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
  'vm.suspend': TaskInfo;
  'vm.discardState': VmSummary;
}

/** `task.result` of finished VM tasks, by task kind. */
export interface VmTaskResults {
  'vm.suspend': VmSummary;
}
