/**
 * Directory listings of a FAT12/16/32 file system (an El Torito EFI boot image is one: the ESP
 * that holds `EFI/BOOT/BOOTAA64.EFI`). Reads the boot sector, the FAT and the directories on the
 * way, with long (VFAT) names; nothing else.
 */
import type { ByteSource } from './byte-source';

/** More than any ESP needs; a larger table or directory means a broken image. */
const MAX_FAT_BYTES = 8 * 1024 * 1024;
const MAX_DIR_CLUSTERS = 256;

export interface FatEntry {
  name: string;
  dir: boolean;
  cluster: number;
  size: number;
}

interface FatGeometry {
  bytesPerSector: number;
  bytesPerCluster: number;
  kind: 12 | 16 | 32;
  fatOffset: number;
  fatBytes: number;
  /** FAT12/16: the fixed root directory. */
  rootOffset: number;
  rootBytes: number;
  /** FAT32: the root directory's first cluster. */
  rootCluster: number;
  dataOffset: number;
}

/** The BIOS parameter block; null when the sector is not a FAT boot sector. Pure. */
export function parseFatBootSector(b: Buffer): FatGeometry | null {
  if (b.length < 512 || b[510] !== 0x55 || b[511] !== 0xaa) return null;
  const bytesPerSector = b.readUInt16LE(11);
  const sectorsPerCluster = b[13] ?? 0;
  const reserved = b.readUInt16LE(14);
  const fats = b[16] ?? 0;
  const rootEntries = b.readUInt16LE(17);
  const total = b.readUInt16LE(19) || b.readUInt32LE(32);
  const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) return null;
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) return null;
  if (fats === 0 || fatSectors === 0 || reserved === 0) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataSector = reserved + fats * fatSectors + rootSectors;
  if (total <= dataSector) return null;
  const clusters = Math.floor((total - dataSector) / sectorsPerCluster);
  const kind = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  return {
    bytesPerSector,
    bytesPerCluster: bytesPerSector * sectorsPerCluster,
    kind,
    fatOffset: reserved * bytesPerSector,
    fatBytes: fatSectors * bytesPerSector,
    rootOffset: (reserved + fats * fatSectors) * bytesPerSector,
    rootBytes: rootSectors * bytesPerSector,
    rootCluster: kind === 32 ? b.readUInt32LE(44) : 0,
    dataOffset: dataSector * bytesPerSector,
  };
}

/** The next cluster of a chain, or null at its end (or on a bad link). Pure. */
export function nextCluster(fat: Buffer, kind: 12 | 16 | 32, cluster: number): number | null {
  let next: number;
  if (kind === 12) {
    const off = cluster + (cluster >> 1);
    if (off + 2 > fat.length) return null;
    const v = fat.readUInt16LE(off);
    next = cluster & 1 ? v >> 4 : v & 0xfff;
    return next >= 2 && next < 0xff7 ? next : null;
  }
  if (kind === 16) {
    if (cluster * 2 + 2 > fat.length) return null;
    next = fat.readUInt16LE(cluster * 2);
    return next >= 2 && next < 0xfff7 ? next : null;
  }
  if (cluster * 4 + 4 > fat.length) return null;
  next = fat.readUInt32LE(cluster * 4) & 0x0fffffff;
  return next >= 2 && next < 0x0ffffff7 ? next : null;
}

/** The 32-byte entries of a directory, long names joined to their short entries. Pure. */
export function parseFatDirectory(buf: Buffer): FatEntry[] {
  const out: FatEntry[] = [];
  let long: string[] = [];
  for (let off = 0; off + 32 <= buf.length; off += 32) {
    const first = buf[off] ?? 0;
    if (first === 0) break;
    const attr = buf[off + 11] ?? 0;
    if (first === 0xe5) {
      long = [];
      continue;
    }
    if (attr === 0x0f) {
      // Long-name parts come last part first; each holds 13 UCS-2 characters.
      const part = Buffer.concat([
        buf.subarray(off + 1, off + 11),
        buf.subarray(off + 14, off + 26),
        buf.subarray(off + 28, off + 32),
      ])
        .toString('utf16le')
        .replace(/\0[\s\S]*$/, '');
      if (first & 0x40) long = [];
      long.unshift(part);
      continue;
    }
    if (attr & 0x08) {
      long = [];
      continue;
    }
    const base = buf.toString('latin1', off, off + 8).trimEnd();
    const ext = buf.toString('latin1', off + 8, off + 11).trimEnd();
    const short = ext ? `${base}.${ext}` : base;
    const name = long.length ? long.join('') : short;
    long = [];
    if (name === '.' || name === '..') continue;
    out.push({
      name,
      dir: (attr & 0x10) !== 0,
      cluster: (buf.readUInt16LE(off + 20) << 16) | buf.readUInt16LE(off + 26),
      size: buf.readUInt32LE(off + 28),
    });
  }
  return out;
}

/**
 * The names in the directory at `path` ('/'-separated, compared without case) of the FAT file
 * system in `src`; null when it is not FAT or the path is not there.
 */
export async function listFatDir(src: ByteSource, path: string): Promise<FatEntry[] | null> {
  const geo = parseFatBootSector(await src.read(0, 512));
  if (!geo || geo.fatBytes > MAX_FAT_BYTES) return null;
  const fat = await src.read(geo.fatOffset, geo.fatBytes);
  const readChain = async (start: number): Promise<Buffer> => {
    const parts: Buffer[] = [];
    const seen = new Set<number>();
    for (let c: number | null = start; c !== null && parts.length < MAX_DIR_CLUSTERS;) {
      if (seen.has(c)) break;
      seen.add(c);
      parts.push(
        await src.read(geo.dataOffset + (c - 2) * geo.bytesPerCluster, geo.bytesPerCluster),
      );
      c = nextCluster(fat, geo.kind, c);
    }
    return Buffer.concat(parts);
  };
  let entries = parseFatDirectory(
    geo.kind === 32
      ? await readChain(geo.rootCluster)
      : await src.read(geo.rootOffset, geo.rootBytes),
  );
  for (const part of path.split('/').filter(Boolean)) {
    const want = part.toLowerCase();
    const next = entries.find((e) => e.dir && e.name.toLowerCase() === want);
    if (!next || next.cluster < 2) return null;
    entries = parseFatDirectory(await readChain(next.cluster));
  }
  return entries;
}
