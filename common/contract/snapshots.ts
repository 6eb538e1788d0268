/**
 * Snapshots: a tree per VM, live (memory and devices too) or disk-only.
 *
 * Create, revert and delete return a TaskInfo at once; the finished task's `result` is typed in
 * {@link SnapshotTaskResults} by task kind (= method name). A Timeline view refreshes
 * `snapshot.list` when a task of kind 'snapshot.*' for its VM ends.
 */
import { z } from 'zod';
import type { VmState } from '../vm-state';
import type { TaskInfo } from './tasks';
import { VmRefSchema } from './vm-config';

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
  /** The guest agent froze the filesystems while it was taken: its disks are consistent alone. */
  quiesced: boolean;
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

/** `task.result` of finished snapshot tasks, by task kind. */
export interface SnapshotTaskResults {
  'snapshot.create': SnapshotNode;
  'snapshot.revert': SnapshotRevertResult;
  'snapshot.delete': SnapshotDeleteResult;
}

export const snapshotMethods = {
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
} as const;

export interface SnapshotResults {
  'snapshot.list': SnapshotList;
  'snapshot.create': TaskInfo;
  'snapshot.revert': TaskInfo;
  'snapshot.delete': TaskInfo;
  'snapshot.update': SnapshotNode;
  'snapshot.thumbnail': SnapshotThumbnail;
}
