import { copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { VivariumError } from '../errors';
import { isNodeError } from '../library/atomic-file';
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

/**
 * Written whole to a temp file and renamed over the old one (never half a file), the previous
 * version kept as .bak. Unlike vm.json it is not fsynced: an fsync right after QEMU wrote a
 * memory image waits for that image to reach the disk (tens of ms, sometimes more), and every
 * snapshot would pay it. After a power cut the worst case is the last change's names and
 * parents: the snapshots themselves live in the images, and the next list brings them back.
 */
export async function saveIndex(file: string, index: SnapshotIndex): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await Promise.all([
      writeFile(tmp, `${JSON.stringify(index, null, 2)}\n`, { mode: 0o600 }),
      copyFile(file, `${file}.bak`).catch(() => undefined),
    ]);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    if (isNodeError(err) && (err.code === 'ENOSPC' || err.code === 'EDQUOT')) {
      throw new VivariumError(
        'DISK_FULL',
        `The disk holding ${file} is full: free some space and try again.`,
      );
    }
    throw err;
  }
}
