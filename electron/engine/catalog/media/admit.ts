/**
 * A verified download enters the cache: its part moves to `media/<sha256>/<name>`, an archive is
 * unpacked to the image inside (checked against the image's own published checksum where a
 * project publishes that instead of the archive's), the image is made read-only and recorded.
 * Anything failing on the way leaves no entry behind.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  CachedMedia,
  MediaDownloadResult,
  MediaSpec,
  VmArch,
} from '../../../../common/contract';
import { VivariumError } from '../../errors';
import type { TaskContext } from '../../tasks/task-manager';
import { decompressXz, extractSevenZipMember, extractZipMember, safeFileName } from '../archive';
import { findChecksum, type ChecksumLine, type HashAlgorithm } from '../checksums';
import type { MediaCacheIndex } from './cache-index';
import { cloudImageFormat } from './image-format';
import type { Expected } from './source';
import type { Transferred } from './transfer';

/** What the cache record says of a download besides its bytes. */
export interface DownloadMeta {
  os: string | null;
  version: string | null;
  mediaId: string | null;
  /** For progress messages, e.g. "Debian 13 netinst". */
  label: string;
  /** The OS as people name it ("Debian 13"), kept in the record; absent for a bare URL. */
  osName?: string;
  /** The catalogue's architecture for it; absent for a bare URL (its boot files then say). */
  arch?: VmArch;
}

async function hashFile(file: string, algorithm: HashAlgorithm, signal: AbortSignal) {
  const hash = createHash(algorithm);
  const stream = createReadStream(file, { highWaterMark: 4 * 2 ** 20, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** Moves a verified part into the cache (unpacking an archive) and records it. */
export async function admitDownload(
  index: MediaCacheIndex,
  got: Transferred,
  name: string,
  expected: Expected | null,
  meta: DownloadMeta,
  spec: MediaSpec | null,
  lines: ChecksumLine[] | null,
  ctx: TaskContext,
): Promise<MediaDownloadResult> {
  return index.storingImage(got.sha256, async () => {
    const dir = join(index.dir, got.sha256);
    await mkdir(dir, { recursive: true });
    const downloaded = join(dir, safeFileName(name));
    await rename(got.part, downloaded);
    let file = downloaded;
    let verified: CachedMedia['verified'] = expected ? expected.source : 'none';
    try {
      if (spec?.archive?.format === 'xz') {
        // The published checksum is the compressed file's, checked as it arrived.
        ctx.report({ message: `Decompressing ${name}` });
        file = await decompressXz(downloaded, dir, ctx.signal);
        await rm(downloaded, { force: true });
      } else if (spec?.archive) {
        ctx.report({ message: `Unpacking ${name}` });
        const member = new RegExp(spec.archive.member, 'i');
        file =
          spec.archive.format === 'zip'
            ? await extractZipMember(downloaded, member, dir, ctx.signal)
            : await extractSevenZipMember(downloaded, member, dir);
        // Some projects publish the image's checksum rather than the archive's.
        if (!expected && lines && spec.checksum) {
          const { algorithm } = spec.checksum;
          const inner = findChecksum(lines, file.split('/').pop() ?? '', algorithm);
          if (inner) {
            if ((await hashFile(file, algorithm, ctx.signal)) !== inner) {
              throw new VivariumError(
                'CHECKSUM_MISMATCH',
                `${meta.label} does not match its published ${algorithm.toUpperCase()}: the file was deleted.`,
              );
            }
            verified = 'published';
          }
        }
        if (file !== downloaded) await rm(downloaded, { force: true });
      }
      // A cloud image is a disk, not a disc: its format is the catalogue's, checked here.
      const format =
        spec?.kind === 'cloud' && spec.diskFormat
          ? await cloudImageFormat(file, spec.diskFormat, meta.label)
          : undefined;
      await chmod(file, 0o400);
      const { size } = await stat(file);
      const media = await index.record({
        ...(format ? { format } : {}),
        sha256: got.sha256,
        file,
        filename: file.split('/').pop() ?? name,
        bytes: size,
        url: got.url,
        os: meta.os,
        version: meta.version,
        mediaId: meta.mediaId,
        osName: meta.osName ?? null,
        ...(meta.arch ? { arch: meta.arch } : {}),
        verified,
        addedAt: new Date().toISOString(),
      });
      return { file, sha256: got.sha256, bytes: size, reused: false, media };
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  });
}
