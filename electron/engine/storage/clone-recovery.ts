/**
 * Finishing or undoing a linked clone a kill interrupted (the intent journal hands it here; see
 * storage/clones.ts for the steps). The one thing that must never happen: the source VM left
 * without its disk. So:
 *   - the clone's vm.json exists: every file was made; finish by making sure both links.json say so;
 *   - otherwise undo: each frozen base goes back to the source's disk path (the source's new, still
 *     empty overlay is removed first), the clone's folder goes, and the source's links forget it.
 *     A source overlay that holds data (the source VM ran on it since) is kept with its base: the
 *     base is then recorded as the source's own, exactly as after a finished clone.
 */
import { chmod, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { fileExists } from '../library/atomic-file';
import { loadLinks, saveLinks } from '../library/clone-links';
import type { IntentRecord } from '../library/intents';
import { vmFiles, type EnginePaths } from '../paths';
import { readQcow2Facts } from './qcow2-header';

export const LinkedCloneDataSchema = z.object({
  cloneId: z.string(),
  cloneDir: z.string(),
  name: z.string(),
  sourceId: z.string(),
  sourceName: z.string(),
  sourceDir: z.string(),
  /** active: the source's disk path; base: the frozen file's name in the source's folder. */
  disks: z.array(
    z.object({ id: z.string(), active: z.string(), base: z.string(), freeze: z.boolean() }),
  ),
});
export type LinkedCloneData = z.infer<typeof LinkedCloneDataSchema>;

export async function recoverLinkedClone(
  paths: EnginePaths,
  record: IntentRecord,
): Promise<string> {
  const d = LinkedCloneDataSchema.parse(record.data);
  const source = vmFiles(paths, d.sourceId);
  const clone = vmFiles(paths, d.cloneId);
  const links = await loadLinks(source);
  const overlays = { ...links.overlays };

  if (await fileExists(clone.config)) {
    for (const disk of d.disks) overlays[disk.id] = disk.base;
    const clones = links.clones.some((c) => c.id === d.cloneId)
      ? links.clones
      : [...links.clones, { id: d.cloneId, name: d.name, bases: d.disks.map((x) => x.base) }];
    await saveLinks(source, { ...links, clones, overlays });
    const own = await loadLinks(clone);
    if (!own.linkedTo) {
      await saveLinks(clone, { ...own, linkedTo: { id: d.sourceId, name: d.sourceName } });
    }
    return `The linked clone "${d.name}" of "${d.sourceName}" was interrupted at its last step (${record.step}) and has been completed.`;
  }

  const keptFrozen: string[] = [];
  for (const disk of d.disks.filter((x) => x.freeze)) {
    const base = join(d.sourceDir, disk.base);
    // Not frozen yet, or already put back.
    if (!(await fileExists(base))) continue;
    const facts = (await fileExists(disk.active))
      ? await readQcow2Facts(disk.active).catch(() => null)
      : null;
    if (facts && facts.backingFile === disk.base && !facts.empty) {
      overlays[disk.id] = disk.base;
      keptFrozen.push(disk.id);
      continue;
    }
    await rm(disk.active, { force: true });
    await chmod(base, 0o600);
    await rename(base, disk.active);
    if (overlays[disk.id] === disk.base) delete overlays[disk.id];
  }
  await saveLinks(source, {
    ...links,
    overlays,
    clones: links.clones.filter((c) => c.id !== d.cloneId),
  });
  await rm(d.cloneDir, { recursive: true, force: true });
  const kept = keptFrozen.length
    ? ` (disk ${keptFrozen.join(', ')} of "${d.sourceName}" had been written since and stays on its frozen base)`
    : '';
  return (
    `Making the linked clone "${d.name}" of "${d.sourceName}" was interrupted (at step ${record.step}) ` +
    `and has been undone: "${d.sourceName}" has its disks as before${kept}; no clone was made.`
  );
}
