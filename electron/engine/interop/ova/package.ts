/**
 * Reading an OVF package without trusting it. An `.ova` is a tar (DSP0243 §5.3): the `tar`
 * library parses it as a stream and every member is looked at (its path and type checked, its
 * SHA-1 and SHA-256 computed) before anything is written, so a member named `/etc/x` or
 * `../x`, or a link, refuses the whole package with nothing on disk. Only then are the disks
 * copied out, into a folder the caller owns, and their digests checked again on the way (the
 * file could have changed between the two reads). An `.ovf` with its files beside it is read the
 * same way, in place.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { VivariumError } from '../../errors';
import type { FileDigests } from './manifest';

/** Descriptors and manifests are small; a bigger one is not what it claims to be. */
const TEXT_LIMIT = 16 * 1024 * 1024;

export interface PackageScan {
  kind: 'ova' | 'ovf';
  /** The package file (.ova) or the folder of the .ovf. */
  source: string;
  ovf: { name: string; text: string };
  manifest: { name: string; text: string } | null;
  /** Every file of the package, with its size and digests. */
  files: Map<string, FileDigests & { size: number }>;
}

/**
 * Why a member path may not be used, or null: only relative paths inside the package, without
 * `.`/`..` segments, backslashes, drive letters or control characters. Pure.
 */
export function memberPathProblem(path: string): string | null {
  if (path === '') return 'an empty name';
  if (/\p{Cc}/u.test(path)) return 'a name with control characters';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) {
    return 'an absolute path';
  }
  if (path.includes('\\')) return 'a backslash in its name';
  const segments = path.split('/');
  if (segments.some((s) => s === '..')) return 'a path that leaves the package (..)';
  if (segments.some((s) => s === '' || s === '.')) return 'an irregular path';
  return null;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function refuse(message: string): VivariumError {
  return new VivariumError('INVALID_REQUEST', message);
}

function digestsOf(sha1: Hash, sha256: Hash): FileDigests {
  return { SHA1: sha1.digest('hex'), SHA256: sha256.digest('hex') };
}

/** The members of an archive, each passed to `onFile` (which must consume or resume it). */
async function walkTar(
  file: string,
  onFile: (entry: ReadEntry, name: string) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<void> {
  const parser = new Parser({ strict: true });
  const pending: Array<Promise<void>> = [];
  // A box: TypeScript does not track assignments made in the callbacks.
  const state: { failure: Error | null } = { failure: null };
  parser.on('entry', (entry: ReadEntry) => {
    if (state.failure) {
      entry.resume();
      return;
    }
    const raw = entry.path.replace(/^\.\//, '');
    const name = raw.endsWith('/') && entry.type === 'Directory' ? raw.slice(0, -1) : raw;
    const problem = memberPathProblem(name);
    if (problem) {
      state.failure = refuse(
        `The archive has a member "${entry.path}" with ${problem}: it is refused, and nothing was written.`,
      );
    } else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      state.failure = refuse(
        `The archive's member "${name}" is a link (to ${entry.linkpath ?? '?'}): appliances hold plain files, so it is refused and nothing was written.`,
      );
    } else if (!FILE_TYPES.has(entry.type)) {
      state.failure = refuse(
        `The archive's member "${name}" is a ${entry.type}, not a plain file: it is refused and nothing was written.`,
      );
    }
    if (state.failure) {
      entry.resume();
      return;
    }
    const p = Promise.resolve(onFile(entry, name)).catch((err: unknown) => {
      state.failure ??= err instanceof Error ? err : new Error(String(err));
      entry.resume();
    });
    pending.push(p);
  });
  try {
    await pipeline(createReadStream(file), parser, { signal });
  } catch (err) {
    if (signal?.aborted) throw new VivariumError('CANCELLED', 'Cancelled');
    if (state.failure) throw state.failure;
    const message = err instanceof Error ? err.message : String(err);
    throw refuse(`${basename(file)} is not a readable OVA (tar) archive: ${message}.`);
  }
  await Promise.all(pending);
  if (state.failure) throw state.failure;
}

/** Reads a whole OVA: checks every member and computes its digests; writes nothing. */
export async function scanOva(file: string, signal?: AbortSignal): Promise<PackageScan> {
  const files = new Map<string, FileDigests & { size: number }>();
  const texts = new Map<string, string>();
  await walkTar(
    file,
    async (entry, name) => {
      if (files.has(name)) throw refuse(`The archive holds "${name}" twice: it is refused.`);
      const sha1 = createHash('sha1');
      const sha256 = createHash('sha256');
      const keep = /\.(ovf|mf)$/i.test(name);
      if (keep && entry.size > TEXT_LIMIT) throw refuse(`${name} is too large for a descriptor.`);
      const chunks: Buffer[] = [];
      let size = 0;
      await new Promise<void>((resolve, reject) => {
        entry.on('data', (chunk: Buffer) => {
          sha1.update(chunk);
          sha256.update(chunk);
          size += chunk.length;
          if (keep) chunks.push(chunk);
        });
        entry.on('end', resolve);
        entry.on('error', reject);
      });
      files.set(name, { ...digestsOf(sha1, sha256), size });
      if (keep) texts.set(name, Buffer.concat(chunks).toString('utf8'));
    },
    signal,
  );
  const ovfs = [...texts.keys()].filter((n) => /\.ovf$/i.test(n));
  const ovfName = ovfs[0];
  if (!ovfName) throw refuse(`${basename(file)} holds no .ovf descriptor: it is not an appliance.`);
  if (ovfs.length > 1) {
    throw refuse(
      `${basename(file)} holds several .ovf descriptors (${ovfs.join(', ')}): Vivarium imports one.`,
    );
  }
  const mfName = ovfName.replace(/\.ovf$/i, '.mf');
  const mfText = [...texts.entries()].find(([n]) => n.toLowerCase() === mfName.toLowerCase());
  return {
    kind: 'ova',
    source: file,
    ovf: { name: ovfName, text: texts.get(ovfName) ?? '' },
    manifest: mfText ? { name: mfText[0], text: mfText[1] } : null,
    files,
  };
}

async function hashFile(
  file: string,
  signal?: AbortSignal,
): Promise<FileDigests & { size: number }> {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  const stream = createReadStream(file);
  stream.on('data', (chunk) => {
    const b = chunk as Buffer;
    sha1.update(b);
    sha256.update(b);
    size += b.length;
  });
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
    signal?.addEventListener('abort', () => {
      stream.destroy();
      reject(new VivariumError('CANCELLED', 'Cancelled'));
    });
  });
  return { ...digestsOf(sha1, sha256), size };
}

/**
 * Reads an .ovf and the files it references beside it (`referenced`, from the envelope), each
 * checked to be a plain file inside the .ovf's folder.
 */
export async function scanOvfFolder(
  ovfFile: string,
  referenced: (ovfText: string) => string[],
  signal?: AbortSignal,
): Promise<PackageScan> {
  const folder = await realpath(dirname(ovfFile));
  const ovfName = basename(ovfFile);
  const text = await readFile(ovfFile, 'utf8');
  const files = new Map<string, FileDigests & { size: number }>();
  files.set(ovfName, await hashFile(ovfFile, signal));
  const mfName = ovfName.replace(/\.ovf$/i, '.mf');
  const mfPath = join(folder, mfName);
  const mf = await readFile(mfPath, 'utf8').catch(() => null);
  if (mf !== null) files.set(mfName, await hashFile(mfPath, signal));
  for (const name of referenced(text)) {
    const problem = memberPathProblem(name);
    if (problem) throw refuse(`The descriptor references "${name}", ${problem}: it is refused.`);
    const full = join(folder, name);
    const st = await lstat(full).catch(() => null);
    if (!st) {
      throw refuse(
        `The descriptor references ${name}, which is not beside ${ovfName} in ${folder}: the appliance is incomplete.`,
      );
    }
    const real = await realpath(full);
    const rel = relative(folder, real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw refuse(`${name} links to ${real}, outside the appliance's folder: it is refused.`);
    }
    if (!(await lstat(real)).isFile()) throw refuse(`${name} is not a plain file: it is refused.`);
    files.set(name, await hashFile(real, signal));
  }
  return {
    kind: 'ovf',
    source: folder,
    ovf: { name: ovfName, text },
    manifest: mf !== null ? { name: mfName, text: mf } : null,
    files,
  };
}

/**
 * Copies the named members of an OVA into `dir` (which must exist and be the caller's), checking
 * each one's SHA-256 against what the scan computed. `onBytes` reports the bytes copied so far.
 */
export async function extractMembers(
  file: string,
  dir: string,
  wanted: ReadonlyMap<string, string>,
  onBytes: (done: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  let done = 0;
  const seen = new Set<string>();
  await walkTar(
    file,
    async (entry, name) => {
      const expected = wanted.get(name);
      if (expected === undefined) {
        entry.resume();
        return;
      }
      const target = join(dir, name);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const sha256 = createHash('sha256');
      // Hashed on the way to the file (a second listener could miss what the entry buffered).
      const count = new Transform({
        transform(chunk: Buffer, _enc, next) {
          sha256.update(chunk);
          done += chunk.length;
          onBytes(done);
          next(null, chunk);
        },
      });
      await pipeline(entry, count, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      if (sha256.digest('hex') !== expected) {
        throw refuse(`${name} changed while it was being imported: import it again.`);
      }
      seen.add(name);
    },
    signal,
  );
  for (const name of wanted.keys()) {
    if (!seen.has(name))
      throw refuse(`${name} vanished from ${basename(file)} while it was being imported.`);
  }
}
