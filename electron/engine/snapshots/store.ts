import { readFile } from 'node:fs/promises';
import { VivariumError } from '../errors';
import { isNodeError, writeFileAtomic } from '../library/atomic-file';
import { emptyIndex, SnapshotIndexSchema, type SnapshotIndex } from './tree';

/** The VM's snapshots.json; a missing file is an empty tree, a damaged one falls back to its .bak. */
export async function loadIndex(file: string): Promise<SnapshotIndex> {
  for (const candidate of [file, `${file}.bak`]) {
    let text: string;
    try {
      text = await readFile(candidate, 'utf8');
    } catch (err) {
      if (isNodeError(err) && err.code === 'ENOENT') {
        if (candidate === file) return emptyIndex();
        break;
      }
      throw err;
    }
    try {
      const parsed = SnapshotIndexSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // Try the backup.
    }
  }
  throw new VivariumError(
    'INTERNAL',
    `${file} is damaged and has no usable backup: move it away and list the snapshots again (they are rebuilt from the disk images, without names).`,
  );
}

/** Written atomically (temp file, fsync, rename), the previous version kept as .bak. */
export async function saveIndex(file: string, index: SnapshotIndex): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(index, null, 2)}\n`);
}
