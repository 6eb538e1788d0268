/**
 * Takes the disc image out of the archive some projects ship it in: zip (FreeDOS, ReactOS, AROS)
 * read here with zlib, stored or deflated, zip64 included, CRC checked; 7z (KolibriOS) through
 * the 7-Zip program when the computer has it; xz (FreeBSD's cloud images) with xz-embedded
 * compiled to WebAssembly (the xz-decompress package), so no xz program is needed.
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32, createInflateRaw } from 'node:zlib';
import * as xzModule from 'xz-decompress';
import { VivariumError } from '../errors';
import { imageFileName } from './media/record-name';

const run = promisify(execFile);

export interface ZipMember {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

function bad(file: string, why: string): VivariumError {
  return new VivariumError(
    'FILE_UNREADABLE',
    `${basename(file)} is not a zip archive Vivarium can read (${why}).`,
  );
}

/** The central directory of a zip file: every member's name, sizes and where its data is. */
export async function listZip(file: string): Promise<ZipMember[]> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad(file, 'no end of central directory');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const locator = eocd - 20;
    if (locator >= 0 && tail.readUInt32LE(locator) === EOCD64_LOCATOR_SIG) {
      const eocd64Offset = Number(tail.readBigUInt64LE(locator + 8));
      const rec = Buffer.alloc(56);
      await fh.read(rec, 0, 56, eocd64Offset);
      if (rec.readUInt32LE(0) !== EOCD64_SIG) throw bad(file, 'broken zip64 record');
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > size) throw bad(file, 'truncated');
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const members: ZipMember[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG)
        throw bad(file, 'broken central directory');
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // zip64 extended information: the 0xFFFFFFFF fields, in order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressed === 0xffffffff) {
            uncompressed = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      members.push({ name, method, compressedSize, size: uncompressed, crc, localHeaderOffset });
      p = extraEnd + commentLen;
    }
    return members;
  } finally {
    await fh.close();
  }
}

/** A file name safe to write in our own folder. */
export function safeFileName(name: string, fallback = 'download.iso'): string {
  const base = (name.split(/[/\\]/).pop() ?? '').replace(/[\p{Cc}<>:"|?*]/gu, '_').trim();
  // Never the cache record's name: the image would overwrite its own record.
  return base && base !== '.' && base !== '..' ? imageFileName(base.slice(0, 200)) : fallback;
}

function pickMember<T extends { name: string }>(members: T[], member: RegExp, archive: string): T {
  const files = members.filter((m) => !m.name.endsWith('/'));
  const hits = files.filter((m) => member.test(m.name));
  hits.sort((a, b) => a.name.length - b.name.length);
  const hit = hits[0];
  if (!hit) {
    const shown = files
      .slice(0, 8)
      .map((m) => m.name)
      .join(', ');
    throw new VivariumError(
      'FILE_UNREADABLE',
      `${basename(archive)} holds no file matching ${member.source} (it has: ${shown || 'nothing'}).`,
    );
  }
  return hit;
}

/** Extracts the member matching `member` into `destDir`; returns its path. */
export async function extractZipMember(
  archive: string,
  member: RegExp,
  destDir: string,
  signal?: AbortSignal,
): Promise<string> {
  const members = await listZip(archive);
  const m = pickMember(members, member, archive);
  if (m.method !== 0 && m.method !== 8) {
    throw bad(
      archive,
      `${m.name} uses compression method ${m.method}; only stored and deflate are supported`,
    );
  }
  const fh = await open(archive, 'r');
  let dataStart: number;
  try {
    const local = Buffer.alloc(30);
    await fh.read(local, 0, 30, m.localHeaderOffset);
    if (local.readUInt32LE(0) !== LOCAL_SIG) throw bad(archive, 'broken local header');
    dataStart = m.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    await fh.close();
  }
  const target = join(destDir, safeFileName(m.name));
  const tmp = `${target}.partial`;
  let crc = 0;
  let written = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      crc = crc32(chunk, crc);
      written += chunk.length;
      cb(null, chunk);
    },
  });
  const source = createReadStream(archive, {
    start: dataStart,
    end: dataStart + m.compressedSize - 1,
  });
  const stages = m.method === 8 ? [source, createInflateRaw(), check] : [source, check];
  try {
    await pipeline([...stages, createWriteStream(tmp)], signal ? { signal } : {});
  } catch (err) {
    await rm(tmp, { force: true });
    if (signal?.aborted) throw err;
    throw bad(
      archive,
      `${m.name} could not be unpacked: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (written !== m.size || crc >>> 0 !== m.crc >>> 0) {
    await rm(tmp, { force: true });
    throw new VivariumError(
      'CHECKSUM_MISMATCH',
      `${m.name} in ${basename(archive)} is corrupt (its CRC does not match): it was deleted.`,
    );
  }
  await rename(tmp, target);
  return target;
}

const SEVEN_ZIP = ['7zz', '7z', '7za', '7zr'];

async function findSevenZip(): Promise<string | null> {
  for (const bin of SEVEN_ZIP) {
    try {
      await run(bin, ['i'], { timeout: 10_000 });
      return bin;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return bin;
    }
  }
  return null;
}

/** Extracts a .7z member with the 7-Zip program. */
export async function extractSevenZipMember(
  archive: string,
  member: RegExp,
  destDir: string,
): Promise<string> {
  const bin = await findSevenZip();
  if (!bin) {
    throw new VivariumError(
      'QEMU_MISSING',
      `${basename(archive)} is a 7-Zip archive and 7-Zip is not installed (Debian/Ubuntu: sudo apt install 7zip, or p7zip-full).`,
    );
  }
  const work = await mkdtemp(join(destDir, '.unpack-'));
  try {
    await run(bin, ['e', '-y', `-o${work}`, archive], { maxBuffer: 16 * 1024 * 1024 });
    const names = await readdir(work);
    const hit = pickMember(
      names.map((name) => ({ name })),
      member,
      archive,
    );
    const target = join(destDir, safeFileName(hit.name));
    await rename(join(work, hit.name), target);
    return target;
  } catch (err) {
    if (err instanceof VivariumError) throw err;
    throw bad(archive, err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

type XzModule = typeof xzModule;

/** The decoder class: bundlers see the package's named export, Node's ESM loader only `default`
 * (it is a UMD bundle). */
function xzDecoder(): XzModule['XzReadableStream'] {
  const m: Partial<XzModule> & { default?: Partial<XzModule> } = xzModule;
  const cls = m.XzReadableStream ?? m.default?.XzReadableStream;
  if (!cls) throw new VivariumError('INTERNAL', 'The xz decoder (xz-decompress) did not load.');
  return cls;
}

/** A web stream's chunks; stopping early (a cancel) cancels the stream and what feeds it. */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
  }
}

/** The name an xz-compressed download has once unpacked: without `.xz`. */
export function unxzName(name: string): string {
  const base = safeFileName(name, 'image.xz');
  return /\.xz$/i.test(base) ? base.slice(0, -3) : `${base}.img`;
}

/**
 * Decompresses an .xz file into `destDir` (as its name without .xz); returns the new file's
 * path. A truncated or corrupt stream leaves nothing behind.
 */
export async function decompressXz(
  archive: string,
  destDir: string,
  signal?: AbortSignal,
): Promise<string> {
  const target = join(destDir, unxzName(basename(archive)));
  const tmp = `${target}.partial`;
  const Decoder = xzDecoder();
  try {
    const compressed = Readable.toWeb(
      createReadStream(archive, { highWaterMark: 1024 * 1024 }),
    ) as unknown as ReadableStream<Uint8Array>;
    const plain = Readable.from(chunksOf(new Decoder(compressed)));
    await pipeline(plain, createWriteStream(tmp), signal ? { signal } : {});
  } catch (err) {
    await rm(tmp, { force: true });
    if (signal?.aborted) throw err;
    throw new VivariumError(
      'FILE_UNREADABLE',
      `${basename(archive)} could not be decompressed (${err instanceof Error ? err.message : String(err)}): it was deleted; download it again.`,
    );
  }
  await rename(tmp, target);
  return target;
}
