/** Room for a download or an upload on the cache's disk, checked before the first byte. */
import { mkdir, statfs } from 'node:fs/promises';
import { VivariumError } from '../../errors';

/** Room kept free on the cache's disk besides the file itself. */
export const FREE_SPACE_MARGIN = 256 * 2 ** 20;

export function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}

/** Bytes free in `dir` (created if missing), or null when the platform cannot say. */
export async function freeBytesIn(dir: string): Promise<number | null> {
  try {
    await mkdir(dir, { recursive: true });
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/**
 * DISK_FULL unless `free` leaves room for `needBytes` and the margin. `what` names the work ("the
 * upload"), `shownDir` the folder the user should free space in; `promised` is what `free`
 * already left out for other transfers in flight (said in the message, since `df` shows more).
 */
export function assertRoom(
  free: number | null,
  needBytes: number,
  what: string,
  shownDir: string,
  promised = 0,
): void {
  if (free === null) return;
  if (free < needBytes + FREE_SPACE_MARGIN) {
    const others =
      promised > 0
        ? ` once the ${gib(promised)} promised to other uploads and downloads in flight are set aside`
        : '';
    throw new VivariumError(
      'DISK_FULL',
      `Not enough free disk space for ${what}: it needs ${gib(needBytes)} and ${gib(Math.max(0, free))} are free in ${shownDir}${others}. Free some space and try again.`,
    );
  }
}
