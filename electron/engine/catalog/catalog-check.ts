/**
 * `catalog.check`: for maintainers, proof that the catalogue's download links still work. Every
 * media of every version is resolved exactly as a download resolves it (resolveMediaSource:
 * folder listings for {latest:...} and file patterns, the published checksum list and the image's
 * line in it), then the image itself is asked for its headers (HEAD, or a one-byte ranged GET
 * where HEAD is refused) without downloading it. Each mirror is checked on its own, a few items
 * at a time, each request with a timeout. Cloud images are checked like install media. Each of an
 * entry's fact sources (the pages its versions, mirrors and checksums were read from) must still
 * answer too: a source gone is the first sign that the entry's facts are stale.
 */
import type {
  CatalogCheckItem,
  CatalogCheckMirror,
  CatalogCheckReport,
  CatalogEntry,
  CatalogFactSource,
  CatalogVersion,
  MediaSpec,
} from '../../../common/contract';
import { VivariumError } from '../errors';
import { httpGet, httpStatusError, type HttpResponse, type RequestOptions } from './http';
import { resolveMediaSource } from './media-store';

export interface CheckTarget {
  entry: CatalogEntry;
  /** The versions to check (all of the entry's, or the one a reference named). */
  versions: readonly CatalogVersion[];
}

export interface CatalogCheckOptions {
  /** Per request: no answer for this long is a failure. */
  timeoutMs: number;
  /** Items checked at the same time. */
  concurrency: number;
  signal?: AbortSignal;
  /** After each item: how many are done, of how many. */
  onProgress?: (done: number, total: number) => void;
}

/** Requests one mirror may make (listings, checksum lists, HEAD, GET): its overall deadline. */
const REQUESTS_PER_MIRROR = 6;

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sizeOf(res: HttpResponse): number | null {
  if (res.status === 206) {
    const m = /^bytes \d+-\d+\/(\d+)$/.exec(res.headers['content-range'] ?? '');
    return m ? Number(m[1]) : null;
  }
  const n = Number(res.headers['content-length'] ?? NaN);
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** What a download refuses too: a web page (a download page, a captive portal) for the image. */
function webPageInstead(res: HttpResponse): VivariumError | null {
  const type = res.headers['content-type'] ?? '';
  if (!type.startsWith('text/html') || /\.html?$/i.test(new URL(res.url).pathname)) return null;
  return new VivariumError(
    'NETWORK',
    `${hostOf(res.url)} answers ${res.url} with a web page instead of the image: the download link may have moved.`,
  );
}

/**
 * Asks for the image's headers without its body: HEAD, then (HEAD refused, or no size in its
 * answer) a GET of its first byte. Resolves to the size; throws why the image is not usable.
 */
export async function probeImage(
  url: string,
  req: RequestOptions,
): Promise<{ bytes: number; url: string }> {
  const head = await httpGet(url, { ...req, method: 'HEAD' });
  head.body.resume();
  head.body.destroy();
  if (head.status === 200) {
    const page = webPageInstead(head);
    if (page) throw page;
    const bytes = sizeOf(head);
    if (bytes !== null) return { bytes, url: head.url };
  }
  const res = await httpGet(url, { ...req, headers: { ...req.headers, range: 'bytes=0-0' } });
  res.body.resume();
  res.body.destroy();
  if (res.status !== 200 && res.status !== 206) throw httpStatusError(url, res.status);
  const page = webPageInstead(res);
  if (page) throw page;
  const bytes = sizeOf(res);
  if (bytes === null)
    throw new VivariumError('NETWORK', `${res.url} answers but does not say how large it is.`);
  return { bytes, url: res.url };
}

/** One mirror: resolved as a download would, then the image probed. */
export async function checkMirror(
  spec: MediaSpec,
  template: string,
  opts: CatalogCheckOptions,
): Promise<CatalogCheckMirror> {
  const out: CatalogCheckMirror = {
    template,
    status: 'broken',
    reason: null,
    url: null,
    file: null,
    bytes: null,
    checksumUrl: null,
  };
  const deadline = new AbortController();
  const seconds = Math.round((opts.timeoutMs * REQUESTS_PER_MIRROR) / 1000);
  const timer = setTimeout(
    () =>
      deadline.abort(
        new VivariumError(
          'NETWORK',
          `Checking ${template} took over ${seconds} s: ${hostOf(template)} is too slow.`,
        ),
      ),
    opts.timeoutMs * REQUESTS_PER_MIRROR,
  );
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  try {
    const src = await resolveMediaSource(spec, template, {
      signal,
      idleTimeoutMs: opts.timeoutMs,
    });
    out.url = src.url;
    out.file = src.name;
    out.checksumUrl = src.checksums?.url ?? null;
    const probe = await probeImage(src.url, { signal, idleTimeoutMs: opts.timeoutMs });
    out.bytes = probe.bytes;
    out.status = 'ok';
  } catch (err) {
    opts.signal?.throwIfAborted();
    out.reason = messageOf(err);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

function skipped(
  entry: CatalogEntry,
  version: CatalogVersion | null,
  media: MediaSpec | null,
  reason: string,
): CatalogCheckItem {
  return {
    os: entry.id,
    osName: entry.name,
    version: version?.id ?? null,
    media: media?.id ?? null,
    source: null,
    checked: entry.checked,
    arch: media?.arch ?? null,
    status: 'skipped',
    reason,
    note: null,
    mirrors: [],
    ms: 0,
  };
}

async function checkItem(
  entry: CatalogEntry,
  version: CatalogVersion,
  media: MediaSpec,
  opts: CatalogCheckOptions,
): Promise<CatalogCheckItem> {
  const started = Date.now();
  const mirrors: CatalogCheckMirror[] = [];
  // One mirror after the other: a project's mirrors often share a host.
  for (const template of media.urls) mirrors.push(await checkMirror(media, template, opts));
  const broken = mirrors.filter((m) => m.status === 'broken');
  return {
    os: entry.id,
    osName: entry.name,
    version: version.id,
    media: media.id,
    source: null,
    checked: entry.checked,
    arch: media.arch,
    status: broken.length ? 'broken' : 'ok',
    reason: broken.length ? broken.map((m) => m.reason ?? 'failed').join(' | ') : null,
    note: media.checksumReason ?? null,
    mirrors,
    ms: Date.now() - started,
  };
}

/** One of an entry's fact sources: its page must still answer (its body is not read). */
async function checkSource(
  entry: CatalogEntry,
  source: CatalogFactSource,
  opts: CatalogCheckOptions,
): Promise<CatalogCheckItem> {
  const started = Date.now();
  let reason: string | null = null;
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs * 2)])
    : AbortSignal.timeout(opts.timeoutMs * 2);
  try {
    const res = await httpGet(source.url, { signal, idleTimeoutMs: opts.timeoutMs });
    res.body.resume();
    res.body.destroy();
    if (res.status !== 200) reason = httpStatusError(source.url, res.status).message;
  } catch (err) {
    opts.signal?.throwIfAborted();
    reason = messageOf(err);
  }
  return {
    os: entry.id,
    osName: entry.name,
    version: null,
    media: null,
    source,
    checked: entry.checked,
    arch: null,
    status: reason ? 'broken' : 'ok',
    reason,
    note: `the entry's facts (${source.what}) were last checked ${entry.checked ?? 'at an unknown date'}`,
    mirrors: [],
    ms: Date.now() - started,
  };
}

/** Runs `work` on every element, at most `limit` at a time, keeping the order of the results. */
async function pool<T, R>(items: readonly T[], limit: number, work: (t: T) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Checks every media of the targets; entries and media with nothing to fetch are skipped. */
export async function checkCatalog(
  targets: readonly CheckTarget[],
  opts: CatalogCheckOptions,
): Promise<CatalogCheckReport> {
  const started = Date.now();
  type Job =
    | { entry: CatalogEntry; version: CatalogVersion; media: MediaSpec }
    | { entry: CatalogEntry; source: CatalogFactSource }
    | CatalogCheckItem;
  const jobs: Job[] = [];
  for (const { entry, versions } of targets) {
    for (const source of entry.sources) jobs.push({ entry, source });
    const withMedia = versions.filter((v) => v.media.length > 0);
    if (withMedia.length === 0) {
      jobs.push(
        skipped(
          entry,
          versions.length === 1 ? versions[0]! : null,
          null,
          'no install media in the catalogue (the user brings an ISO)',
        ),
      );
      continue;
    }
    for (const version of withMedia) {
      for (const media of version.media) {
        if (media.urls.length === 0) {
          const why = media.page
            ? `no download link: a person gets it from ${media.page}`
            : `no download link: ${media.checksumReason ?? 'the user brings an ISO'}`;
          jobs.push(skipped(entry, version, media, why));
        } else jobs.push({ entry, version, media });
      }
    }
  }
  let done = 0;
  const items = await pool(jobs, Math.max(1, opts.concurrency), async (job) => {
    const item =
      'status' in job
        ? job
        : 'source' in job
          ? await checkSource(job.entry, job.source, opts)
          : await checkItem(job.entry, job.version, job.media, opts);
    opts.onProgress?.(++done, jobs.length);
    return item;
  });
  opts.signal?.throwIfAborted();
  const counts = { ok: 0, broken: 0, skipped: 0 };
  for (const i of items) counts[i.status]++;
  return { items, counts, seconds: Math.round((Date.now() - started) / 100) / 10 };
}
