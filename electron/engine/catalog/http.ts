/**
 * Small HTTP(S) client on node:http/https: redirects followed by hand (to see each hop), an idle
 * timeout, cancel through an AbortSignal, and the folder-listing and checksum-file helpers the
 * downloader needs. No proxy support (yet).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { VivariumError } from '../errors';
import pkg from '../../../package.json';

export const USER_AGENT = `Vivarium/${pkg.version} (virtual machine manager; +https://github.com/vivarium)`;
const MAX_REDIRECTS = 10;
export const IDLE_TIMEOUT_MS = 30_000;

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: string;
  body: IncomingMessage;
}

export interface RequestOptions {
  /** GET unless said; HEAD asks only for the headers (`catalog.check`). */
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new VivariumError('CANCELLED', 'Cancelled');
}

function networkError(url: string, err: unknown): VivariumError {
  if (err instanceof VivariumError) return err;
  const e = err as NodeJS.ErrnoException;
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  const why =
    e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
      ? `${host} could not be found (no internet, or a typo)`
      : e.code === 'ECONNREFUSED'
        ? `${host} refused the connection`
        : e.code === 'ECONNRESET'
          ? `the connection to ${host} was reset`
          : e.code === 'ETIMEDOUT'
            ? `${host} did not answer`
            : `${host}: ${e.message}`;
  return new VivariumError('NETWORK', `Could not download ${url}: ${why}.`);
}

function once(url: string, opts: RequestOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { signal } = opts;
    if (signal?.aborted) return reject(abortError(signal));
    const lib = url.startsWith('https:') ? https : http;
    const started = Date.now();
    const req = lib.request(url, {
      method: opts.method ?? 'GET',
      headers: { 'user-agent': USER_AGENT, accept: '*/*', ...opts.headers },
      // Until the socket connects, Node's global agent has a 5 s timeout of its own, too short for
      // a slow resolver or mirror; an explicit one also covers the address lookup and connection.
      timeout: opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    });
    req.end();
    const onAbort = () => req.destroy(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.setTimeout(opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS, () => {
      const waited = Math.max(1, Math.round((Date.now() - started) / 1000));
      const connecting = !req.socket || req.socket.connecting;
      req.destroy(
        new VivariumError(
          'NETWORK',
          connecting
            ? `Could not download ${url}: ${new URL(url).host} could not be reached in ${waited} s (looking up its address or connecting).`
            : `Could not download ${url}: no answer for ${waited} s.`,
        ),
      );
    });
    req.once('response', (res) => {
      res.once('close', () => signal?.removeEventListener('abort', onAbort));
      resolve(res);
    });
    req.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? abortError(signal) : networkError(url, err));
    });
  });
}

/** GET (or HEAD) with redirects followed; the caller reads or destroys `body`. */
export async function httpGet(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await once(current, opts);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      res.resume();
      res.destroy();
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new VivariumError(
          'NETWORK',
          `${current} redirects to an unsupported address (${next.protocol}).`,
        );
      }
      current = next.toString();
      continue;
    }
    return { status, headers: res.headers, url: current, body: res };
  }
  throw new VivariumError('NETWORK', `${url} redirects too many times.`);
}

export function httpStatusError(url: string, status: number): VivariumError {
  const what =
    status === 404 || status === 410
      ? 'is not there (404): the project may have moved or removed it'
      : status === 403
        ? 'is refused by the server (403)'
        : status >= 500
          ? `failed on the server (${status}); try again later`
          : `answered HTTP ${status}`;
  return new VivariumError('NETWORK', `${url} ${what}.`);
}

/** A small text resource (a checksum list, a folder listing), at most `maxBytes`. */
export async function fetchText(
  url: string,
  opts: RequestOptions & { maxBytes?: number } = {},
): Promise<{ text: string; url: string }> {
  const res = await httpGet(url, opts);
  if (res.status !== 200) {
    res.body.resume();
    res.body.destroy();
    throw httpStatusError(url, res.status);
  }
  const max = opts.maxBytes ?? 8 * 1024 * 1024;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max)
        throw new VivariumError('NETWORK', `${url} is larger than expected (over ${max} bytes).`);
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    if (opts.signal?.aborted) throw abortError(opts.signal);
    throw networkError(url, err);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), url: res.url };
}

/**
 * Entry names in an HTML folder listing (Apache, nginx, SourceForge): the last path segment of
 * every link, decoded, without a trailing '/' or SourceForge's '/download'. Pure.
 */
export function listingNames(html: string): string[] {
  const names = new Set<string>();
  for (const m of html.matchAll(/href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
    let href = (m[1] ?? m[2] ?? m[3] ?? '').replace(/&amp;/g, '&');
    href = href.split(/[?#]/)[0] ?? '';
    href = href.replace(/\/download$/, '').replace(/\/+$/, '');
    const last = href.split('/').pop() ?? '';
    let name: string;
    try {
      name = decodeURIComponent(last);
    } catch {
      name = last;
    }
    if (name && name !== '.' && name !== '..' && !name.includes('\0')) names.add(name);
  }
  return [...names];
}

/** The greatest of `names` matching `pattern` in natural order (12.10 after 12.9). Pure. */
export function pickLatest(names: readonly string[], pattern: RegExp): string | null {
  const matches = names.filter((n) => pattern.test(n));
  matches.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return matches.pop() ?? null;
}
