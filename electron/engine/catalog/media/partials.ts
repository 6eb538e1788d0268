/**
 * Unfinished downloads, kept to resume: `media/.partial/<key>.part` with `<key>.json` beside it
 * saying from where (URL, ETag/Last-Modified, size, expected hash), and `<key>.pid` naming the
 * process writing it while a download runs. One writer per part, across processes too: the app
 * and the CLI beside it must never interleave their bytes in one file.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PartialDownload } from '../../../../common/contract';
import { VivariumError } from '../../errors';
import { processAlive } from '../../qemu/process-info';
import { hold, writingParts } from './holds';
import type { Expected } from './source';

/**
 * A part another process says it is writing (its .pid file) counts as busy only while that
 * process lives and the part (or the .pid file) changed this recently: a pid that a crashed
 * download left behind and an unrelated process reused later does not lock the part for ever.
 */
const FOREIGN_WRITER_FRESH_MS = 10 * 60_000;
/** The keys `keyFor` makes: only these name a download's part (uploads' parts are not theirs). */
const PART_KEY_RE = /^(?:sha256|sha512|url)-[0-9a-f]{32}$/;

/** Where a part came from, so a later attempt resumes it only from the same file. */
export interface Sidecar {
  url: string;
  etag: string | null;
  lastModified: string | null;
  total: number | null;
  expected: Expected | null;
}

/** A part's name: by the expected hash when there is one (any mirror may resume it), else by URL. */
export function keyFor(url: string, expected: Expected | null): string {
  return expected
    ? `${expected.algorithm}-${expected.hex.slice(0, 32)}`
    : `url-${createHash('sha256').update(url).digest('hex').slice(0, 32)}`;
}

/** The file name a URL gives: its last path segment, decoded (else the whole URL). */
export function fileNameOfUrl(url: string): string {
  let segment = '';
  try {
    segment = new URL(url).pathname.split('/').pop() ?? '';
    segment = decodeURIComponent(segment);
  } catch {
    // Not a URL, or a broken %-escape: the segment as it is.
  }
  return segment || url;
}

export async function readSidecar(file: string): Promise<Sidecar | null> {
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

/** The files of one part. */
export interface PartFiles {
  key: string;
  part: string;
  sidecar: string;
  pid: string;
}

export class PartialDownloads {
  /** @param dir the cache's `media/.partial/` folder */
  constructor(readonly dir: string) {}

  files(key: string): PartFiles {
    return {
      key,
      part: join(this.dir, `${key}.part`),
      sidecar: join(this.dir, `${key}.json`),
      pid: join(this.dir, `${key}.pid`),
    };
  }

  /**
   * The downloads that stopped before their end and can resume (a part with its sidecar), newest
   * first. Parts being written now are left out: by a transfer of this process, or by another
   * Vivarium process (the CLI beside the app) that their .pid file names. Uploads' parts, which
   * never resume, and parts without a sidecar (which the next download of theirs replaces) are
   * not listed either.
   */
  async list(): Promise<PartialDownload[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: PartialDownload[] = [];
    for (const name of names) {
      if (!name.endsWith('.part')) continue;
      const key = name.slice(0, -'.part'.length);
      if (!PART_KEY_RE.test(key)) continue;
      if (await this.busy(key)) continue;
      const sidecar = await readSidecar(join(this.dir, `${key}.json`));
      const st = await stat(join(this.dir, name)).catch(() => null);
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
  async discard(key: string): Promise<{ discarded: boolean; bytes: number }> {
    const f = this.files(key);
    const [partStat, sidecarStat] = PART_KEY_RE.test(key)
      ? await Promise.all([stat(f.part).catch(() => null), stat(f.sidecar).catch(() => null)])
      : [null, null];
    if (!partStat && !sidecarStat) {
      throw new VivariumError(
        'NOT_FOUND',
        `There is no partial download "${key}": it may have finished, or been discarded already.`,
      );
    }
    const writer = await this.busy(key);
    if (writer) {
      throw new VivariumError(
        'BAD_STATE',
        `The partial download "${key}" is being downloaded right now${writer === 'here' ? '' : ` (by process ${writer})`}: cancel that download first.`,
      );
    }
    await rm(f.part, { force: true });
    await rm(f.sidecar, { force: true });
    await rm(f.pid, { force: true });
    return { discarded: true, bytes: partStat?.size ?? 0 };
  }

  /**
   * Who is writing the part `key` now: 'here' (a transfer of this process), the pid of another
   * live process that wrote its .pid file and keeps the part fresh, or null.
   */
  async busy(key: string): Promise<'here' | number | null> {
    if (writingParts.has(this.files(key).part)) return 'here';
    return this.foreignWriter(key);
  }

  /** The pid of another live process that wrote `key`'s .pid file and keeps the part fresh. */
  private async foreignWriter(key: string): Promise<number | null> {
    const f = this.files(key);
    const pid = Number((await readFile(f.pid, 'utf8').catch(() => '')).trim());
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !processAlive(pid)) {
      return null;
    }
    const times = await Promise.all(
      [f.pid, f.part].map((file) =>
        stat(file).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
      ),
    );
    return Date.now() - Math.max(...times) < FOREIGN_WRITER_FRESH_MS ? pid : null;
  }

  /**
   * Runs `work` as the one writer of the part `key`: refused (BAD_STATE, naming `label`) while a
   * transfer of this process or another live Vivarium process writes it; meanwhile the part counts
   * as busy here, and for other processes through its .pid file.
   */
  async asWriter<T>(key: string, label: string, work: () => Promise<T>): Promise<T> {
    const f = this.files(key);
    // Two writers of one part would interleave their bytes: the same image asked for twice (by
    // catalogue entry and by URL, or from the CLI beside the app) waits for the first instead.
    const already = (by: string) =>
      new VivariumError(
        'BAD_STATE',
        `${label} is already being downloaded ${by}: it will be in the cache when that finishes.`,
      );
    if (writingParts.has(f.part)) throw already('(see its task)');
    const release = hold(writingParts, f.part);
    try {
      const other = await this.foreignWriter(key);
      if (other !== null) throw already(`by another Vivarium process (pid ${other})`);
      // Only a hint for other processes: a download does not fail for want of it.
      await writeFile(f.pid, `${process.pid}\n`).catch(() => undefined);
      return await work();
    } finally {
      release();
      const owner = await readFile(f.pid, 'utf8').catch(() => '');
      const stillOurs = writingParts.has(f.part);
      if (!stillOurs && owner.trim() === String(process.pid)) await rm(f.pid, { force: true });
    }
  }
}
