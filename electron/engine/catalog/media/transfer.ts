/**
 * One download into its part file: resumed with HTTP Range (and If-Range) where an earlier
 * attempt stopped, reconnected after a broken connection, hashed as it is written
 * (HashingWriter: SHA-256, and SHA-512 where a project publishes only that), and checked against
 * the expected hash at the end, a mismatch deleting the part.
 */
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { VivariumError } from '../../errors';
import type { TaskContext } from '../../tasks/task-manager';
import { HashingWriter, type Digests } from '../hashing-writer';
import { abortError, httpGet, httpStatusError, type HttpResponse } from '../http';
import { keyFor, readSidecar, type PartialDownloads } from './partials';
import type { Expected } from './source';

/** Reconnects without progress before a mirror counts as failed. */
const MAX_STALLED_RETRIES = 4;
const RETRY_DELAYS_MS = [250, 1000, 2000, 4000];
/** Bytes buffered before the socket is paused while the disk catches up. */
const HIGH_WATER = 8 * 2 ** 20;

/** A verified part, ready to be moved into the cache. */
export interface Transferred {
  part: string;
  sha256: string;
  sha512: string | null;
  bytes: number;
  url: string;
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
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

/** What a transfer needs from the store: the parts folder, and the free-space check. */
export interface TransferDeps {
  parts: PartialDownloads;
  /**
   * DISK_FULL unless the cache's disk has room for `needBytes` more (besides what other
   * transfers in flight were promised); then promises them to `part`.
   */
  ensureSpace(needBytes: number, what: string, part: string): Promise<void>;
  /** Takes back what `ensureSpace` promised to `part`. */
  releaseSpace(part: string): Promise<void>;
}

/**
 * Downloads `url` into a .part file, resuming one left by an earlier attempt, reconnecting
 * with Range when the connection breaks, and checks the hash at the end (a mismatch deletes
 * the part). `spaceFactor` 2 leaves room for unpacking an archive. While it runs the part
 * counts as being written (`partials` leaves it out, `discardPartial` refuses it): in this
 * process, and for other processes through the <key>.pid file.
 */
export async function transfer(
  deps: TransferDeps,
  url: string,
  expected: Expected | null,
  sizeHint: number | null,
  label: string,
  ctx: TaskContext,
  spaceFactor = 1,
): Promise<Transferred> {
  await mkdir(deps.parts.dir, { recursive: true });
  const key = keyFor(url, expected);
  try {
    return await deps.parts.asWriter(key, label, () =>
      transferNow(deps, url, expected, sizeHint, label, ctx, spaceFactor),
    );
  } finally {
    await deps.releaseSpace(deps.parts.files(key).part);
  }
}

async function transferNow(
  deps: TransferDeps,
  url: string,
  expected: Expected | null,
  sizeHint: number | null,
  label: string,
  ctx: TaskContext,
  spaceFactor: number,
): Promise<Transferred> {
  const { signal } = ctx;
  const key = keyFor(url, expected);
  const { part, sidecar: sidecarFile } = deps.parts.files(key);

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
    await fh.close();
    await rm(part, { force: true });
    fh = await open(part, 'w');
    writer = await HashingWriter.open(fh, { sha512, existing: false, signal });
  };
  let total = sidecar?.total ?? null;
  let stalled = 0;
  let finalUrl = url;
  let digests: Digests;
  try {
    if (sizeHint) await deps.ensureSpace(sizeHint * spaceFactor - resumedFrom, label, part);
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
        await deps.ensureSpace(total * spaceFactor, label, part);
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
        return transferNow(deps, url, expected, sizeHint, label, ctx, spaceFactor);
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
