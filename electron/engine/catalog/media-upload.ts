/**
 * Install media sent from a browser (server mode's `PUT /upload`): the body streams into a
 * partial file in the media cache while it is hashed with SHA-256, then lands where a download
 * would, `media/<sha256>/<name>` with its meta.json (an image called meta.json is stored under
 * another name: media/record-name.ts), so `media.list` shows it and the same bytes are never
 * kept twice. Its space is promised before the first byte (media/reservations.ts), so concurrent
 * uploads cannot together fill the disk. The front door only checks who asks and hands over the body and its
 * announced length; the rules live here: the size bound, the free-space check before the first
 * byte, the file name, and the partial file that a broken connection or a cancel removes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CachedMedia, MediaDetection, MediaUploadResult } from '../../../common/contract';
import { plainOsName } from '../../../common/media-names';
import { VivariumError } from '../errors';
import type { MediaStore } from './media-store';
import { assertRoom, gib } from './media/disk-space';
import { imageFileName } from './media/record-name';
import type { CatalogService } from './service';

/** The largest image accepted: well above any OS's DVD image, well below "fill the disk". */
export const MAX_UPLOAD_BYTES = 64 * 2 ** 30;
const PART_PREFIX = 'upload-';
/** A partial upload no request of this process is writing, untouched this long, is left over. */
const STALE_PART_MS = 10 * 60_000;
const MAX_NAME_BYTES = 200;

export interface UploadRequest {
  /** The file's name as the browser gave it; sanitized here. */
  name: string;
  /** The announced length (Content-Length): checked against the space and the bound first. */
  bytes: number;
  /** MAX_UPLOAD_BYTES unless given. */
  maxBytes?: number;
  /** Aborting it (the client went away) stops the upload and removes the partial file. */
  signal?: AbortSignal;
  /** Bytes received so far, at most a few times a second. */
  onProgress?: (bytesDone: number) => void;
}

/** Partial files being written by this process (a sweep must not take them). */
const active = new Set<string>();
/** SHA-256 -> the store step in flight, so two identical uploads end with one copy. */
const finishing = new Map<string, Promise<unknown>>();

/**
 * A browser's file name made safe to be a file in the cache: its last path segment only (no
 * slashes or backslashes survive), no control or bidi characters, none of `<>:"|?*`, no `..`,
 * no leading dot, at most 200 bytes (the extension kept). Commas are fine (QEMU's option
 * strings escape them). Empty -> 'upload.iso'.
 */
export function uploadFileName(raw: string): string {
  let name = raw.normalize('NFC').split(/[/\\]/).pop() ?? '';
  name = name
    .replace(/[\p{Cc}\p{Cf}<>:"|?*]/gu, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
  if (!name) return 'upload.iso';
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
  // Cut whole characters (graphemes), never half of one.
  const stem = Array.from(
    new Intl.Segmenter().segment((ext ? name.slice(0, dot) : name).slice(0, 1024)),
    (g) => g.segment,
  );
  while (stem.length && Buffer.byteLength(stem.join('') + ext) > MAX_NAME_BYTES) stem.pop();
  return (stem.join('').trimEnd() || 'upload') + ext;
}

/** Checks what can be checked before reading a byte: the length, the bound, the free space. */
export async function checkUpload(
  store: MediaStore,
  bytes: number,
  maxBytes = MAX_UPLOAD_BYTES,
): Promise<void> {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new VivariumError('INVALID_REQUEST', 'The upload is empty: choose a disc image file.');
  }
  if (bytes > maxBytes) {
    throw new VivariumError(
      'RESOURCE_LIMIT',
      `The file is ${gib(bytes)}; Vivarium accepts uploads up to ${gib(maxBytes)}. Copy it to the computer that runs Vivarium another way and type its path.`,
    );
  }
  assertRoom(await store.freeBytes(), bytes, 'the upload', store.dir);
}

/** Removes partial uploads a crash or a killed process left behind. */
async function sweepStaleParts(partDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(partDir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(PART_PREFIX) || !name.endsWith('.part')) continue;
    const file = join(partDir, name);
    if (active.has(file)) continue;
    const st = await stat(file).catch(() => null);
    if (st && now - st.mtimeMs > STALE_PART_MS) await rm(file, { force: true });
  }
}

function uploadError(err: unknown, received: number, total: number, signal?: AbortSignal) {
  if (err instanceof VivariumError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
    return new VivariumError(
      'DISK_FULL',
      'The disk filled up during the upload: free some space and upload again. Nothing was kept.',
    );
  }
  if (signal?.aborted || e.name === 'AbortError') {
    return new VivariumError('CANCELLED', 'The upload was cancelled: nothing was kept.');
  }
  return new VivariumError(
    'NETWORK',
    `The upload broke off after ${received} of ${total} bytes (${e.message}): nothing was kept. Upload it again.`,
  );
}

/**
 * Streams `body` (exactly `req.bytes` long) into the media cache and detects what it is.
 * Identical bytes already in the cache are reused: the new copy is dropped and the cached
 * file's path is returned with `reused: true`. On any failure nothing is left behind.
 */
export async function uploadMedia(
  catalog: CatalogService,
  body: Readable,
  req: UploadRequest,
): Promise<MediaUploadResult> {
  const store = catalog.media;
  const total = req.bytes;
  const name = uploadFileName(req.name);
  await checkUpload(store, total, req.maxBytes);
  req.signal?.throwIfAborted();

  const partDir = join(store.dir, '.partial');
  await mkdir(partDir, { recursive: true });
  await sweepStaleParts(partDir);
  const part = join(partDir, `${PART_PREFIX}${randomBytes(12).toString('hex')}.part`);
  // Promised before the first byte, so concurrent uploads (of any process) cannot all pass.
  await store.reserveSpace(part, total, 'the upload');
  active.add(part);
  try {
    const hash = createHash('sha256');
    let received = 0;
    let reportedAt = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > total) {
          done(
            new VivariumError(
              'INVALID_REQUEST',
              `The upload sent more than the ${total} bytes it announced.`,
            ),
          );
          return;
        }
        hash.update(chunk);
        const now = Date.now();
        if (req.onProgress && (now - reportedAt >= 250 || received === total)) {
          reportedAt = now;
          req.onProgress(received);
        }
        done(null, chunk);
      },
    });
    const out = createWriteStream(part, {
      flags: 'wx',
      mode: 0o600,
      flush: true,
      highWaterMark: 4 * 2 ** 20,
    });
    try {
      await pipeline(body, counter, out, req.signal ? { signal: req.signal } : {});
    } catch (err) {
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      throw uploadError(err, received, total, req.signal);
    }
    if (received !== total) {
      throw new VivariumError(
        'NETWORK',
        `The upload ended after ${received} of ${total} bytes: nothing was kept. Upload it again.`,
      );
    }
    const sha256 = hash.digest('hex');

    // One store step per SHA-256 at a time: the second of two identical uploads finds the first.
    const before = finishing.get(sha256) ?? Promise.resolve();
    const step = before
      .catch(() => undefined)
      .then(() => store.storingImage(sha256, () => finish(store, part, name, sha256)));
    finishing.set(sha256, step);
    let stored: { media: CachedMedia; reused: boolean };
    try {
      stored = await step;
    } finally {
      if (finishing.get(sha256) === step) finishing.delete(sha256);
    }
    const detection = await catalog.detect(stored.media.file);
    const media = await keepDetectedOs(store, stored.media, detection);
    return {
      file: media.file,
      sha256,
      bytes: media.bytes,
      reused: stored.reused,
      media,
      detection,
    };
  } finally {
    active.delete(part);
    // Gone already when it was stored; otherwise nothing of a failed upload stays.
    await rm(part, { force: true });
    await store.releaseSpace(part);
  }
}

/**
 * An upload's record learns the OS that detection recognised, so the media list, the wizard and
 * the VM show "Debian 12" instead of an unknown file. A record that already knows its OS (a
 * download of the same bytes) keeps what its catalogue entry said.
 */
async function keepDetectedOs(
  store: MediaStore,
  media: CachedMedia,
  detection: MediaDetection,
): Promise<CachedMedia> {
  const best = detection.best;
  if (media.os !== null || best.confidence === 'none') return media;
  const { usedBy: _users, displayName: _name, ...stored } = media;
  return store.record({
    ...stored,
    os: best.os,
    version: best.confidence === 'exact' ? best.version : null,
    osName: plainOsName(best.versionName ?? best.name),
  });
}

/** Moves a complete part into `media/<sha256>/`, or drops it for the copy already there. */
async function finish(
  store: MediaStore,
  part: string,
  name: string,
  sha256: string,
): Promise<{ media: CachedMedia; reused: boolean }> {
  const existing = await store.get(sha256);
  if (existing) {
    await rm(part, { force: true });
    return { media: existing, reused: true };
  }
  const dir = join(store.dir, sha256);
  try {
    await mkdir(dir, { recursive: true });
    // The user's name stays in the record; the file never takes the record's own name.
    const file = join(dir, imageFileName(name));
    await rename(part, file);
    await chmod(file, 0o400);
    const { size } = await stat(file);
    // A VM may name this path already (an image deleted and uploaded again): record() says so.
    const media = await store.record({
      sha256,
      file,
      filename: name,
      bytes: size,
      url: '',
      os: null,
      version: null,
      mediaId: null,
      verified: 'none',
      addedAt: new Date().toISOString(),
    });
    return { media, reused: false };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
