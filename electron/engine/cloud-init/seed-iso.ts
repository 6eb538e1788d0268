/**
 * A NoCloud seed volume (`cidata`) written in memory: ISO 9660 with Joliet and Rock Ridge, one
 * flat root directory. genisoimage, xorriso and mkfs.vfat are not on every user's machine, and a
 * seed holds a handful of small files, so the whole image is built here. Pure.
 *
 * The primary tree's names are ISO 9660 level 2 (upper case, '_' for anything else), which no
 * reader shows as is: Rock Ridge NM entries carry the exact names for Linux and FreeBSD, and the
 * Joliet tree carries them for readers without Rock Ridge.
 */

export const SECTOR = 2048;

export interface SeedFile {
  name: string;
  data: Buffer | string;
}

export interface SeedIsoOptions {
  /** Timestamp of the volume and its files; now when omitted. */
  date?: Date;
}

/** Names a seed may hold: what NoCloud reads, and nothing a reader might mangle. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Joliet volume ids are 16 UCS-2 characters; the primary one is 32 d-characters. */
const VOLUME_ID_RE = /^[A-Za-z0-9_-]{1,16}$/;

// Sectors 0-15 are the system area; the descriptors follow.
const PVD_SECTOR = 16;
const SVD_SECTOR = 17;
const TERMINATOR_SECTOR = 18;
const PRIMARY_L_PATH = 19;
const PRIMARY_M_PATH = 20;
const JOLIET_L_PATH = 21;
const JOLIET_M_PATH = 22;
const PRIMARY_ROOT = 23;

const FLAG_DIRECTORY = 2;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

const RRIP_ID = 'RRIP_1991A';
const RRIP_DES =
  'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
const RRIP_SRC =
  'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';

function both16(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(n, 0);
  b.writeUInt16BE(n, 2);
  return b;
}

function both32(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  b.writeUInt32BE(n, 4);
  return b;
}

function padded(text: string, length: number): Buffer {
  return Buffer.from(text.padEnd(length, ' ').slice(0, length), 'latin1');
}

function ucs2be(text: string): Buffer {
  const b = Buffer.from(text, 'utf16le');
  b.swap16();
  return b;
}

/** UCS-2 big-endian, padded with UCS-2 spaces to `length` bytes. */
function paddedUcs2(text: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i + 1 < length; i += 2) out.writeUInt16BE(0x20, i);
  ucs2be(text).copy(out, 0, 0, length - (length % 2));
  return out;
}

/** The 7-byte date of a directory record (UTC). */
function recordDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ]);
}

/** The 17-byte date of a volume descriptor (UTC): 16 digits and an offset of 0. */
function descriptorDate(d: Date | null): Buffer {
  if (!d) return Buffer.concat([Buffer.from('0'.repeat(16), 'latin1'), Buffer.from([0])]);
  const p = (n: number, w: number) => String(n).padStart(w, '0');
  const digits =
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1, 2) +
    p(d.getUTCDate(), 2) +
    p(d.getUTCHours(), 2) +
    p(d.getUTCMinutes(), 2) +
    p(d.getUTCSeconds(), 2) +
    p(Math.floor(d.getUTCMilliseconds() / 10), 2);
  return Buffer.concat([Buffer.from(digits, 'latin1'), Buffer.from([0])]);
}

/** A SUSP/RRIP system use entry. */
function suspEntry(sig: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(sig, 'latin1'), Buffer.from([4 + body.length, 1]), body]);
}

/** POSIX attributes (RRIP 1.09 form, as mkisofs writes it). */
function px(mode: number, links: number): Buffer {
  return suspEntry('PX', Buffer.concat([both32(mode), both32(links), both32(0), both32(0)]));
}

function nm(name: string): Buffer {
  return suspEntry('NM', Buffer.concat([Buffer.from([0]), Buffer.from(name, 'latin1')]));
}

/** Marks the volume as using SUSP, with no bytes to skip. */
const SP = suspEntry('SP', Buffer.from([0xbe, 0xef, 0]));

/** Names Rock Ridge as the extension in use; held in a continuation area (it is too long). */
function er(): Buffer {
  const id = Buffer.from(RRIP_ID, 'latin1');
  const des = Buffer.from(RRIP_DES, 'latin1');
  const src = Buffer.from(RRIP_SRC, 'latin1');
  return suspEntry(
    'ER',
    Buffer.concat([Buffer.from([id.length, des.length, src.length, 1]), id, des, src]),
  );
}

function ce(sector: number, length: number): Buffer {
  return suspEntry('CE', Buffer.concat([both32(sector), both32(0), both32(length)]));
}

interface RecordFields {
  extent: number;
  size: number;
  date: Buffer;
  directory: boolean;
  identifier: Buffer;
  systemUse?: Buffer;
}

function directoryRecord(r: RecordFields): Buffer {
  const idPad = r.identifier.length % 2 === 0 ? 1 : 0;
  const su = r.systemUse ?? Buffer.alloc(0);
  const length = 33 + r.identifier.length + idPad + su.length;
  if (length > 255) throw new Error(`A directory record would be ${String(length)} bytes long`);
  return Buffer.concat([
    Buffer.from([length, 0]),
    both32(r.extent),
    both32(r.size),
    r.date,
    Buffer.from([r.directory ? FLAG_DIRECTORY : 0, 0, 0]),
    both16(1),
    Buffer.from([r.identifier.length]),
    r.identifier,
    Buffer.alloc(idPad),
    su,
  ]);
}

/** Lays records out in sectors: a record never crosses a sector boundary. */
function directoryExtent(records: Buffer[]): Buffer {
  const chunks: Buffer[] = [];
  let used = 0;
  for (const r of records) {
    const room = SECTOR - (used % SECTOR);
    if (r.length > room) {
      chunks.push(Buffer.alloc(room));
      used += room;
    }
    chunks.push(r);
    used += r.length;
  }
  const tail = (SECTOR - (used % SECTOR)) % SECTOR;
  chunks.push(Buffer.alloc(tail));
  return Buffer.concat(chunks);
}

/** Size in sectors of a directory holding records of these lengths. */
function directorySectors(lengths: number[]): number {
  let used = 0;
  for (const len of lengths) {
    const room = SECTOR - (used % SECTOR);
    if (len > room) used += room;
    used += len;
  }
  return Math.max(1, Math.ceil(used / SECTOR));
}

/** The root-only path table: one 10-byte record. */
function pathTable(rootSector: number, bigEndian: boolean): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = 1;
  b[1] = 0;
  if (bigEndian) {
    b.writeUInt32BE(rootSector, 2);
    b.writeUInt16BE(1, 6);
  } else {
    b.writeUInt32LE(rootSector, 2);
    b.writeUInt16LE(1, 6);
  }
  b[8] = 0;
  return b;
}

/** ISO 9660 level 2 name: d-characters, one dot, version ";1". */
function primaryName(name: string, taken: Set<string>): string {
  const dot = name.lastIndexOf('.');
  const map = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  const base = map(dot > 0 ? name.slice(0, dot) : name);
  const ext = dot > 0 ? map(name.slice(dot + 1)) : '';
  for (let n = 0; ; n++) {
    const suffix = n === 0 ? '' : `_${String(n)}`;
    const room = 30 - ext.length - 1 - suffix.length;
    const candidate = `${base.slice(0, Math.max(1, room))}${suffix}.${ext}`;
    if (!taken.has(candidate)) {
      taken.add(candidate);
      return `${candidate};1`;
    }
  }
}

interface Descriptor {
  type: 1 | 2;
  volumeId: Buffer;
  volumeSectors: number;
  lPath: number;
  mPath: number;
  rootRecord: Buffer;
  date: Date;
  /** Application id, UCS-2 for Joliet. */
  text: (s: string, length: number) => Buffer;
}

function volumeDescriptor(d: Descriptor): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = d.type;
  b.write('CD001', 1, 'latin1');
  b[6] = 1;
  d.text('', 32).copy(b, 8); // system id
  d.volumeId.copy(b, 40);
  both32(d.volumeSectors).copy(b, 80);
  if (d.type === 2) b.write('%/E', 88, 'latin1'); // Joliet, UCS-2 level 3
  both16(1).copy(b, 120); // volume set size
  both16(1).copy(b, 124); // volume sequence number
  both16(SECTOR).copy(b, 128);
  both32(10).copy(b, 132); // path table size
  b.writeUInt32LE(d.lPath, 140);
  b.writeUInt32BE(d.mPath, 148);
  d.rootRecord.copy(b, 156);
  d.text('', 128).copy(b, 190); // volume set
  d.text('', 128).copy(b, 318); // publisher
  d.text('', 128).copy(b, 446); // preparer
  d.text('VIVARIUM', 128).copy(b, 574); // application
  d.text('', 37).copy(b, 702);
  d.text('', 37).copy(b, 739);
  d.text('', 37).copy(b, 776);
  descriptorDate(d.date).copy(b, 813);
  descriptorDate(d.date).copy(b, 830);
  descriptorDate(null).copy(b, 847);
  descriptorDate(null).copy(b, 864);
  b[881] = 1;
  return b;
}

/**
 * Builds the seed volume. Names must be 1-64 characters of letters, digits, '.', '_' and '-'
 * (NoCloud's are user-data, meta-data, network-config and vendor-data), each at most once.
 */
export function buildSeedIso(
  files: ReadonlyArray<SeedFile>,
  volumeId = 'cidata',
  options: SeedIsoOptions = {},
): Buffer {
  if (!VOLUME_ID_RE.test(volumeId)) {
    throw new Error(`Volume id "${volumeId}" must be 1-16 letters, digits, '_' or '-'`);
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (!NAME_RE.test(f.name)) {
      throw new Error(`Seed file name "${f.name}" must be 1-64 letters, digits, '.', '_' or '-'`);
    }
    if (seen.has(f.name)) throw new Error(`Seed file "${f.name}" is given twice`);
    seen.add(f.name);
  }
  const date = options.date ?? new Date();
  const rdate = recordDate(date);
  const taken = new Set<string>();
  const entries = files.map((f) => ({
    name: f.name,
    primary: Buffer.from(primaryName(f.name, taken), 'latin1'),
    joliet: ucs2be(f.name),
    data: typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data,
    extent: 0,
  }));

  // Records are sized before extents are known: sizes do not depend on extent values.
  const rootDotSu = (ceSector: number, length: number) =>
    Buffer.concat([SP, px(S_IFDIR | 0o555, 2), ce(ceSector, length)]);
  const erEntry = er();
  const dotLen = 34 + rootDotSu(0, 0).length;
  const dotDotLen = 34 + px(S_IFDIR | 0o555, 2).length;
  const primaryFileSu = (e: (typeof entries)[number]) =>
    Buffer.concat([px(S_IFREG | 0o444, 1), nm(e.name)]);
  const recLen = (id: Buffer, su: number) => 33 + id.length + (id.length % 2 === 0 ? 1 : 0) + su;
  const bySortKey = (key: (e: (typeof entries)[number]) => Buffer) =>
    [...entries].sort((a, b) => Buffer.compare(key(a), key(b)));
  const primaryOrder = bySortKey((e) => e.primary);
  const jolietOrder = bySortKey((e) => e.joliet);

  const primarySectors = directorySectors([
    dotLen,
    dotDotLen,
    ...primaryOrder.map((e) => recLen(e.primary, primaryFileSu(e).length)),
  ]);
  const jolietSectors = directorySectors([34, 34, ...jolietOrder.map((e) => recLen(e.joliet, 0))]);
  const ceSector = PRIMARY_ROOT + primarySectors;
  const jolietRoot = ceSector + 1;
  let next = jolietRoot + jolietSectors;
  for (const e of entries) {
    e.extent = next;
    next += Math.ceil(e.data.length / SECTOR);
  }
  const volumeSectors = next;

  const primaryDir = directoryExtent([
    directoryRecord({
      extent: PRIMARY_ROOT,
      size: primarySectors * SECTOR,
      date: rdate,
      directory: true,
      identifier: Buffer.from([0]),
      systemUse: rootDotSu(ceSector, erEntry.length),
    }),
    directoryRecord({
      extent: PRIMARY_ROOT,
      size: primarySectors * SECTOR,
      date: rdate,
      directory: true,
      identifier: Buffer.from([1]),
      systemUse: px(S_IFDIR | 0o555, 2),
    }),
    ...primaryOrder.map((e) =>
      directoryRecord({
        extent: e.extent,
        size: e.data.length,
        date: rdate,
        directory: false,
        identifier: e.primary,
        systemUse: primaryFileSu(e),
      }),
    ),
  ]);
  const jolietDir = directoryExtent([
    ...[0, 1].map((id) =>
      directoryRecord({
        extent: jolietRoot,
        size: jolietSectors * SECTOR,
        date: rdate,
        directory: true,
        identifier: Buffer.from([id]),
      }),
    ),
    ...jolietOrder.map((e) =>
      directoryRecord({
        extent: e.extent,
        size: e.data.length,
        date: rdate,
        directory: false,
        identifier: e.joliet,
      }),
    ),
  ]);
  const continuation = Buffer.alloc(SECTOR);
  erEntry.copy(continuation);

  const rootRecord = (extent: number, sectors: number) =>
    directoryRecord({
      extent,
      size: sectors * SECTOR,
      date: rdate,
      directory: true,
      identifier: Buffer.from([0]),
    });
  const terminator = Buffer.alloc(SECTOR);
  terminator[0] = 255;
  terminator.write('CD001', 1, 'latin1');
  terminator[6] = 1;

  const image = Buffer.alloc(volumeSectors * SECTOR);
  const put = (sector: number, data: Buffer) => data.copy(image, sector * SECTOR);
  put(
    PVD_SECTOR,
    volumeDescriptor({
      type: 1,
      volumeId: padded(volumeId, 32),
      volumeSectors,
      lPath: PRIMARY_L_PATH,
      mPath: PRIMARY_M_PATH,
      rootRecord: rootRecord(PRIMARY_ROOT, primarySectors),
      date,
      text: padded,
    }),
  );
  put(
    SVD_SECTOR,
    volumeDescriptor({
      type: 2,
      volumeId: paddedUcs2(volumeId, 32),
      volumeSectors,
      lPath: JOLIET_L_PATH,
      mPath: JOLIET_M_PATH,
      rootRecord: rootRecord(jolietRoot, jolietSectors),
      date,
      text: paddedUcs2,
    }),
  );
  put(TERMINATOR_SECTOR, terminator);
  put(PRIMARY_L_PATH, pathTable(PRIMARY_ROOT, false));
  put(PRIMARY_M_PATH, pathTable(PRIMARY_ROOT, true));
  put(JOLIET_L_PATH, pathTable(jolietRoot, false));
  put(JOLIET_M_PATH, pathTable(jolietRoot, true));
  put(PRIMARY_ROOT, primaryDir);
  put(ceSector, continuation);
  put(jolietRoot, jolietDir);
  for (const e of entries) put(e.extent, e.data);
  return image;
}
