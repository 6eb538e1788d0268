/**
 * The snapshot tree as stored in a VM's snapshots.json, and the pure operations on it: add,
 * remove (children move up to the parent), resolve a user's reference, reconcile with what the
 * images really hold, and present it to the UI. The images are the truth about which snapshots
 * exist; the tree adds what they cannot hold: names, descriptions, parents and "you are here".
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type {
  SnapshotList,
  SnapshotNode,
  Verdict,
  VmConfig,
  VmState,
} from '../../../common/contract';
import { VivariumError } from '../errors';
import type { ImageSnapshot } from '../storage/qemu-img';
import { canDelete, canRevert, canSnapshot } from './rules';

export const StoredSnapshotSchema = z.object({
  id: z.string().min(1),
  tag: z.string().min(1),
  name: z.string(),
  description: z.string().default(''),
  createdAt: z.string(),
  parent: z.string().nullable(),
  kind: z.enum(['live', 'disk']),
  vmStateSize: z.number().nullable().default(null),
  /** The node that holds the memory (live snapshots). */
  vmstate: z.string().nullable().default(null),
  devices: z.array(z.string()).default([]),
  /** File name in the VM's thumbnails/ folder. */
  thumbnail: z.string().nullable().default(null),
  external: z.boolean().default(false),
  status: z.enum(['ok', 'missing', 'partial']).default('ok'),
  /** The guest agent froze the guest's filesystems for it: its disks are consistent on their own. */
  quiesced: z.boolean().default(false),
});
export type StoredSnapshot = z.infer<typeof StoredSnapshotSchema>;

export const SnapshotIndexSchema = z.object({
  version: z.literal(1),
  current: z.string().nullable(),
  snapshots: z.array(StoredSnapshotSchema),
});
export type SnapshotIndex = z.infer<typeof SnapshotIndexSchema>;

export function emptyIndex(): SnapshotIndex {
  return { version: 1, current: null, snapshots: [] };
}

export function findById(index: SnapshotIndex, id: string): StoredSnapshot | undefined {
  return index.snapshots.find((s) => s.id === id);
}

/** By id, then tag, then name (exact, then case-insensitive). */
export function resolveSnapshot(index: SnapshotIndex, ref: string): StoredSnapshot {
  const r = ref.trim();
  const byId = index.snapshots.find((s) => s.id === r) ?? index.snapshots.find((s) => s.tag === r);
  if (byId) return byId;
  for (const match of [
    (s: StoredSnapshot) => s.name === r,
    (s: StoredSnapshot) => s.name.toLocaleLowerCase() === r.toLocaleLowerCase(),
  ]) {
    const found = index.snapshots.filter(match);
    if (found.length === 1 && found[0]) return found[0];
    if (found.length > 1) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${found.length} snapshots are called "${ref}": use one of their ids (${found.map((s) => s.id).join(', ')}).`,
      );
    }
  }
  throw new VivariumError('NOT_FOUND', `There is no snapshot "${ref}" on this VM.`);
}

/** Names are unique per VM (case-insensitive), so a name is enough on the command line. */
export function assertSnapshotNameFree(
  index: SnapshotIndex,
  name: string,
  exceptId?: string,
): void {
  const folded = name.trim().toLocaleLowerCase();
  const clash = index.snapshots.find(
    (s) => s.id !== exceptId && s.name.toLocaleLowerCase() === folded,
  );
  if (clash) {
    throw new VivariumError(
      'NAME_TAKEN',
      `A snapshot called "${clash.name}" already exists on this VM: pick another name.`,
      {
        name: 'This name is taken',
      },
    );
  }
}

/** Adds a snapshot under the current position and moves "you are here" to it. */
export function addSnapshot(
  index: SnapshotIndex,
  snap: Omit<StoredSnapshot, 'parent'>,
): SnapshotIndex {
  const parent = index.current && findById(index, index.current) ? index.current : null;
  return { ...index, current: snap.id, snapshots: [...index.snapshots, { ...snap, parent }] };
}

/** Removes a snapshot; its children hang from its parent; "you are here" moves up if it was there. */
export function removeSnapshot(
  index: SnapshotIndex,
  id: string,
): { index: SnapshotIndex; reparented: string[] } {
  const gone = findById(index, id);
  if (!gone) return { index, reparented: [] };
  const reparented: string[] = [];
  const snapshots = index.snapshots
    .filter((s) => s.id !== id)
    .map((s) => {
      if (s.parent !== id) return s;
      reparented.push(s.id);
      return { ...s, parent: gone.parent };
    });
  const current = index.current === id ? gone.parent : index.current;
  return { index: { ...index, current, snapshots }, reparented };
}

/** What one snapshot-holding node's image says (null: it could not be read just now). */
export interface DeviceSnapshots {
  node: string;
  snapshots: ImageSnapshot[] | null;
}

/** Stable id for a snapshot found in the images, so two engines (app, CLI) agree on it. */
export function externalId(tag: string): string {
  const ours = /^viv-([0-9a-f]{12})$/.exec(tag);
  if (ours?.[1]) return ours[1]; // ours, but the tree never heard of it (a crash mid-save)
  return createHash('sha256').update(tag).digest('hex').slice(0, 12);
}

/**
 * Brings the tree in line with the images: a snapshot no image holds is marked 'missing' (and
 * 'partial' when only some do; it comes back to 'ok' if it reappears), one taken outside the
 * app is added as an external root, and unknown memory sizes are filled in. Devices that could
 * not be read change nothing.
 */
export function reconcile(
  index: SnapshotIndex,
  devices: DeviceSnapshots[],
): { index: SnapshotIndex; changed: boolean } {
  let changed = false;
  const readable = devices.filter(
    (d): d is { node: string; snapshots: ImageSnapshot[] } => d.snapshots !== null,
  );
  if (readable.length !== devices.length) return { index, changed: false };
  const byNode = new Map(
    readable.map((d) => [d.node, new Map(d.snapshots.map((s) => [s.name, s]))]),
  );
  const known = new Set(index.snapshots.map((s) => s.tag));

  const snapshots = index.snapshots.map((s) => {
    const relevant = s.devices.filter((n) => byNode.has(n));
    const holding = relevant.filter((n) => byNode.get(n)?.has(s.tag));
    const status: StoredSnapshot['status'] =
      holding.length === 0 ? 'missing' : holding.length === relevant.length ? 'ok' : 'partial';
    let vmStateSize = s.vmStateSize;
    const memoryNode = s.vmstate ?? relevant[0];
    const inImage = memoryNode ? byNode.get(memoryNode)?.get(s.tag) : undefined;
    if (inImage && vmStateSize !== inImage.vmStateSize) vmStateSize = inImage.vmStateSize;
    if (status === s.status && vmStateSize === s.vmStateSize) return s;
    changed = true;
    return { ...s, status, vmStateSize };
  });

  const found = new Map<
    string,
    { sample: ImageSnapshot; nodes: string[]; vmstate: string | null }
  >();
  for (const d of readable) {
    for (const snap of d.snapshots) {
      if (known.has(snap.name)) continue;
      const entry = found.get(snap.name) ?? { sample: snap, nodes: [], vmstate: null };
      entry.nodes.push(d.node);
      if (snap.vmStateSize > 0 && entry.vmstate === null) {
        entry.vmstate = d.node;
        entry.sample = snap;
      }
      found.set(snap.name, entry);
    }
  }
  for (const [tag, { sample, nodes, vmstate }] of found) {
    changed = true;
    snapshots.push({
      id: externalId(tag),
      tag,
      name: uniqueName(snapshots, tag),
      description: '',
      createdAt: new Date(sample.dateSec * 1000).toISOString(),
      parent: null,
      kind: vmstate ? 'live' : 'disk',
      vmStateSize: vmstate ? sample.vmStateSize : 0,
      vmstate,
      devices: nodes,
      thumbnail: null,
      external: true,
      status: 'ok',
      quiesced: false,
    });
  }
  return { index: changed ? { ...index, snapshots } : index, changed };
}

function uniqueName(existing: StoredSnapshot[], wanted: string): string {
  const taken = new Set(existing.map((s) => s.name.toLocaleLowerCase()));
  if (!taken.has(wanted.toLocaleLowerCase())) return wanted;
  for (let i = 2; ; i++) {
    const name = `${wanted} (${i})`;
    if (!taken.has(name.toLocaleLowerCase())) return name;
  }
}

/** Whether the VM can go back to `s` now: the rules, plus its memory's disk still attached. */
export function revertVerdict(
  s: StoredSnapshot,
  state: VmState,
  config: VmConfig,
  nodesNow: string[],
): Verdict {
  const verdict = canRevert(s, state, config);
  if (verdict.ok && s.kind === 'live' && s.vmstate && !nodesNow.includes(s.vmstate)) {
    return {
      ok: false,
      reason: `The memory of this snapshot is in ${s.vmstate}, which is no longer attached to the VM.`,
    };
  }
  return verdict;
}

/** The tree as the contract presents it: oldest first, with children and per-node verdicts. */
export function presentTree(
  vmId: string,
  index: SnapshotIndex,
  config: VmConfig,
  state: VmState,
  nodesNow: string[],
  freeBytes: number | null,
): SnapshotList {
  const ordered = [...index.snapshots].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const ids = new Set(ordered.map((s) => s.id));
  const children = new Map<string, string[]>();
  for (const s of ordered) {
    if (s.parent && ids.has(s.parent))
      children.set(s.parent, [...(children.get(s.parent) ?? []), s.id]);
  }
  const snapshots: SnapshotNode[] = ordered.map((s) => {
    const revert = revertVerdict(s, state, config, nodesNow);
    return {
      id: s.id,
      tag: s.tag,
      name: s.name,
      description: s.description,
      createdAt: s.createdAt,
      parent: s.parent && ids.has(s.parent) ? s.parent : null,
      children: children.get(s.id) ?? [],
      kind: s.kind,
      vmStateSize: s.vmStateSize,
      status: s.status,
      external: s.external,
      quiesced: s.quiesced,
      hasThumbnail: s.thumbnail !== null,
      devices: s.devices,
      canRevert: revert,
      canDelete: canDelete(state),
    };
  });
  return {
    vmId,
    snapshots,
    roots: snapshots.filter((s) => s.parent === null).map((s) => s.id),
    current: index.current && ids.has(index.current) ? index.current : null,
    canSnapshot: canSnapshot({ config, state, freeBytes }),
    state,
  };
}
