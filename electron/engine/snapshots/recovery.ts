/**
 * Finishing or undoing snapshot work a kill interrupted (snapshots/service.ts records the steps).
 * The images are the truth, snapshots.json the names and the tree:
 *   - create: the tag in every image means the snapshot was taken: it is added to the tree under
 *     the name the user gave; in some images only, it is removed from them again (VM off);
 *   - delete: the user asked for it to go, so it goes: from the images that still hold it, the
 *     tree and the thumbnails.
 * While the VM runs, QEMU holds its images: a recovery that must write them waits for the next
 * open (the record stays claimed until this engine ends, then another engine takes it).
 */
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { VivariumError } from '../errors';
import type { IntentRecord } from '../library/intents';
import { vmFiles, type EnginePaths } from '../paths';
import { imageInfo, imageSnapshot } from '../storage/qemu-img';
import { loadIndex, saveIndex } from './store';
import { addSnapshot, findById, removeSnapshot } from './tree';

const DevicesSchema = z.array(z.object({ node: z.string(), file: z.string() }));

export const SnapshotCreateDataSchema = z.object({
  vmId: z.string(),
  vmName: z.string(),
  snapshot: z.object({
    id: z.string(),
    tag: z.string(),
    name: z.string(),
    description: z.string(),
    createdAt: z.string(),
    kind: z.enum(['live', 'disk']),
    vmstate: z.string().nullable(),
  }),
  devices: DevicesSchema,
});
export type SnapshotCreateData = z.infer<typeof SnapshotCreateDataSchema>;

export const SnapshotDeleteDataSchema = z.object({
  vmId: z.string(),
  vmName: z.string(),
  id: z.string(),
  tag: z.string(),
  name: z.string(),
  devices: DevicesSchema,
  screenshotsDir: z.string(),
});
export type SnapshotDeleteData = z.infer<typeof SnapshotDeleteDataSchema>;

export interface SnapshotRecoveryDeps {
  paths: EnginePaths;
  /** qemu-img's path, or null when it is missing. */
  img: () => Promise<string | null>;
  /** A QEMU runs this VM (its images are locked). */
  isRunning: (vmId: string) => Promise<boolean>;
}

/** Which of `devices` hold `tag` (read shared: QEMU may hold them). */
async function holdersOf(
  img: string,
  devices: Array<{ node: string; file: string }>,
  tag: string,
): Promise<Array<{ node: string; file: string }>> {
  const out: Array<{ node: string; file: string }> = [];
  for (const d of devices) {
    if (
      !(await access(d.file).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const info = await imageInfo(img, d.file, { format: 'qcow2', shared: true });
    if (info.snapshots.some((s) => s.name === tag)) out.push(d);
  }
  return out;
}

function waitForStop(vmName: string): VivariumError {
  return new VivariumError(
    'BAD_STATE',
    `"${vmName}" is running: its disk images are finished once it is shut down and Vivarium opened again`,
  );
}

export async function recoverSnapshotCreate(
  deps: SnapshotRecoveryDeps,
  record: IntentRecord,
): Promise<string | null> {
  const d = SnapshotCreateDataSchema.parse(record.data);
  const files = vmFiles(deps.paths, d.vmId);
  const index = await loadIndex(files.snapshotsIndex);
  if (findById(index, d.snapshot.id)) return null;
  const img = await deps.img();
  if (!img) throw new VivariumError('QEMU_MISSING', 'qemu-img is needed to read the disk images');
  const holders = await holdersOf(img, d.devices, d.snapshot.tag);
  if (holders.length === 0) {
    return `Taking the snapshot "${d.snapshot.name}" of "${d.vmName}" was interrupted before it was saved: there is no such snapshot.`;
  }
  if (holders.length === d.devices.length) {
    const { id, tag, name, description, createdAt, kind, vmstate } = d.snapshot;
    const thumbnail = `${id}.png`;
    const hasThumbnail = await access(join(files.screenshotsDir, thumbnail)).then(
      () => true,
      () => false,
    );
    await saveIndex(
      files.snapshotsIndex,
      addSnapshot(
        { ...index, snapshots: index.snapshots.filter((s) => s.tag !== tag) },
        {
          id,
          tag,
          name,
          description,
          createdAt,
          kind,
          vmStateSize: kind === 'live' ? null : 0,
          vmstate,
          devices: d.devices.map((x) => x.node),
          thumbnail: hasThumbnail ? thumbnail : null,
          external: false,
          status: 'ok',
          // Whether the filesystems were frozen is not known after a crash: say no.
          quiesced: false,
        },
      ),
    );
    return `Taking the snapshot "${name}" of "${d.vmName}" was interrupted after the disks were saved; it has been completed.`;
  }
  if (await deps.isRunning(d.vmId)) throw waitForStop(d.vmName);
  for (const h of holders) await imageSnapshot(img, h.file, 'delete', d.snapshot.tag);
  return `Taking the snapshot "${d.snapshot.name}" of "${d.vmName}" was interrupted half way; it has been undone.`;
}

export async function recoverSnapshotDelete(
  deps: SnapshotRecoveryDeps,
  record: IntentRecord,
): Promise<string> {
  const d = SnapshotDeleteDataSchema.parse(record.data);
  const files = vmFiles(deps.paths, d.vmId);
  const img = await deps.img();
  if (!img) throw new VivariumError('QEMU_MISSING', 'qemu-img is needed to read the disk images');
  const holders = await holdersOf(img, d.devices, d.tag);
  if (holders.length && (await deps.isRunning(d.vmId))) throw waitForStop(d.vmName);
  for (const h of holders) await imageSnapshot(img, h.file, 'delete', d.tag);
  const index = await loadIndex(files.snapshotsIndex);
  if (findById(index, d.id))
    await saveIndex(files.snapshotsIndex, removeSnapshot(index, d.id).index);
  await Promise.all(
    ['png', 'ppm'].map((ext) => rm(join(d.screenshotsDir, `${d.id}.${ext}`), { force: true })),
  );
  return `Deleting the snapshot "${d.name}" of "${d.vmName}" was interrupted (at step ${record.step}); it has been completed.`;
}
