/**
 * Live migration: a running VM moves to another Vivarium (`vivarium serve` on the other computer,
 * reached at the URL it printed, token included) while its guest keeps running.
 *
 * What the user calls (the Migrate dialog, `vivarium migrate`):
 * - `migration.check {vm, to}` -> {@link MigrationCheck}: whether it can start, and why not (each
 *   reason a sentence the dialog lists), with a free name to offer when the name is taken there.
 * - `migration.start {vm, to, name?, deleteSource?}` -> TaskInfo at once (kind 'migration.start').
 *   While it runs, the task's `detail` is a {@link MigrationProgress} (phase, disk and memory
 *   transferred and remaining, dirty rate, expected downtime), `bytesDone`/`bytesTotal` count
 *   disk and memory together, and `message` says the phase in words. The finished task's
 *   `result` is a {@link MigrationResult}. `task.cancel` stops it at any point: the source keeps
 *   running untouched and the destination removes what it had prepared.
 *
 * What the source engine calls on the destination (over its token-guarded WebSocket RPC; a UI
 * never calls these): `migration.incomingCheck`, `migration.prepareIncoming`,
 * `migration.renewIncoming`, `migration.finishIncoming`, `migration.abortIncoming`. The PSK that
 * encrypts and authenticates the memory and disk streams (QEMU TLS-PSK) is made by the source for
 * this one migration and handed over in `prepareIncoming`; no stream runs without it.
 */
import { z } from 'zod';
import type { TaskInfo } from './tasks';
import type { VmSummary } from './vm';
import { StoredVmNameSchema, VmIdSchema, VmNameSchema, VmRefSchema } from './vm-config';

/**
 * A destination as `vivarium serve` prints it: `http://HOST:PORT/#token=TOKEN` (the token may
 * also be given as `?token=TOKEN`).
 */
export const MigrationUrlSchema = z
  .string()
  .trim()
  .min(1, 'Give the destination URL that `vivarium serve` printed there')
  .refine((s) => /^https?:\/\//i.test(s), 'The destination URL starts with http://')
  .refine(
    (s) => /[#?&]token=[^&#]+/.test(s),
    'The destination URL needs its token (…/#token=…, as `vivarium serve` printed it)',
  );

/** The phases of a migration, in order. */
export const MIGRATION_PHASES = ['prepare', 'disks', 'memory', 'switchover'] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/** Bytes of one stream (the disks together, or the memory). */
export interface MigrationBytes {
  /** Sent so far: for memory this is not `total - remaining` (zero pages cost nearly nothing,
   * pages the guest dirties again are sent again). */
  transferred: number;
  /** Still to copy. */
  remaining: number;
  total: number;
}

/** `task.detail` of a running 'migration.start' task. */
export interface MigrationProgress {
  /** 'prepare': the destination makes the VM; 'disks': the disks are copied while the guest
   * runs; 'memory': the memory is copied while the guest runs; 'switchover': the guest is paused
   * for the last pages and devices, then runs on the destination. */
  phase: MigrationPhase;
  disk: MigrationBytes;
  /** Null until the memory phase starts. */
  ram: MigrationBytes | null;
  /** Memory the guest dirties, bytes per second (null when QEMU has not measured it yet). */
  dirtyBytesPerSecond: number | null;
  /** QEMU's estimate of the pause the switch-over will cost, in ms (null before the memory phase). */
  expectedDowntimeMs: number | null;
  /** Memory passes so far (1 = the first full copy). */
  iterations: number;
}

/** `task.result` of a finished 'migration.start' task. */
export interface MigrationResult {
  /** The VM's id on the destination (ids are per library: it differs from the source's). */
  vmId: string;
  /** Its name there. */
  name: string;
  /** The guest's pause as the source saw it: from its stop to the destination's `cont` answered. */
  downtimeMs: number;
  /** From the start of the task to the VM running on the destination. */
  totalMs: number;
  /** Disk and memory bytes sent. */
  transferredBytes: number;
  /** QEMU's own downtime figure (the memory switch-over alone). */
  qemuDowntimeMs: number | null;
  /** The source's folder, kept out of the library (null when `deleteSource` removed it). */
  sourceFolder: string | null;
}

/** Whether a migration can start, and why not. */
export interface MigrationCheck {
  ok: boolean;
  /** Sentences saying what blocks it and what to do (empty when ok). */
  reasons: string[];
  /** What may go wrong but does not block it (e.g. CPU model `max` under KVM). */
  warnings: string[];
  /** The name the VM would get there (the requested one, or the VM's own). */
  name: string;
  /** When `name` is taken on the destination: a free one to offer instead. */
  suggestedName: string | null;
  /** Bytes the disks need on the destination and what it has free (null when unknown). */
  diskBytes: number;
  destinationFreeBytes: number | null;
  /** The destination's QEMU version, for the dialog (null when it could not be asked). */
  destination: { qemuVersion: string | null } | null;
}

/** A disk the destination must make empty before the copy: its id and virtual size. */
export const IncomingDiskSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{0,23}$/),
  virtualSize: z
    .number()
    .int()
    .min(0)
    .max(2 ** 53),
  /** Bytes it holds on the source (its whole backing chain): what the copy will write. */
  allocated: z
    .number()
    .int()
    .min(0)
    .max(2 ** 53),
});
export type IncomingDisk = z.infer<typeof IncomingDiskSchema>;

/** What the destination is asked about (check) or to prepare. */
const IncomingBase = z.object({
  /** The VM's config as the source holds it (VmConfig; validated again there). */
  config: z.record(z.string(), z.unknown()),
  /** Every block node to copy: the disks, and 'fw-vars' (UEFI variables) on UEFI VMs. */
  disks: z.array(IncomingDiskSchema).max(16),
  name: StoredVmNameSchema,
  /** The versioned machine type the source runs (e.g. pc-q35-7.2): the destination needs it. */
  machineType: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  /**
   * Small files of the VM's folder that are not block devices the guest writes (the cloud-init
   * seed, the SSH key Vivarium made): path relative to the folder, content in base64.
   */
  files: z
    .array(
      z.object({
        path: z
          .string()
          .regex(/^(?!\.)[A-Za-z0-9_.-]+(\/(?!\.)[A-Za-z0-9_.-]+)*$/, 'A relative path'),
        base64: z.string().max(700_000),
      }),
    )
    .max(16)
    .default([]),
});

/** `migration.incomingCheck`'s answer: the destination's refusals. */
export interface IncomingCheck {
  reasons: string[];
  suggestedName: string | null;
  freeBytes: number | null;
  qemuVersion: string | null;
}

/** `migration.prepareIncoming`'s answer: where the source sends memory and disks. */
export interface IncomingPlan {
  vmId: string;
  /** Host the two ports listen on (the address the source reached the server by). */
  host: string;
  migratePort: number;
  nbdPort: number;
  /** NBD export name per disk id. */
  exports: Record<string, string>;
}

export const migrationMethods = {
  'migration.check': z.object({
    vm: VmRefSchema,
    to: MigrationUrlSchema,
    name: VmNameSchema.optional(),
  }),
  'migration.start': z.object({
    vm: VmRefSchema,
    to: MigrationUrlSchema,
    name: VmNameSchema.optional(),
    /** Remove the source's folder once the VM runs on the destination (default: keep it). */
    deleteSource: z.boolean().default(false),
  }),
  // --- Called by a source engine on this (the destination) one. ---
  'migration.incomingCheck': IncomingBase,
  'migration.prepareIncoming': IncomingBase.extend({
    /** The TLS-PSK key for this migration, hex (QEMU's keys.psk format `qemu:<hex>`). */
    psk: z.string().regex(/^[0-9a-f]{32,128}$/, 'The PSK is hex'),
    /** The address the source reached this server by: the ports listen there. */
    host: z.string().min(1).max(255),
    /** The destination gives up (and removes the VM) when no call renews it for this long. */
    leaseMs: z.number().int().min(1000).max(600_000).default(30_000),
  }),
  'migration.renewIncoming': z.object({ vmId: VmIdSchema }),
  /** After the source's memory copy completed and its mirrors were cancelled: stop NBD, run
   * (or stay paused when the source was paused). */
  'migration.finishIncoming': z.object({ vmId: VmIdSchema, resume: z.boolean().default(true) }),
  'migration.abortIncoming': z.object({ vmId: VmIdSchema }),
} as const;

export interface MigrationResults {
  'migration.check': MigrationCheck;
  'migration.start': TaskInfo;
  'migration.incomingCheck': IncomingCheck;
  'migration.prepareIncoming': IncomingPlan;
  'migration.renewIncoming': { ok: true };
  'migration.finishIncoming': VmSummary;
  'migration.abortIncoming': { removed: boolean };
}

/** `task.result` of finished migration tasks, by task kind. */
export interface MigrationTaskResults {
  'migration.start': MigrationResult;
}
