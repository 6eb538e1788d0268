/**
 * Who may use server mode: whoever shows the token (as `?token=`, or as the HttpOnly cookie a
 * tokened page load sets), and for sockets and uploads only from the page's own origin (browsers
 * send `Origin`; a page on another localhost port is "same-site" for cookies, not same-origin).
 * Pure rules over a request's URL and headers, so they are tested without a socket.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { VivariumError } from '../engine';

/** The request headers the rules read. */
export type AuthHeaders = Pick<IncomingHttpHeaders, 'cookie' | 'origin' | 'host'>;

/** How a request proved it knows the token. */
export type Proof = 'query' | 'cookie';

/** A token the user chose must be 16 to 256 printable characters without spaces. */
const TOKEN_RE = /^[\x21-\x7e]{16,256}$/;

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class ServerAuth {
  readonly token: string;
  private readonly digest: Buffer;
  /** Cookies ignore ports: named per port so two servers on one host do not overwrite each other. */
  private cookieName = 'vivarium_token';

  /** A fixed token (checked), or a random 32-byte hex one. */
  constructor(token?: string) {
    if (token !== undefined && !TOKEN_RE.test(token)) {
      throw new VivariumError(
        'INVALID_REQUEST',
        'The server token must be 16 to 256 printable characters without spaces',
      );
    }
    this.token = token ?? randomBytes(32).toString('hex');
    this.digest = sha256(this.token);
  }

  /** Names the cookie after the port the server listens on. */
  bindPort(port: number): void {
    this.cookieName = `vivarium_token_${port}`;
  }

  /** Compared in constant time (as digests, so the length leaks nothing either). */
  tokenMatches(candidate: string | undefined | null): boolean {
    return (
      typeof candidate === 'string' &&
      candidate.length > 0 &&
      candidate.length <= 1024 &&
      timingSafeEqual(sha256(candidate), this.digest)
    );
  }

  /** How (if at all) a request proves it knows the token. */
  authorize(headers: AuthHeaders, url: URL): Proof | null {
    if (this.tokenMatches(url.searchParams.get('token'))) return 'query';
    if (this.tokenMatches(readCookie(headers.cookie, this.cookieName))) return 'cookie';
    return null;
  }

  /**
   * Why a socket or an upload is refused: 401 without the token, 403 from another page's
   * origin (a request without Origin is not a browser's cross-site one), or null to let it in.
   */
  refusal(headers: AuthHeaders, url: URL): 401 | 403 | null {
    if (!this.authorize(headers, url)) return 401;
    const origin = headers.origin;
    if (origin !== undefined && !sameOrigin(origin, headers.host)) return 403;
    return null;
  }

  /** The Set-Cookie value that lets the page's later requests in without `?token=`. */
  cookie(): string {
    return `${this.cookieName}=${encodeURIComponent(this.token)}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Whether a browser's Origin is the page this server serves under that Host. */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === host.toLowerCase();
  } catch {
    return false;
  }
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1'
  );
}

/** An IPv6 address in brackets, as a URL's host needs it. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
