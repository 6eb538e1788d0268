/**
 * Install media: downloaded with a streaming SHA-256 (and SHA-512 where a project publishes only
 * that), resumable with HTTP Range after a cancel, a crash or a lost connection, verified, and
 * kept in `<cache>/media/<sha256>/` so nothing is downloaded twice.
 *
 * On disk:
 *   media/<sha256>/<image>        the verified image (read-only), extracted from its archive if any
 *   media/<sha256>/meta.json      a CachedMedia record (without usedBy: that is asked each time)
 *   media/.partial/<key>.part     an unfinished download; <key>.json beside it says from where
 *                                 (URL, ETag/Last-Modified, size, expected hash); <key>.pid names
 *                                 the process writing it while a download runs
 *
 * Which VMs hold an image in their CD-ROM is the engine's knowledge, not the cache's: the engine
 * lends it as `users` (CachedMedia.usedBy), and `media.delete` asks it before removing anything.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  statfs,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type {
  CachedMedia,
  MediaDownloadResult,
  MediaSpec,
  PartialDownload,
} from '../../../common/contract';
import { VivariumError } from '../errors';
import { processAlive } from '../qemu/process-info';
import { writeFileAtomic } from '../library/atomic-file';
import type { TaskContext } from '../tasks/task-manager';
import { extractSevenZipMember, extractZipMember, safeFileName } from './archive';
import {
  findChecksum,
  parseChecksumList,
  type ChecksumLine,
  type HashAlgorithm,
} from './checksums';
import {
  abortError,
  fetchText,
  httpGet,
  httpStatusError,
  listingNames,
  pickLatest,
  type HttpResponse,
  type RequestOptions,
} from './http';
import { HashingWriter, type Digests } from './hashing-writer';

/** Room kept free on the cache's disk besides the download itself. */
const FREE_SPACE_MARGIN = 256 * 2 ** 20;
/** Reconnects without progress before a mirror counts as failed. */
const MAX_STALLED_RETRIES = 4;
const RETRY_DELAYS_MS = [250, 1000, 2000, 4000];
/** Bytes buffered before the socket is paused while the disk catches up. */
const HIGH_WATER = 8 * 2 ** 20;
/**
 * A part another process says it is writing (its .pid file) counts as busy only while that
 * process lives and the part (or the .pid file) changed this recently: a pid that a crashed
 * download left behind and an unrelated process reused later does not lock the part for ever.
 */
const FOREIGN_WRITER_FRESH_MS = 10 * 60_000;
/** The keys `keyFor` makes: only these name a download's part (uploads' parts are not theirs). */
const PART_KEY_RE = /^(?:sha256|sha512|url)-[0-9a-f]{32}$/;

/** A VM that holds an image in its CD-ROM. */
export type MediaUser = CachedMedia['usedBy'][number];
/** The VMs by the real path of the image in their CD-ROM (the engine answers). */
export type CdromUsers = () => Promise<Map<string, MediaUser[]>>;
/** A cache record as meta.json holds it: who uses the image is asked each time, never stored. */
export type StoredMedia = Omit<CachedMedia, 'usedBy'>;

/** The real path of a file (symlinks resolved), or its absolute path when it is not there. */
export function realPathOf(file: string): Promise<string> {
  return realpath(file).catch(() => resolve(file));
}

/**
 * What this process is busy with, for every MediaStore in it (an app, a server, a test may open
 * several engines on one home): part files being written by a transfer, and cache folders being
 * filled by a download or an upload (moved in, unpacked), each with how many are at it.
 */
const writingParts = new Map<string, number>();
const storingDirs = new Map<string, number>();

function hold(map: Map<string, number>, key: string): () => void {
  map.set(key, (map.get(key) ?? 0) + 1);
  return () => {
    const n = (map.get(key) ?? 1) - 1;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  };
}

export interface Expected {
  algorithm: HashAlgorithm;
  hex: string;
  /** Where the expected hash came from, for messages and the cache record. */
  source: 'published' | 'user';
}

interface Sidecar {
  url: string;
  etag: string | null;
  lastModified: string | null;
  total: number | null;
  expected: Expected | null;
}

export interface DownloadMeta {
  os: string | null;
  version: string | null;
  mediaId: string | null;
  /** For progress messages, e.g. "Debian 13 netinst". */
  label: string;
}

export interface Transferred {
  part: string;
  sha256: string;
  sha512: string | null;
  bytes: number;
  url: string;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The file name a URL gives: its last path segment, decoded (else the whole URL). */
function fileNameOfUrl(url: string): string {
  let segment = '';
  try {
    segment = new URL(url).pathname.split('/').pop() ?? '';
    segment = decodeURIComponent(segment);
  } catch {
    // Not a URL, or a broken %-escape: the segment as it is.
  }
  return segment || url;
}

function keyFor(url: string, expected: Expected | null): string {
  return expected
    ? `${expected.algorithm}-${expected.hex.slice(0, 32)}`
    : `url-${createHash('sha256').update(url).digest('hex').slice(0, 32)}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function diskError(err: unknown, what: string): VivariumError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
    return new VivariumError(
      'DISK_FULL',
      `The disk is full while ${what}: free some space and download again (it resumes).`,
    );
  }
  return err instanceof VivariumError
    ? err
    : new VivariumError('FILE_UNREADABLE', `Failed while ${what}: ${e.message}`);
}

/**
 * Reads a response body into the writer, pausing the socket while the disk is behind. Resolves at
 * the body's end; rejects on a cut connection, after the last write it started has finished (so
 * the writer's position and hashes still match the file).
 */
function receive(
  res: HttpResponse,
  writer: HashingWriter,
  signal: AbortSignal,
  onProgress: () => void,
): Promise<void> {
  const body = res.body;
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let writing = false;
    let ended = false;
    let failure: Error | null = null;
    let settled = false;
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const pump = () => {
      if (writing) return;
      if (failure) return settle(failure);
      if (pending.length === 0) {
        if (ended) settle(null);
        return;
      }
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      writing = true;
      writer.write(batch).then(
        () => {
          writing = false;
          onProgress();
          if (body.isPaused() && !ended && !failure) body.resume();
          pump();
        },
        (err: unknown) => {
          writing = false;
          failure = diskError(err, 'writing the download');
          body.destroy();
          settle(failure);
        },
      );
    };
    const fail = (err: Error) => {
      failure ??= err;
      if (!writing) settle(failure);
    };
    const onAbort = () => {
      body.destroy();
      fail(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    body.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= HIGH_WATER) body.pause();
      pump();
    });
    body.on('end', () => {
      ended = true;
      pump();
    });
    body.on('error', (err) =>
      fail(
        new VivariumError('NETWORK', `The connection to ${hostOf(res.url)} broke: ${err.message}`),
      ),
    );
    body.on('close', () => {
      if (!body.complete && !ended) {
        fail(
          new VivariumError(
            'NETWORK',
            `The connection to ${hostOf(res.url)} closed before the end of the file.`,
          ),
        );
      }
    });
  });
}

async function hashFile(
  file: string,
  algorithms: { sha512: boolean },
  signal: AbortSignal,
): Promise<{ sha256: Hash; sha512: Hash | null; bytes: number }> {
  const sha256 = createHash('sha256');
  const sha512 = algorithms.sha512 ? createHash('sha512') : null;
  let bytes = 0;
  const stream = createReadStream(file, { highWaterMark: 4 * 2 ** 20, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    sha256.update(chunk);
    sha512?.update(chunk);
    bytes += chunk.length;
  }
  return { sha256, sha512, bytes };
}

async function readSidecar(file: string): Promise<Sidecar | null> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as Partial<Sidecar>;
    if (typeof s.url !== 'string') return null;
    return {
      url: s.url,
      etag: typeof s.etag === 'string' ? s.etag : null,
      lastModified: typeof s.lastModified === 'string' ? s.lastModified : null,
      total: typeof s.total === 'number' ? s.total : null,
      expected: s.expected ?? null,
    };
  } catch {
    return null;
  }
}

export interface MediaStoreOptions {
  cacheDir: string;
}

export class MediaStore {
  readonly dir: string;
  private readonly partDir: string;

  constructor(opts: MediaStoreOptions) {
    this.dir = join(opts.cacheDir, 'media');
    this.partDir = join(this.dir, '.partial');
  }

  // -------------------------------------------------------------------------------------------
  // The cache

  /**
   * Tells the cache which VMs hold which images in their CD-ROM (the engine does, at start):
   * `list` and `get` fill `usedBy` from it. Without it no image is in use.
   */
  users: CdromUsers = () => Promise.resolve(new Map<string, MediaUser[]>());

  async list(): Promise<CachedMedia[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const users = await this.users();
    const out: CachedMedia[] = [];
    for (const name of names) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const m = await this.read(name);
      if (m) out.push(await this.withUsers(m, users));
    }
    return out.sort((a, b) => b.addedAt.localeCompare(a.addedAt));
  }

  /** The cached media with this SHA-256 (of the download), if it is complete. */
  async get(sha256: string): Promise<CachedMedia | null> {
    const m = await this.read(sha256);
    return m && this.withUsers(m, await this.users());
  }

  private async read(sha256: string): Promise<StoredMedia | null> {
    try {
      const meta = JSON.parse(
        await readFile(join(this.dir, sha256, 'meta.json'), 'utf8'),
      ) as StoredMedia & { usedBy?: unknown };
      const st = await stat(meta.file);
      if (!st.isFile() || st.size !== meta.bytes) return null;
      const { usedBy: _ignored, ...stored } = meta;
      return stored;
    } catch {
      return null;
    }
  }

  private async withUsers(m: StoredMedia, users: Map<string, MediaUser[]>): Promise<CachedMedia> {
    return { ...m, usedBy: users.size ? (users.get(await realPathOf(m.file)) ?? []) : [] };
  }

  /**
   * The VMs whose CD-ROM holds an image of this cache entry: its file, or (for an entry whose
   * meta.json is gone) any file in its folder, since removing the entry removes the folder.
   */
  async usersOf(sha256: string): Promise<MediaUser[]> {
    const users = await this.users();
    if (!users.size) return [];
    const m = await this.read(sha256);
    if (m) return users.get(await realPathOf(m.file)) ?? [];
    const dir = `${await realPathOf(join(this.dir, sha256))}${sep}`;
    const out = new Map<string, MediaUser>();
    for (const [file, vms] of users) {
      if (file.startsWith(dir)) for (const vm of vms) out.set(vm.id, vm);
    }
    return [...out.values()];
  }

  async find(match: (m: CachedMedia) => boolean): Promise<CachedMedia | null> {
    return (await this.list()).find(match) ?? null;
  }

  /**
   * Removes a cache entry. Whether VMs still use it is the caller's question (`media.delete`
   * asks `usersOf` first); one that a download or upload of this process is storing right now
   * is refused.
   */
  async remove(sha256: string): Promise<{ deleted: boolean; file: string | null }> {
    this.assertNotStoring(sha256);
    const meta = await this.read(sha256);
    const dir = join(this.dir, sha256);
    const existed = await stat(dir).then(
      () => true,
      () => false,
    );
    await rm(dir, { recursive: true, force: true });
    return { deleted: existed, file: meta?.file ?? null };
  }

  /** Refuses (BAD_STATE) while a download or upload of this process stores this image. */
  assertNotStoring(sha256: string): void {
    if (storingDirs.has(join(this.dir, sha256))) {
      throw new VivariumError(
        'BAD_STATE',
        `The image ${sha256.slice(0, 12)}… is being stored by a download or upload right now: try again when it has finished.`,
      );
    }
  }

  /** Runs `work` while the image with this SHA-256 counts as being stored (see `remove`). */
  async storingImage<T>(sha256: string, work: () => Promise<T>): Promise<T> {
    const release = hold(storingDirs, join(this.dir, sha256));
    try {
      return await work();
    } finally {
      release();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Partial downloads

  /**
   * The downloads that stopped before their end and can resume (a part with its sidecar), newest
   * first. Parts being written now are left out: by a transfer of this process, or by another
   * Vivarium process (the CLI beside the app) that their .pid file names. Uploads' parts, which
   * never resume, and parts without a sidecar (which the next download of theirs replaces) are
   * not listed either.
   */
  async partials(): Promise<PartialDownload[]> {
    let names: string[];
    try {
      names = await readdir(this.partDir);
    } catch {
      return [];
    }
    const out: PartialDownload[] = [];
    for (const name of names) {
      if (!name.endsWith('.part')) continue;
      const key = name.slice(0, -'.part'.length);
      if (!PART_KEY_RE.test(key)) continue;
      if (await this.partBusy(key)) continue;
      const sidecar = await readSidecar(join(this.partDir, `${key}.json`));
      const st = await stat(join(this.partDir, name)).catch(() => null);
      if (!sidecar || !st?.isFile()) continue;
      out.push({
        key,
        url: sidecar.url,
        filename: fileNameOfUrl(sidecar.url),
        bytes: st.size,
        total: sidecar.total,
        sha256: sidecar.expected?.algorithm === 'sha256' ? sidecar.expected.hex : null,
        modifiedAt: st.mtime.toISOString(),
      });
    }
    return out.sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt));
  }

  /**
   * Deletes a partial download (its part, sidecar and stale .pid file) and says how many bytes
   * that freed. NOT_FOUND when there is none by that key; BAD_STATE while it is being written.
   */
  async discardPartial(key: string): Promise<{ discarded: boolean; bytes: number }> {
    const part = join(this.partDir, `${key}.part`);
    const sidecarFile = join(this.partDir, `${key}.json`);
    const [partStat, sidecarStat] = PART_KEY_RE.test(key)
      ? await Promise.all([stat(part).catch(() => null), stat(sidecarFile).catch(() => null)])
      : [null, null];
    if (!partStat && !sidecarStat) {
      throw new VivariumError(
        'NOT_FOUND',
        `There is no partial download "${key}": it may have finished, or been discarded already.`,
      );
    }
    const writer = await this.partBusy(key);
    if (writer) {
      throw new VivariumError(
        'BAD_STATE',
        `The partial download "${key}" is being downloaded right now${writer === 'here' ? '' : ` (by process ${writer})`}: cancel that download first.`,
      );
    }
    await rm(part, { force: true });
    await rm(sidecarFile, { force: true });
    await rm(join(this.partDir, `${key}.pid`), { force: true });
    return { discarded: true, bytes: partStat?.size ?? 0 };
  }

  /**
   * Who is writing the part `key` now: 'here' (a transfer of this process), the pid of another
   * live process that wrote its .pid file and keeps the part fresh, or null.
   */
  private async partBusy(key: string): Promise<'here' | number | null> {
    if (writingParts.has(join(this.partDir, `${key}.part`))) return 'here';
    return this.foreignWriter(key);
  }

  /** The pid of another live process that wrote `key`'s .pid file and keeps the part fresh. */
  private async foreignWriter(key: string): Promise<number | null> {
    const pidFile = join(this.partDir, `${key}.pid`);
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !processAlive(pid)) {
      return null;
    }
    const times = await Promise.all(
      [pidFile, join(this.partDir, `${key}.part`)].map((f) =>
        stat(f).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
      ),
    );
    return Date.now() - Math.max(...times) < FOREIGN_WRITER_FRESH_MS ? pid : null;
  }

  /** Bytes free for the cache, or null when the platform cannot say. */
  async freeBytes(): Promise<number | null> {
    try {
      await mkdir(this.partDir, { recursive: true });
      const s = await statfs(this.partDir);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  }

  private async ensureSpace(needBytes: number, what: string): Promise<void> {
    if (needBytes <= 0) return;
    const free = await this.freeBytes();
    if (free === null) return;
    if (free < needBytes + FREE_SPACE_MARGIN) {
      const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
      throw new VivariumError(
        'DISK_FULL',
        `Not enough free disk space for ${what}: it needs ${gib(needBytes)} and ${gib(free)} are free in ${this.dir}. Free some space and try again.`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Catalogue media

  /**
   * Fetches one of the catalogue's media: already cached (same OS, version and media, or the same
   * published hash) -> no download; else each URL in turn (mirrors), resolving the file name and
   * the expected hash from the project's checksum list or folder listing.
   */
  async fetchSpec(
    spec: MediaSpec,
    meta: DownloadMeta,
    ctx: TaskContext,
  ): Promise<MediaDownloadResult> {
    const cachedSame = await this.find(
      (m) => m.os === meta.os && m.version === meta.version && m.mediaId === meta.mediaId,
    );
    if (cachedSame) return this.reused(cachedSame);
    if (spec.sha256) {
      const bySha = await this.get(spec.sha256);
      if (bySha) return this.reused(bySha);
    }
    if (spec.urls.length === 0) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${meta.label} cannot be downloaded by Vivarium${spec.page ? `: get it from ${spec.page}` : ''}${spec.checksumReason ? ` (${spec.checksumReason})` : ''}, then use that file.`,
      );
    }
    const errors: string[] = [];
    // A file name found on one mirror holds for the next ones.
    const known = { fileName: spec.file ?? null };
    for (const template of spec.urls) {
      ctx.signal.throwIfAborted();
      try {
        ctx.report({ message: `Looking up ${meta.label} on ${hostOf(template)}` });
        const src = await resolveMediaSource(spec, template, { signal: ctx.signal, known });
        if (src.expected?.algorithm === 'sha256') {
          const bySha = await this.get(src.expected.hex);
          if (bySha) return this.reused(bySha);
        }
        const got = await this.transfer(
          src.url,
          src.expected,
          spec.sizeBytes ?? null,
          meta.label,
          ctx,
          spec.archive ? 2 : 1,
        );
        return await this.store(
          got,
          src.name,
          src.expected,
          meta,
          spec,
          src.checksums?.lines ?? null,
          ctx,
        );
      } catch (err) {
        ctx.signal.throwIfAborted();
        // A full disk, or the same image being downloaded already, is no mirror's fault.
        if (err instanceof VivariumError && (err.code === 'DISK_FULL' || err.code === 'BAD_STATE'))
          throw err;
        if (
          err instanceof VivariumError &&
          err.code === 'CHECKSUM_MISMATCH' &&
          template === spec.urls[spec.urls.length - 1]
        ) {
          throw err;
        }
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    throw new VivariumError(
      'NETWORK',
      errors.length === 1
        ? errors[0]!
        : `${meta.label} could not be downloaded from any mirror: ${errors.join(' | ')}`,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Any URL

  async fetchUrl(
    url: string,
    sha256: string | null,
    ctx: TaskContext,
  ): Promise<MediaDownloadResult> {
    const expected: Expected | null = sha256
      ? { algorithm: 'sha256', hex: sha256, source: 'user' }
      : null;
    if (expected) {
      const hit = await this.get(expected.hex);
      if (hit) return this.reused(hit);
    } else {
      const byUrl = await this.find((m) => m.url === url);
      if (byUrl) return this.reused(byUrl);
    }
    const name = safeFileName(decodeURIComponent(new URL(url).pathname.split('/').pop() ?? ''));
    const meta: DownloadMeta = { os: null, version: null, mediaId: null, label: name };
    const got = await this.transfer(url, expected, null, name, ctx, 1);
    return this.store(got, name, expected, meta, null, null, ctx);
  }

  private reused(m: CachedMedia): MediaDownloadResult {
    return { file: m.file, sha256: m.sha256, bytes: m.bytes, reused: true, media: m };
  }

  // -------------------------------------------------------------------------------------------
  // The transfer

  /**
   * Downloads `url` into a .part file, resuming one left by an earlier attempt, reconnecting
   * with Range when the connection breaks, and checks the hash at the end (a mismatch deletes
   * the part). `spaceFactor` 2 leaves room for unpacking an archive. While it runs the part
   * counts as being written (`partials` leaves it out, `discardPartial` refuses it): in this
   * process, and for other processes through the <key>.pid file.
   */
  async transfer(
    url: string,
    expected: Expected | null,
    sizeHint: number | null,
    label: string,
    ctx: TaskContext,
    spaceFactor = 1,
  ): Promise<Transferred> {
    await mkdir(this.partDir, { recursive: true });
    const key = keyFor(url, expected);
    const pidFile = join(this.partDir, `${key}.pid`);
    const partFile = join(this.partDir, `${key}.part`);
    // Two writers of one part would interleave their bytes: the same image asked for twice (by
    // catalogue entry and by URL, or from the CLI beside the app) waits for the first instead.
    const already = (by: string) =>
      new VivariumError(
        'BAD_STATE',
        `${label} is already being downloaded ${by}: it will be in the cache when that finishes.`,
      );
    if (writingParts.has(partFile)) throw already('(see its task)');
    const release = hold(writingParts, partFile);
    try {
      const other = await this.foreignWriter(key);
      if (other !== null) throw already(`by another Vivarium process (pid ${other})`);
      // Only a hint for other processes: a download does not fail for want of it.
      await writeFile(pidFile, `${process.pid}\n`).catch(() => undefined);
      return await this.transferNow(url, expected, sizeHint, label, ctx, spaceFactor);
    } finally {
      release();
      const owner = await readFile(pidFile, 'utf8').catch(() => '');
      const stillOurs = writingParts.has(partFile);
      if (!stillOurs && owner.trim() === String(process.pid)) await rm(pidFile, { force: true });
    }
  }

  private async transferNow(
    url: string,
    expected: Expected | null,
    sizeHint: number | null,
    label: string,
    ctx: TaskContext,
    spaceFactor: number,
  ): Promise<Transferred> {
    const { signal } = ctx;
    const key = keyFor(url, expected);
    const part = join(this.partDir, `${key}.part`);
    const sidecarFile = join(this.partDir, `${key}.json`);

    let sidecar = await readSidecar(sidecarFile);
    let offset = await stat(part).then(
      (s) => s.size,
      () => 0,
    );
    // A part from elsewhere (another URL without a hash to tie them) is not ours to continue.
    if (
      offset > 0 &&
      (!sidecar || (sidecar.url !== url && !(expected && sidecar.expected?.hex === expected.hex)))
    ) {
      await rm(part, { force: true });
      offset = 0;
      sidecar = null;
    }
    if (offset > 0) {
      ctx.report({ message: `Checking the ${Math.round(offset / 2 ** 20)} MiB downloaded before` });
    }
    const sha512 = expected?.algorithm === 'sha512';
    let fh = await open(part, offset > 0 ? 'r+' : 'w');
    let writer: HashingWriter;
    try {
      writer = await HashingWriter.open(fh, { sha512, existing: offset > 0, signal });
    } catch (err) {
      await fh.close();
      throw err;
    }
    const resumedFrom = writer.position;
    const startOver = async () => {
      await writer.close();
      await this.restart(fh, part);
      fh = await open(part, 'w');
      writer = await HashingWriter.open(fh, { sha512, existing: false, signal });
    };
    let total = sidecar?.total ?? null;
    let stalled = 0;
    let finalUrl = url;
    let digests: Digests;
    try {
      if (sizeHint) await this.ensureSpace(sizeHint * spaceFactor - resumedFrom, label);
      for (;;) {
        signal.throwIfAborted();
        const from = writer.position;
        const headers: Record<string, string> = {};
        if (from > 0) {
          headers.range = `bytes=${from}-`;
          const validator = sidecar?.etag ?? sidecar?.lastModified;
          if (validator) headers['if-range'] = validator;
        }
        let res: HttpResponse;
        try {
          res = await httpGet(url, { headers, signal });
        } catch (err) {
          signal.throwIfAborted();
          if (
            err instanceof VivariumError &&
            err.code === 'NETWORK' &&
            stalled < MAX_STALLED_RETRIES
          ) {
            await sleep(RETRY_DELAYS_MS[stalled++] ?? 4000, signal);
            continue;
          }
          throw err;
        }
        finalUrl = res.url;
        if (res.status === 416 && from > 0) {
          res.body.resume();
          // Already complete (the part holds it all), or the file changed: start over.
          if (total !== null && from === total) break;
          await startOver();
          total = null;
          continue;
        }
        if (res.status !== 200 && res.status !== 206) {
          res.body.resume();
          throw httpStatusError(url, res.status);
        }
        const type = res.headers['content-type'] ?? '';
        if (type.startsWith('text/html') && !/\.html?$/i.test(new URL(res.url).pathname)) {
          // A download page (or a captive portal) instead of the file.
          res.body.destroy();
          throw new VivariumError(
            'NETWORK',
            `${hostOf(res.url)} answered with a web page instead of ${label}: the download link may have moved.`,
          );
        }
        const length = Number(res.headers['content-length'] ?? NaN);
        if (res.status === 206) {
          const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
          if (!range || Number(range[1]) !== from) {
            // A range we did not ask for: download it whole instead.
            res.body.destroy();
            await startOver();
            sidecar = null;
            continue;
          }
          total = range[3] === '*' ? null : Number(range[3]);
        } else {
          if (from > 0) {
            // The server ignored Range (or the file changed under If-Range): start from zero.
            await startOver();
          }
          total = Number.isFinite(length) ? length : null;
        }
        if (total !== null && writer.position === 0)
          await this.ensureSpace(total * spaceFactor, label);
        sidecar = {
          url,
          etag:
            typeof res.headers.etag === 'string' && !res.headers.etag.startsWith('W/')
              ? res.headers.etag
              : null,
          lastModified:
            typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : null,
          total,
          expected,
        };
        await writeFile(sidecarFile, `${JSON.stringify(sidecar)}\n`);
        ctx.report({
          bytesDone: writer.position,
          bytesTotal: total,
          message: `Downloading ${label} from ${hostOf(res.url)}${writer.position > 0 ? ` (resumed at ${Math.round(writer.position / 2 ** 20)} MiB)` : ''}`,
        });
        const before = writer.position;
        try {
          await receive(res, writer, signal, () => ctx.report({ bytesDone: writer.position }));
          break;
        } catch (err) {
          signal.throwIfAborted();
          if (err instanceof VivariumError && err.code === 'DISK_FULL') throw err;
          if (writer.position > before) stalled = 0;
          if (stalled >= MAX_STALLED_RETRIES) throw err;
          ctx.report({
            message: `The connection broke at ${Math.round(writer.position / 2 ** 20)} MiB: resuming`,
          });
          await sleep(RETRY_DELAYS_MS[stalled++] ?? 4000, signal);
        }
      }
      if (total !== null && writer.position !== total) {
        throw new VivariumError(
          'NETWORK',
          `${label}: the server sent ${writer.position} of ${total} bytes.`,
        );
      }
      digests = await writer.finish();
    } catch (err) {
      // Nothing worth resuming: leave no empty part behind.
      if (writer.position === 0) {
        await fh.close().catch(() => undefined);
        await rm(part, { force: true });
        await rm(sidecarFile, { force: true });
      }
      throw err;
    } finally {
      await writer.close();
      await fh.close().catch(() => undefined);
    }

    const { sha256 } = digests;
    if (expected) {
      const got = expected.algorithm === 'sha512' ? digests.sha512 : sha256;
      if (got !== expected.hex) {
        await rm(part, { force: true });
        await rm(sidecarFile, { force: true });
        if (resumedFrom > 0) {
          // The earlier part may have been the culprit: one clean attempt from zero.
          ctx.report({
            message: `${label} did not verify after resuming: downloading it again from the start`,
          });
          return this.transferNow(url, expected, sizeHint, label, ctx, spaceFactor);
        }
        const from =
          expected.source === 'user'
            ? 'the SHA-256 you gave'
            : `the published ${expected.algorithm.toUpperCase()}`;
        throw new VivariumError(
          'CHECKSUM_MISMATCH',
          `${label} from ${hostOf(finalUrl)} does not match ${from} (expected ${expected.hex.slice(0, 16)}..., got ${(got ?? '').slice(0, 16)}...): the file was deleted. It may be corrupt or tampered with; try again later or another mirror.`,
        );
      }
    }
    await rm(sidecarFile, { force: true });
    return { part, sha256, sha512: digests.sha512, bytes: writer.position, url: finalUrl };
  }

  private async restart(fh: FileHandle, part: string): Promise<void> {
    await fh.close();
    await rm(part, { force: true });
  }

  /** Moves a verified part into the cache (unpacking an archive) and records it. */
  private async store(
    got: Transferred,
    name: string,
    expected: Expected | null,
    meta: DownloadMeta,
    spec: MediaSpec | null,
    lines: ChecksumLine[] | null,
    ctx: TaskContext,
  ): Promise<MediaDownloadResult> {
    return this.storingImage(got.sha256, async () => {
      const dir = join(this.dir, got.sha256);
      await mkdir(dir, { recursive: true });
      const downloaded = join(dir, safeFileName(name));
      await rename(got.part, downloaded);
      let file = downloaded;
      let verified: CachedMedia['verified'] = expected ? expected.source : 'none';
      try {
        if (spec?.archive) {
          ctx.report({ message: `Unpacking ${name}` });
          const member = new RegExp(spec.archive.member, 'i');
          file =
            spec.archive.format === 'zip'
              ? await extractZipMember(downloaded, member, dir, ctx.signal)
              : await extractSevenZipMember(downloaded, member, dir);
          // Some projects publish the image's checksum rather than the archive's.
          if (!expected && lines && spec.checksum) {
            const inner = findChecksum(lines, file.split('/').pop() ?? '', spec.checksum.algorithm);
            if (inner) {
              const h = await hashFile(
                file,
                { sha512: spec.checksum.algorithm === 'sha512' },
                ctx.signal,
              );
              const hex = (spec.checksum.algorithm === 'sha512' ? h.sha512 : h.sha256)!.digest(
                'hex',
              );
              if (hex !== inner) {
                throw new VivariumError(
                  'CHECKSUM_MISMATCH',
                  `${meta.label} does not match its published ${spec.checksum.algorithm.toUpperCase()}: the file was deleted.`,
                );
              }
              verified = 'published';
            }
          }
          if (file !== downloaded) await rm(downloaded, { force: true });
        }
        await chmod(file, 0o444);
        const { size } = await stat(file);
        const record: StoredMedia = {
          sha256: got.sha256,
          file,
          filename: file.split('/').pop() ?? name,
          bytes: size,
          url: got.url,
          os: meta.os,
          version: meta.version,
          mediaId: meta.mediaId,
          verified,
          addedAt: new Date().toISOString(),
        };
        await writeFileAtomic(
          join(dir, 'meta.json'),
          `${JSON.stringify(record, null, 2)}\n`,
          false,
        );
        const media: CachedMedia = {
          ...record,
          usedBy: (await this.get(got.sha256))?.usedBy ?? [],
        };
        return { file, sha256: got.sha256, bytes: size, reused: false, media };
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Resolving a catalogue media source (shared by downloads and `catalog.check`)

/** One mirror of a catalogue media, resolved: what a download fetches and checks it against. */
export interface ResolvedMedia {
  /** The image's concrete URL ({latest:...} and {file} filled in). */
  url: string;
  /** The file name it is stored under. */
  name: string;
  /** Its folder: checksum lists and the folder listing are read from here. */
  dir: string;
  /** The hash it must have, or null when there is none to check (a stated checksumReason). */
  expected: Expected | null;
  /** The checksum list that was read, when the media has one. */
  checksums: { url: string; lines: ChecksumLine[] } | null;
}

export interface ResolveMediaOptions {
  signal: AbortSignal;
  /** Per request: give up after this long without an answer (default: http.ts's). */
  idleTimeoutMs?: number;
  /** The file name as known so far (from the spec or an earlier mirror); updated as soon as one
   * is found, even when a later step fails, so the next mirror reuses it. */
  known?: { fileName: string | null };
}

/**
 * Turns one of a media's URL templates into a concrete URL and the expected hash, reading folder
 * listings ({latest:REGEX}, filePattern) and the published checksum list as a download does,
 * without fetching the image. Throws a NETWORK error saying what is missing where.
 */
export async function resolveMediaSource(
  spec: MediaSpec,
  template: string,
  opts: ResolveMediaOptions,
): Promise<ResolvedMedia> {
  const { signal } = opts;
  const req: RequestOptions & { signal: AbortSignal } = { signal };
  if (opts.idleTimeoutMs !== undefined) req.idleTimeoutMs = opts.idleTimeoutMs;
  const known = opts.known ?? { fileName: spec.file ?? null };
  const concrete = await expandLatest(template, req);
  const dir = concrete.includes('{file}')
    ? concrete.slice(0, concrete.indexOf('{file}'))
    : concrete.slice(0, concrete.lastIndexOf('/') + 1);
  let listing: string[] | null = null;
  const list = async () => (listing ??= listingNames((await fetchText(dir, req)).text));

  let checksums: { url: string; lines: ChecksumLine[] } | null = null;
  let expected: Expected | null = spec.sha256
    ? { algorithm: 'sha256', hex: spec.sha256, source: 'published' }
    : null;
  if (spec.checksum && !expected) {
    if (
      !known.fileName &&
      spec.filePattern &&
      spec.checksum.urls.every((u) => u.includes('{file}'))
    ) {
      known.fileName = pickLatest(await list(), new RegExp(spec.filePattern));
      // Every checksum list is named after the file: without it, none can be read.
      if (!known.fileName) throw noFileMatching(spec.filePattern, dir);
    }
    checksums = await loadChecksums(spec, dir, known.fileName, list, req);
  }
  const lines = checksums?.lines ?? null;
  if (!known.fileName && spec.filePattern) {
    const re = new RegExp(spec.filePattern);
    known.fileName =
      (lines &&
        pickLatest(
          lines.map((l) => l.name),
          re,
        )) ??
      pickLatest(await list(), re);
    if (!known.fileName) throw noFileMatching(spec.filePattern, dir);
  }
  const name =
    known.fileName ??
    safeFileName(decodeURIComponent(new URL(concrete).pathname.split('/').pop() ?? ''));
  if (checksums && spec.checksum) {
    const hex = findChecksum(checksums.lines, spec.checksum.name ?? name, spec.checksum.algorithm);
    if (hex) expected = { algorithm: spec.checksum.algorithm, hex, source: 'published' };
    else if (!spec.archive) {
      throw new VivariumError(
        'NETWORK',
        `The checksum list ${checksums.url} has no ${spec.checksum.algorithm.toUpperCase()} line for ${spec.checksum.name ?? name}.`,
      );
    }
  }
  const url = concrete.replace('{file}', encodeURIComponent(name));
  return { url, name, dir, expected, checksums };
}

function noFileMatching(pattern: string, dir: string): VivariumError {
  return new VivariumError('NETWORK', `No file matching ${pattern} is published at ${dir}.`);
}

/** Replaces each {latest:REGEX} with the greatest matching entry of that folder's listing. */
async function expandLatest(template: string, req: RequestOptions): Promise<string> {
  let out = template;
  for (;;) {
    const start = out.indexOf('{latest:');
    if (start < 0) return out;
    const end = placeholderEnd(out, start);
    const pattern = new RegExp(out.slice(start + '{latest:'.length, end));
    const dir = out.slice(0, start);
    const names = listingNames((await fetchText(dir, req)).text);
    const latest = pickLatest(names, pattern);
    if (!latest)
      throw new VivariumError('NETWORK', `Nothing matching ${pattern.source} is listed at ${dir}.`);
    out = out.slice(0, start) + encodeURIComponent(latest) + out.slice(end + 1);
  }
}

/** The first of the media's checksum lists that loads and holds checksums. */
async function loadChecksums(
  spec: MediaSpec,
  dir: string,
  fileName: string | null,
  list: () => Promise<string[]>,
  req: RequestOptions & { signal: AbortSignal },
): Promise<{ url: string; lines: ChecksumLine[] }> {
  const { signal } = req;
  const errors: string[] = [];
  for (const raw of spec.checksum?.urls ?? []) {
    try {
      if (raw.includes('{file}') && !fileName)
        throw new VivariumError('NETWORK', 'the file name is not known yet');
      let rel = raw.replaceAll('{file}', fileName ?? '');
      if (rel.includes('{latest:')) {
        const start = rel.indexOf('{latest:');
        const end = placeholderEnd(rel, start);
        const hit = pickLatest(await list(), new RegExp(rel.slice(start + '{latest:'.length, end)));
        if (!hit) throw new VivariumError('NETWORK', `no checksum list matching ${rel} at ${dir}`);
        rel = rel.slice(0, start) + hit + rel.slice(end + 1);
      }
      const url = new URL(rel, dir).toString();
      const lines = parseChecksumList(
        (await fetchText(url, { ...req, maxBytes: 4 * 2 ** 20 })).text,
      );
      if (lines.length) return { url, lines };
      errors.push(`${url} holds no checksums`);
    } catch (err) {
      signal.throwIfAborted();
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new VivariumError(
    'NETWORK',
    `The published checksums could not be loaded (${errors.join('; ')}).`,
  );
}

/** Index of the '}' closing the placeholder that starts at `start` (braces inside may nest). */
export function placeholderEnd(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  throw new VivariumError('INTERNAL', `Unclosed placeholder in ${s}`);
}
