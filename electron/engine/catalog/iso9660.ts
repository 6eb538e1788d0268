/**
 * ISO 9660 (ECMA-119) volume descriptors and the El Torito boot catalog: pure parsers over
 * buffers, and `readImageInfo` that reads just the sectors it needs from a local file (with the
 * architectures iso-arch.ts tells from its boot files).
 */
import { open } from 'node:fs/promises';
import type { IsoInfo, MediaDetection } from '../../../common/contract';
import { fileSource } from './byte-source';
import { archesOf, isoArchEvidence } from './iso-arch';
import { parseDirectoryRecord, type IsoDirEntry } from './iso-tree';

export const SECTOR = 2048;
/** The volume descriptor set starts at sector 16. */
export const DESCRIPTORS_OFFSET = 16 * SECTOR;
const MAX_DESCRIPTORS = 32;

const TYPE_BOOT = 0;
const TYPE_PRIMARY = 1;
const TYPE_SUPPLEMENTARY = 2;
const TYPE_TERMINATOR = 255;

function ascii(buf: Buffer, start: number, end: number): string {
  // a-characters and d-characters are ASCII; anything else is shown as is (latin1) and trimmed.
  return buf
    .toString('latin1', start, end)
    .replace(/[\0 ]+$/, '')
    .trim();
}

/** UCS-2 big-endian (Joliet), trimmed. */
function ucs2be(buf: Buffer, start: number, end: number): string {
  const bytes = Buffer.from(buf.subarray(start, end - ((end - start) % 2)));
  bytes.swap16();
  return bytes
    .toString('utf16le')
    .replace(/[\0 ]+$/, '')
    .trim();
}

/** "YYYYMMDDHHMMSScc" + a signed offset from GMT in 15-minute units; null when unset. */
export function parseDecDateTime(buf: Buffer, start: number): string | null {
  const digits = buf.toString('latin1', start, start + 16);
  if (!/^\d{16}$/.test(digits) || /^0{16}$/.test(digits)) return null;
  const n = (a: number, b: number) => Number(digits.slice(a, b));
  const offset = buf.readInt8(start + 16) * 15;
  const utc = Date.UTC(
    n(0, 4),
    n(4, 6) - 1,
    n(6, 8),
    n(8, 10),
    n(10, 12),
    n(12, 14),
    n(14, 16) * 10,
  );
  if (!Number.isFinite(utc)) return null;
  return new Date(utc - offset * 60_000).toISOString();
}

export interface VolumeDescriptors {
  primary: Omit<IsoInfo, 'jolietVolumeId' | 'elTorito' | 'architectures' | 'archEvidence'> | null;
  /** The primary volume's root directory. */
  root: IsoDirEntry | null;
  jolietVolumeId: string | null;
  /** Absolute sector of the El Torito boot catalog, when a boot record names one. */
  bootCatalogSector: number | null;
}

/**
 * Parses the volume descriptor set: `buf` holds sectors from 16 on (as many as were read).
 * Returns nulls when there is no ISO 9660 signature. Pure.
 */
export function parseVolumeDescriptors(buf: Buffer): VolumeDescriptors {
  const out: VolumeDescriptors = {
    primary: null,
    root: null,
    jolietVolumeId: null,
    bootCatalogSector: null,
  };
  for (let i = 0; i < MAX_DESCRIPTORS && (i + 1) * SECTOR <= buf.length; i++) {
    const d = buf.subarray(i * SECTOR, (i + 1) * SECTOR);
    if (d.toString('latin1', 1, 6) !== 'CD001') break;
    const type = d[0];
    if (type === TYPE_TERMINATOR) break;
    if (type === TYPE_PRIMARY && !out.primary) {
      const blockSize = d.readUInt16LE(128) || SECTOR;
      out.primary = {
        systemId: ascii(d, 8, 40),
        volumeId: ascii(d, 40, 72),
        volumeBytes: d.readUInt32LE(80) * blockSize,
        volumeSetId: ascii(d, 190, 318),
        publisher: ascii(d, 318, 446),
        preparer: ascii(d, 446, 574),
        application: ascii(d, 574, 702),
        created: parseDecDateTime(d, 813),
      };
      out.root = parseDirectoryRecord(d.subarray(156, 190));
    } else if (type === TYPE_SUPPLEMENTARY) {
      // Joliet: escape sequences %/@, %/C or %/E name UCS-2 levels 1-3.
      const esc = d.toString('latin1', 88, 91);
      if (esc === '%/@' || esc === '%/C' || esc === '%/E') out.jolietVolumeId = ucs2be(d, 40, 72);
    } else if (type === TYPE_BOOT) {
      if (d.toString('latin1', 7, 30) === 'EL TORITO SPECIFICATION') {
        out.bootCatalogSector = d.readUInt32LE(71);
      }
    }
  }
  return out;
}

const PLATFORM_X86 = 0x00;
const PLATFORM_EFI = 0xef;

export interface ElToritoEntry {
  platform: number;
  bootable: boolean;
  /** 0 no emulation, 1-3 floppy, 4 hard disk. */
  media: number;
  loadRba: number;
  sectorCount: number;
}

/**
 * The El Torito boot catalog (one sector): the validation entry, the default entry and the
 * section entries. Null when the validation entry's key bytes or checksum are wrong. Pure.
 */
export function parseBootCatalog(sector: Buffer): ElToritoEntry[] | null {
  if (sector.length < 64) return null;
  if (sector[0] !== 0x01 || sector[30] !== 0x55 || sector[31] !== 0xaa) return null;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + sector.readUInt16LE(i)) & 0xffff;
  if (sum !== 0) return null;
  const entries: ElToritoEntry[] = [];
  const entry = (off: number, platform: number): ElToritoEntry => ({
    platform,
    bootable: sector[off] === 0x88,
    media: (sector[off + 1] ?? 0) & 0x0f,
    sectorCount: sector.readUInt16LE(off + 6),
    loadRba: sector.readUInt32LE(off + 8),
  });
  entries.push(entry(32, sector[1] ?? PLATFORM_X86));
  let off = 64;
  while (off + 32 <= sector.length) {
    const header = sector[off];
    if (header !== 0x90 && header !== 0x91) break;
    const platform = sector[off + 1] ?? PLATFORM_X86;
    const count = sector.readUInt16LE(off + 2);
    off += 32;
    for (let i = 0; i < count && off + 32 <= sector.length; i++, off += 32) {
      // Skip section entry extensions (0x44).
      if (sector[off] === 0x44) {
        i--;
        continue;
      }
      entries.push(entry(off, platform));
    }
    if (header === 0x91) break;
  }
  return entries;
}

export function summarizeElTorito(entries: ElToritoEntry[] | null): IsoInfo['elTorito'] {
  if (!entries) return null;
  const bootable = entries.filter((e) => e.bootable);
  return {
    bios: bootable.some((e) => e.platform === PLATFORM_X86),
    uefi: bootable.some((e) => e.platform === PLATFORM_EFI),
    entries: bootable.length,
  };
}

/** Disk image formats told apart by their first bytes. Pure. */
export function sniffFormat(head: Buffer): MediaDetection['format'] | null {
  if (head.length >= 4 && head.readUInt32BE(0) === 0x514649fb) return 'qcow2';
  if (head.toString('latin1', 0, 4) === 'KDMV') return 'vmdk';
  if (head.toString('latin1', 0, 8) === 'vhdxfile') return 'vhdx';
  if (
    head.toString('latin1', 0, 40).startsWith('<<< ') &&
    head.toString('latin1', 0, 64).includes('VirtualBox')
  ) {
    return 'vdi';
  }
  return null;
}

export interface ImageInfo {
  sizeBytes: number;
  format: MediaDetection['format'];
  iso: IsoInfo | null;
}

/**
 * Reads the descriptors, the boot catalog and the few directories (and EFI boot image) that tell
 * the architectures of a local image: some KiB, whatever its size.
 */
export async function readImageInfo(file: string): Promise<ImageInfo> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(512);
    await fh.read(head, 0, head.length, 0);
    const sniffed = sniffFormat(head);
    if (sniffed) return { sizeBytes: size, format: sniffed, iso: null };
    const buf = Buffer.alloc(MAX_DESCRIPTORS * SECTOR);
    const { bytesRead } = await fh.read(buf, 0, buf.length, DESCRIPTORS_OFFSET);
    const vd = parseVolumeDescriptors(buf.subarray(0, bytesRead));
    if (!vd.primary) return { sizeBytes: size, format: 'unknown', iso: null };
    let boot: ElToritoEntry[] | null = null;
    if (vd.bootCatalogSector !== null && (vd.bootCatalogSector + 1) * SECTOR <= size) {
      const cat = Buffer.alloc(SECTOR);
      await fh.read(cat, 0, SECTOR, vd.bootCatalogSector * SECTOR);
      boot = parseBootCatalog(cat);
    }
    // A damaged tree or boot image leaves the architecture unknown; the rest still stands.
    const archEvidence = vd.root
      ? await isoArchEvidence(fileSource(fh, size), vd.root, boot).catch(() => [])
      : [];
    const joliet =
      vd.jolietVolumeId && vd.jolietVolumeId !== vd.primary.volumeId ? vd.jolietVolumeId : null;
    return {
      sizeBytes: size,
      format: 'iso9660',
      iso: {
        ...vd.primary,
        jolietVolumeId: joliet,
        elTorito: summarizeElTorito(boot),
        architectures: archesOf(archEvidence),
        archEvidence,
      },
    };
  } finally {
    await fh.close();
  }
}
