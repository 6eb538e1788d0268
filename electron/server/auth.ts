/**
 * Who may use server mode. The page holds the token in memory (taken from the printed URL's
 * fragment, which never reaches a server) and shows it on every request that carries data: the
 * RPC socket names it as a WebSocket subprotocol, uploads as `Authorization: Bearer`. Never a
 * cookie: browsers scope cookies by host, not port, so any other web server on 127.0.0.1 would
 * receive it; never a query string: URLs end up in logs and histories. Sockets and uploads must
 * also come from the page's own origin (browsers send `Origin` on both).
 * Pure rules over a request's headers, so they are tested without a socket.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { VivariumError } from '../engine';

/** The request headers the rules read. */
export type AuthHeaders = Pick<
  IncomingHttpHeaders,
  'authorization' | 'origin' | 'host' | 'sec-websocket-protocol'
>;

/** The subprotocol the RPC socket speaks; the server selects it, never the token's. */
export const RPC_PROTOCOL = 'vivarium.rpc';
/**
 * The subprotocol that carries the token: `vivarium.token.<base64url(token)>`. Encoded because a
 * subprotocol must be an HTTP token (no `/`, `=`, `:`...) and a chosen token may hold those.
 */
export const TOKEN_PROTOCOL_PREFIX = 'vivarium.token.';

/** A token the user chose must be 16 to 256 printable characters without spaces. */
const TOKEN_RE = /^[\x21-\x7e]{16,256}$/;

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class ServerAuth {
  readonly token: string;
  private readonly digest: Buffer;

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

  /** Compared in constant time (as digests, so the length leaks nothing either). */
  tokenMatches(candidate: string | undefined | null): boolean {
    return (
      typeof candidate === 'string' &&
      candidate.length > 0 &&
      candidate.length <= 1024 &&
      timingSafeEqual(sha256(candidate), this.digest)
    );
  }

  /** Whether the request shows the token (subprotocol or bearer header; nothing else counts). */
  authorize(headers: AuthHeaders): boolean {
    return (
      this.tokenMatches(bearerToken(headers.authorization)) ||
      this.tokenMatches(protocolToken(headers['sec-websocket-protocol']))
    );
  }

  /**
   * Why an RPC socket or an upload is refused: 401 without the token, 403 from another page's
   * origin (a request without Origin is not a browser's cross-site one), or null to let it in.
   */
  refusal(headers: AuthHeaders): 401 | 403 | null {
    if (!this.authorize(headers)) return 401;
    return originRefusal(headers);
  }
}

/** 403 when a browser's Origin is not this server's page, else null. */
export function originRefusal(headers: Pick<AuthHeaders, 'origin' | 'host'>): 403 | null {
  const origin = headers.origin;
  return origin !== undefined && !sameOrigin(origin, headers.host) ? 403 : null;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header.trim());
  return m?.[1];
}

/** The token named among a WebSocket's offered subprotocols. */
export function protocolToken(header: string | string[] | undefined): string | undefined {
  const offered = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const raw of offered.split(',')) {
    const p = raw.trim();
    if (!p.startsWith(TOKEN_PROTOCOL_PREFIX)) continue;
    const encoded = p.slice(TOKEN_PROTOCOL_PREFIX.length);
    if (!/^[A-Za-z0-9_-]{1,1400}$/.test(encoded)) return undefined;
    return Buffer.from(encoded, 'base64url').toString('utf8');
  }
  return undefined;
}

/** The subprotocol list a client offers to show `token` (tests and Node clients use it). */
export function tokenProtocols(token: string): string[] {
  return [RPC_PROTOCOL, TOKEN_PROTOCOL_PREFIX + Buffer.from(token, 'utf8').toString('base64url')];
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
