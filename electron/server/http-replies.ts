/**
 * Every HTTP answer of server mode carries the same security headers: a Content-Security-Policy
 * that lets the page talk only to itself and to this server's WebSockets, no framing, no sniffing,
 * no referrer.
 */
import type http from 'node:http';
import { hostForUrl } from './auth';

/** Where the server listens, once it does (the CSP names its WebSocket origin). */
export interface Listening {
  host: string;
  port: number;
}

export function securityHeaders(
  listening: Listening,
  hostHeader: string | undefined,
): Record<string, string> {
  const wsHosts = new Set<string>([`ws://${hostForUrl(listening.host)}:${listening.port}`]);
  if (hostHeader && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(hostHeader)) {
    wsHosts.add(`ws://${hostHeader}`);
  }
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      `connect-src 'self' ${[...wsHosts].join(' ')}`,
      "img-src 'self' data: blob:",
      "style-src 'self' 'unsafe-inline'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

/** Writes answers with the security headers for where the server listens. */
export class HttpReplies {
  constructor(private readonly listening: () => Listening) {}

  headers(req: http.IncomingMessage): Record<string, string> {
    return securityHeaders(this.listening(), req.headers.host);
  }

  text(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    body: string,
    type = 'text/plain; charset=utf-8',
    extra: Record<string, string> = {},
  ): void {
    res.writeHead(status, {
      ...this.headers(req),
      'Content-Type': type,
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  json(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ): void {
    this.text(
      req,
      res,
      status,
      `${JSON.stringify(body)}\n`,
      'application/json; charset=utf-8',
      extra,
    );
  }
}
