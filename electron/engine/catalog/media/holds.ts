/**
 * What this process is busy with, shared by every MediaStore in it (an app, a server, a test may
 * open several engines on one home): part files being written by a transfer, and cache folders
 * being filled by a download or an upload (moved in, unpacked), each with how many are at it.
 */
export const writingParts = new Map<string, number>();
export const storingDirs = new Map<string, number>();

/** Counts one more holder of `key`; the function returned lets go of it. */
export function hold(map: Map<string, number>, key: string): () => void {
  map.set(key, (map.get(key) ?? 0) + 1);
  return () => {
    const n = (map.get(key) ?? 1) - 1;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  };
}
