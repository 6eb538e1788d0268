import { access, open, rename, copyFile, readFile, rm } from 'node:fs/promises';
import { VivariumError } from '../errors';

/**
 * Writes through a temp file, fsyncs it and renames it over the target, so a crash or a full
 * disk leaves either the old or the new file, never half of one. The previous version is kept
 * as `<file>.bak`. `sync: false` skips the fsync where a kill (not a power cut) is all that must
 * be survived: the page cache outlives a killed process.
 */
export async function writeFileAtomic(
  file: string,
  data: string,
  keepBackup = true,
  { sync = true }: { sync?: boolean } = {},
): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(data, 'utf8');
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    if (keepBackup) await copyFile(file, `${file}.bak`).catch(() => undefined);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    if (isNodeError(err) && (err.code === 'ENOSPC' || err.code === 'EDQUOT')) {
      throw new VivariumError(
        'DISK_FULL',
        `The disk holding ${file} is full: free some space and try again (nothing was changed).`,
      );
    }
    throw err;
  }
}

export async function readJsonFile(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8')) as unknown;
}

export function isNodeError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}

export function fileExists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
