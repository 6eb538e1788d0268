/**
 * The ISO 9660 directory tree: directory records (with Rock Ridge's real names where the image
 * has them) and path lookups, reading only the directories on the way.
 */
import type { ByteSource } from './byte-source';

const SECTOR = 2048;
/** No boot-relevant directory is this large; a bigger one is a broken or hostile image. */
const MAX_DIR_BYTES = 4 * 1024 * 1024;

export interface IsoDirEntry {
  /** Rock Ridge's name when there is one, else the ISO 9660 name without ";1" and a final ".". */
  name: string;
  dir: boolean;
  /** First sector of the file's or directory's extent. */
  extent: number;
  size: number;
}

/** The extent of a directory record (the root's is in the primary volume descriptor at 156). */
export function parseDirectoryRecord(rec: Buffer): IsoDirEntry | null {
  const len = rec[0] ?? 0;
  if (len < 34 || rec.length < len) return null;
  const nameLen = rec[32] ?? 0;
  if (33 + nameLen > len) return null;
  const raw = rec.subarray(33, 33 + nameLen);
  let name: string;
  if (nameLen === 1 && raw[0] === 0) name = '.';
  else if (nameLen === 1 && raw[0] === 1) name = '..';
  else name = raw.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '');
  const suStart = 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0);
  const rr = rockRidgeName(rec.subarray(suStart, len));
  return {
    name: rr ?? name,
    dir: ((rec[25] ?? 0) & 0x02) !== 0,
    extent: rec.readUInt32LE(2),
    size: rec.readUInt32LE(10),
  };
}

/** The NM entries of a System Use area, joined; null when there are none. */
function rockRidgeName(su: Buffer): string | null {
  let off = 0;
  let name: string | null = null;
  while (off + 4 <= su.length) {
    const sig = su.toString('latin1', off, off + 2);
    const len = su[off + 2] ?? 0;
    if (len < 4 || off + len > su.length) break;
    if (sig === 'NM') {
      const flags = su[off + 4] ?? 0;
      // CURRENT (2) and PARENT (4) name "." and ".."; the records already say so.
      if ((flags & 0x06) === 0) name = (name ?? '') + su.toString('utf8', off + 5, off + len);
    }
    if (sig === 'ST') break;
    off += len;
  }
  return name;
}

/** The records of one directory's extent: records never cross a sector; zeros pad to its end. */
export function parseDirectory(buf: Buffer): IsoDirEntry[] {
  const out: IsoDirEntry[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = buf[off] ?? 0;
    if (len === 0) {
      off = (Math.floor(off / SECTOR) + 1) * SECTOR;
      continue;
    }
    const entry = parseDirectoryRecord(buf.subarray(off, off + len));
    if (!entry) break;
    if (entry.name !== '.' && entry.name !== '..') out.push(entry);
    off += len;
  }
  return out;
}

export async function listIsoDir(src: ByteSource, dir: IsoDirEntry): Promise<IsoDirEntry[]> {
  if (!dir.dir || dir.size > MAX_DIR_BYTES) return [];
  return parseDirectory(await src.read(dir.extent * SECTOR, dir.size));
}

/** Finds `path` ('/'-separated, compared without case) under `root`; null when absent. */
export async function findIsoEntry(
  src: ByteSource,
  root: IsoDirEntry,
  path: string,
): Promise<IsoDirEntry | null> {
  let here: IsoDirEntry = root;
  for (const part of path.split('/').filter(Boolean)) {
    const want = part.toLowerCase();
    const next = (await listIsoDir(src, here)).find((e) => e.name.toLowerCase() === want);
    if (!next) return null;
    here = next;
  }
  return here;
}
