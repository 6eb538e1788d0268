/**
 * Install media: downloaded with a streaming SHA-256 (and SHA-512 where a project publishes only
 * that), resumable with HTTP Range after a cancel, a crash or a lost connection, verified, and
 * kept in `<cache>/media/<sha256>/` so nothing is downloaded twice.
 *
 * The store composes the rooms of media/: the cache index (what is cached, verified, used by
 * which VMs), the partial downloads (resuming, discarding, one writer per part), the transfer
 * (HTTP into a part with the hashing writer), the source resolution (catalogue entry to mirrors
 * and checksums) and the admission of a verified download into the cache.
 *
 * Which VMs hold an image in their CD-ROM is the engine's knowledge, not the cache's: the engine
 * lends it as `users` (CachedMedia.usedBy), and `media.delete` asks it before removing anything.
 */
import { join } from 'node:path';
import type {
  CachedMedia,
  MediaDownloadResult,
  MediaSpec,
  PartialDownload,
} from '../../../common/contract';
import { VivariumError } from '../errors';
import type { TaskContext } from '../tasks/task-manager';
import { safeFileName } from './archive';
import type { ChecksumLine } from './checksums';
import { admitDownload, type DownloadMeta } from './media/admit';
import {
  MediaCacheIndex,
  type CdromUsers,
  type MediaUser,
  type NewStoredMedia,
} from './media/cache-index';
import { assertRoom, freeBytesIn } from './media/disk-space';
import { SpaceReservations } from './media/reservations';
import { PartialDownloads } from './media/partials';
import { resolveMediaSource, type Expected } from './media/source';
import { hostOf, transfer, type TransferDeps, type Transferred } from './media/transfer';

export {
  realPathOf,
  type CdromUsers,
  type MediaUser,
  type NewStoredMedia,
  type StoredMedia,
} from './media/cache-index';
export type { DownloadMeta } from './media/admit';
export {
  resolveMediaSource,
  type Expected,
  type ResolvedMedia,
  type TextFetcher,
} from './media/source';
export type { Transferred } from './media/transfer';

/**
 * Room a download needs besides its own size: an archive is unpacked beside it, and an xz disk
 * image grows several times over (FreeBSD's 0.5 GiB .qcow2.xz is a 1.5 GiB qcow2, its raw.xz
 * a 6 GiB disk).
 */
function spaceFactorOf(spec: MediaSpec): number {
  if (!spec.archive) return 1;
  return spec.archive.format === 'xz' ? 4 : 2;
}

export interface MediaStoreOptions {
  cacheDir: string;
}

export class MediaStore {
  readonly dir: string;
  private readonly index: MediaCacheIndex;
  private readonly parts: PartialDownloads;
  private readonly transferDeps: TransferDeps;
  private readonly reservations: SpaceReservations;

  constructor(opts: MediaStoreOptions) {
    this.dir = join(opts.cacheDir, 'media');
    this.index = new MediaCacheIndex(this.dir, () => this.users());
    this.parts = new PartialDownloads(join(this.dir, '.partial'));
    this.reservations = new SpaceReservations(join(this.dir, '.reservations'));
    this.transferDeps = {
      parts: this.parts,
      ensureSpace: (needBytes, what, part) => this.reserveSpace(part, needBytes, what),
      releaseSpace: (part) => this.releaseSpace(part),
    };
  }

  // -------------------------------------------------------------------------------------------
  // The cache

  /**
   * Tells the cache which VMs hold which images in their CD-ROM (the engine does, at start):
   * `list` and `get` fill `usedBy` from it. Without it no image is in use.
   */
  users: CdromUsers = () => Promise.resolve(new Map<string, MediaUser[]>());

  list(): Promise<CachedMedia[]> {
    return this.index.list();
  }

  /** Frees images a killed transfer left unrecorded (see MediaCacheIndex.removeUnrecorded). */
  removeUnrecorded(): Promise<number[]> {
    return this.index.removeUnrecorded();
  }

  /** The cached media with this SHA-256 (of the download), if it is complete. */
  get(sha256: string): Promise<CachedMedia | null> {
    return this.index.get(sha256);
  }

  /** The VMs whose CD-ROM holds an image of this cache entry (see MediaCacheIndex.usersOf). */
  usersOf(sha256: string): Promise<MediaUser[]> {
    return this.index.usersOf(sha256);
  }

  find(match: (m: CachedMedia) => boolean): Promise<CachedMedia | null> {
    return this.index.find(match);
  }

  /**
   * Removes a cache entry. Whether VMs still use it is the caller's question (`media.delete`
   * asks `usersOf` first); one that a download or upload of this process is storing right now
   * is refused.
   */
  remove(sha256: string): Promise<{ deleted: boolean; file: string | null }> {
    return this.index.remove(sha256);
  }

  /** Records an image already moved into `media/<sha256>/` (an upload's), answered as `get` would. */
  record(record: NewStoredMedia): Promise<CachedMedia> {
    return this.index.record(record);
  }

  /** Refuses (BAD_STATE) while a download or upload of this process stores this image. */
  assertNotStoring(sha256: string): void {
    this.index.assertNotStoring(sha256);
  }

  /** Runs `work` while the image with this SHA-256 counts as being stored (see `remove`). */
  storingImage<T>(sha256: string, work: () => Promise<T>): Promise<T> {
    return this.index.storingImage(sha256, work);
  }

  // -------------------------------------------------------------------------------------------
  // Partial downloads

  /** The downloads that stopped before their end and can resume, newest first. */
  partials(): Promise<PartialDownload[]> {
    return this.parts.list();
  }

  /**
   * Deletes a partial download (its part, sidecar and stale .pid file) and says how many bytes
   * that freed. NOT_FOUND when there is none by that key; BAD_STATE while it is being written.
   */
  discardPartial(key: string): Promise<{ discarded: boolean; bytes: number }> {
    return this.parts.discard(key);
  }

  /** Bytes free for the cache, or null when the platform cannot say. */
  freeBytes(): Promise<number | null> {
    return freeBytesIn(this.parts.dir);
  }

  /**
   * DISK_FULL unless the cache's disk has room for `needBytes` more besides what other uploads
   * and downloads in flight (of any process) were promised; then promises them to `part` until
   * `releaseSpace(part)`.
   */
  async reserveSpace(part: string, needBytes: number, what: string): Promise<void> {
    if (needBytes <= 0) return;
    await this.reservations.reserve(
      part,
      needBytes,
      () => this.freeBytes(),
      (available, promised) => assertRoom(available, needBytes, what, this.dir, promised),
    );
  }

  /** Takes back what `reserveSpace` promised to `part`. */
  releaseSpace(part: string): Promise<void> {
    return this.reservations.release(part);
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
          spaceFactorOf(spec),
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

  /**
   * Downloads `url` into a .part file, resuming one left by an earlier attempt, and checks the
   * hash at the end (media/transfer.ts). `spaceFactor` 2 leaves room for unpacking an archive.
   */
  transfer(
    url: string,
    expected: Expected | null,
    sizeHint: number | null,
    label: string,
    ctx: TaskContext,
    spaceFactor = 1,
  ): Promise<Transferred> {
    return transfer(this.transferDeps, url, expected, sizeHint, label, ctx, spaceFactor);
  }

  private store(
    got: Transferred,
    name: string,
    expected: Expected | null,
    meta: DownloadMeta,
    spec: MediaSpec | null,
    lines: ChecksumLine[] | null,
    ctx: TaskContext,
  ): Promise<MediaDownloadResult> {
    return admitDownload(this.index, got, name, expected, meta, spec, lines, ctx);
  }
}
