/**
 * Server mode: the built renderer, the Vivarium API over WebSocket JSON-RPC (`/rpc`) and the
 * engine's byte streams (`/stream/<ticket>`), all behind one random token, bound to loopback by
 * default (like Jupyter: the URL with the token is printed at start).
 *
 * Every HTTP request and every WebSocket upgrade must carry the token, either as `?token=` or as
 * the HttpOnly cookie that a tokened request sets. Sockets must also come from the page's own
 * origin (browsers send `Origin`; a page on another localhost port is "same-site" for cookies).
 *
 * `PUT /upload?name=FILE` (same token and origin rules) takes an install image from the browser,
 * for a Vivarium on another computer: the engine streams it into the media cache
 * (catalog/media-upload.ts) and the answer is the contract's MediaUploadResult.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  RpcRequestSchema,
  type ApiEvent,
  type ErrorCode,
  type RpcMessage,
} from '../common/contract';
import { VivariumError, toErrorBody, type Engine } from './engine';
import { MAX_UPLOAD_BYTES, uploadMedia } from './engine/catalog/media-upload';

export interface ServerOptions {
  engine: Engine;
  /** Interface to bind; 127.0.0.1 unless given. Anything but loopback prints a warning. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The built renderer (out/renderer). */
  staticDir: string;
  /** A fixed token (at least 16 characters); a random 32-byte hex token otherwise. */
  token?: string;
  /** Where warnings go; stderr unless given. */
  warn?: (message: string) => void;
  /** The largest upload accepted (`PUT /upload`); the engine's bound (64 GiB) unless given. */
  maxUploadBytes?: number;
}

export interface RunningServer {
  /** http://HOST:PORT/?token=TOKEN: what the user opens. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Largest RPC frame accepted; requests are small JSON objects. */
const MAX_RPC_FRAME = 1024 * 1024;
/** A client that lets this much pile up unread is dropped rather than buffered forever. */
const MAX_BUFFERED = 8 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;
/** Where the browser sends an install image (renderer/src/bridge/upload.ts says the same). */
export const UPLOAD_PATH = '/upload';
/** An upload that sends nothing for this long is cut (and its partial file removed). */
const UPLOAD_IDLE_MS = 120_000;

/** The HTTP status for an engine error code, for the upload's JSON answers. */
const UPLOAD_STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  RESOURCE_LIMIT: 413,
  CANCELLED: 400,
  NETWORK: 400,
  DISK_FULL: 507,
};

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1'
  );
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { engine } = opts;
  const bindHost = opts.host ?? '127.0.0.1';
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (opts.token !== undefined && !/^[\x21-\x7e]{16,256}$/.test(opts.token)) {
    throw new VivariumError(
      'INVALID_REQUEST',
      'The server token must be 16 to 256 printable characters without spaces',
    );
  }
  const token = opts.token ?? randomBytes(32).toString('hex');
  const tokenDigest = sha256(token);
  const staticRoot = await fsp.realpath(path.resolve(opts.staticDir)).catch(() => {
    throw new VivariumError(
      'FILE_NOT_FOUND',
      `The user interface is not built (${opts.staticDir} is missing): run \`npm run build\``,
    );
  });

  // Cookies ignore ports: name it per port so two servers on one host do not overwrite each other.
  let cookieName = 'vivarium_token';
  let actualPort = 0;

  const tokenMatches = (candidate: string | undefined | null): boolean =>
    typeof candidate === 'string' &&
    candidate.length > 0 &&
    candidate.length <= 1024 &&
    timingSafeEqual(sha256(candidate), tokenDigest);

  /** How (if at all) a request proves it knows the token. */
  const authorize = (req: http.IncomingMessage, url: URL): 'query' | 'cookie' | null => {
    if (tokenMatches(url.searchParams.get('token'))) return 'query';
    if (tokenMatches(readCookie(req.headers.cookie, cookieName))) return 'cookie';
    return null;
  };

  const securityHeaders = (req: http.IncomingMessage): Record<string, string> => {
    const wsHosts = new Set<string>([`ws://${hostForUrl(bindHost)}:${actualPort}`]);
    const hostHeader = req.headers.host;
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
  };

  const sendText = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    body: string,
    type = 'text/plain; charset=utf-8',
    extra: Record<string, string> = {},
  ): void => {
    res.writeHead(status, {
      ...securityHeaders(req),
      'Content-Type': type,
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  /** A JSON answer to an upload (the contract's MediaUploadResult or an ApiErrorBody). */
  const sendJson = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ): void => {
    sendText(
      req,
      res,
      status,
      `${JSON.stringify(body)}\n`,
      'application/json; charset=utf-8',
      extra,
    );
  };

  const refuseUpload = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    code: ErrorCode,
    message: string,
    extra: Record<string, string> = {},
  ): void => {
    // The body was not read: close rather than parse the rest of it as the next request.
    sendJson(req, res, status, { code, message }, { Connection: 'close', ...extra });
  };

  /** `PUT /upload?name=FILE`: a thin adapter; the engine checks, stores, hashes and detects. */
  const handleUpload = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> => {
    if (!authorize(req, url)) {
      refuseUpload(
        req,
        res,
        401,
        'UNAUTHORIZED',
        'Vivarium needs its token: open the address `vivarium serve` printed (it ends in ?token=…) and try again.',
      );
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, req.headers.host)) {
      refuseUpload(
        req,
        res,
        403,
        'UNAUTHORIZED',
        'Uploads are only taken from Vivarium’s own page.',
      );
      return;
    }
    if (req.method !== 'PUT') {
      refuseUpload(req, res, 405, 'INVALID_REQUEST', 'Send the file with PUT.', { Allow: 'PUT' });
      return;
    }
    const name = url.searchParams.get('name') ?? '';
    if (!name.trim() || name.length > 1024) {
      refuseUpload(req, res, 400, 'INVALID_REQUEST', 'Say the file’s name: /upload?name=FILE.');
      return;
    }
    const length = req.headers['content-length'];
    if (length === undefined) {
      refuseUpload(req, res, 411, 'INVALID_REQUEST', 'An upload needs a Content-Length.');
      return;
    }
    const bytes = /^\d{1,16}$/.test(length) ? Number(length) : NaN;
    if (!Number.isSafeInteger(bytes)) {
      refuseUpload(req, res, 400, 'INVALID_REQUEST', 'The Content-Length is not a number.');
      return;
    }

    // The client going away (closing the tab, pressing Cancel) stops it; so does silence.
    const gone = new AbortController();
    const onReqClose = () => {
      if (!req.complete) gone.abort();
    };
    const onResClose = () => {
      if (!res.writableFinished) gone.abort();
    };
    req.once('close', onReqClose);
    res.once('close', onResClose);
    req.setTimeout(UPLOAD_IDLE_MS, () => {
      req.destroy(new Error('nothing arrived for two minutes'));
    });
    try {
      const result = await uploadMedia(engine.catalog, req, {
        name,
        bytes,
        maxBytes: opts.maxUploadBytes ?? MAX_UPLOAD_BYTES,
        signal: gone.signal,
      });
      req.setTimeout(0);
      sendJson(req, res, 200, result);
    } catch (err) {
      if (res.destroyed || res.headersSent) return;
      const body = toErrorBody(err);
      const status = UPLOAD_STATUS[body.code] ?? 500;
      sendJson(req, res, status, body, req.complete ? {} : { Connection: 'close' });
    } finally {
      req.off('close', onReqClose);
      res.off('close', onResClose);
    }
  };

  const handleRequest = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://vivarium.invalid');
    } catch {
      sendText(req, res, 400, 'Bad request\n');
      return;
    }
    if (rawPath === UPLOAD_PATH) {
      await handleUpload(req, res, url);
      return;
    }
    const how = authorize(req, url);
    if (!how) {
      sendText(req, res, 403, FORBIDDEN_PAGE, 'text/html; charset=utf-8');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(req, res, 405, 'Method not allowed\n', undefined, { Allow: 'GET, HEAD' });
      return;
    }
    const extra: Record<string, string> = {};
    if (how === 'query') {
      extra['Set-Cookie'] =
        `${cookieName}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
    }

    const rel = safeRelativePath(rawPath);
    if (rel === null) {
      sendText(req, res, 400, 'Bad path\n', undefined, extra);
      return;
    }
    let file = rel === '' ? 'index.html' : rel;
    let stat = await statInside(staticRoot, file);
    if (!stat) {
      // SPA fallback: app routes (no file extension) get the page; missing assets are 404.
      if (path.posix.extname(file) !== '') {
        sendText(req, res, 404, 'Not found\n', undefined, extra);
        return;
      }
      file = 'index.html';
      stat = await statInside(staticRoot, file);
      if (!stat) {
        sendText(req, res, 404, 'The user interface is not built\n', undefined, extra);
        return;
      }
    }
    const type = MIME[path.extname(stat.path).toLowerCase()] ?? 'application/octet-stream';
    const immutable = file.startsWith('assets/');
    res.writeHead(200, {
      ...securityHeaders(req),
      ...extra,
      'Content-Type': type,
      'Content-Length': String(stat.size),
      'Cache-Control': immutable ? 'private, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(stat.path);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  // ----------------------------------------------------------------------------------------
  // WebSockets

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_RPC_FRAME });
  const rpcClients = new Set<WebSocket>();
  const alive = new WeakMap<WebSocket, boolean>();

  const send = (ws: WebSocket, message: RpcMessage): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(message));
  };

  const handleFrame = async (ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> => {
    if (isBinary) {
      ws.close(1003, 'RPC frames are JSON text');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawToString(data));
    } catch {
      send(ws, { id: -1, error: { code: 'INVALID_REQUEST', message: 'The frame is not JSON' } });
      return;
    }
    const frame = RpcRequestSchema.safeParse(parsed);
    if (!frame.success) {
      const id = recoverId(parsed);
      send(ws, {
        id,
        error: {
          code: 'INVALID_REQUEST',
          message: 'An RPC frame is {"id": integer, "method": string, "params": object}',
        },
      });
      return;
    }
    const { id, method, params } = frame.data;
    try {
      const result = await engine.callUnknown(method, params ?? {});
      send(ws, { id, result: result === undefined ? null : result });
    } catch (err) {
      send(ws, { id, error: toErrorBody(err) });
    }
  };

  const acceptRpc = (ws: WebSocket): void => {
    rpcClients.add(ws);
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('message', (data, isBinary) => void handleFrame(ws, data, isBinary));
    ws.on('close', () => rpcClients.delete(ws));
    ws.on('error', () => ws.terminate());
  };

  const unsubscribe = engine.onEvent((event: ApiEvent) => {
    for (const ws of rpcClients) send(ws, { event });
  });

  const heartbeat = setInterval(() => {
    for (const ws of rpcClients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const refuseUpgrade = (socket: Duplex, status: number, reason: string): void => {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`,
    );
    socket.destroy();
  };

  const handleUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://vivarium.invalid');
    } catch {
      refuseUpgrade(socket, 400, 'Bad Request');
      return;
    }
    if (!authorize(req, url)) {
      refuseUpgrade(socket, 401, 'Unauthorized');
      return;
    }
    // Browsers always send Origin on WebSockets: only the page this server serves may connect.
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, req.headers.host)) {
      refuseUpgrade(socket, 403, 'Forbidden');
      return;
    }
    if (url.pathname === '/rpc') {
      wss.handleUpgrade(req, socket, head, (ws) => acceptRpc(ws));
      return;
    }
    if (url.pathname.startsWith('/stream/')) {
      // The stream carries its own ticket; keep the server token out of the engine's view.
      url.searchParams.delete('token');
      req.url = url.pathname + (url.search === '?' ? '' : url.search);
      engine.streams.handleUpgrade(req, socket, head);
      return;
    }
    refuseUpgrade(socket, 404, 'Not Found');
  };

  // No cap on a whole request's time (an ISO over a slow link takes long): headers still have
  // headersTimeout, and an upload that stalls is cut by its own idle timeout.
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        sendText(req, res, 500, `Internal error: ${toErrorBody(err).message}\n`);
      } else {
        res.destroy();
      }
    });
  });
  server.on('upgrade', handleUpgrade);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        err.code === 'EADDRINUSE'
          ? new VivariumError('RESOURCE_LIMIT', `Port ${opts.port} on ${bindHost} is in use`)
          : err,
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port ?? 0, bindHost);
  });
  actualPort = (server.address() as AddressInfo).port;
  cookieName = `vivarium_token_${actualPort}`;

  if (!isLoopback(bindHost)) {
    warn(
      `Warning: Vivarium is listening on ${bindHost}, not loopback. Anyone who can reach this ` +
        `port and learns the token controls your virtual machines, over plain HTTP. Prefer the ` +
        `default (127.0.0.1) and an SSH tunnel.`,
    );
  }

  const urlHost = bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost === '::' ? '::1' : bindHost;
  let closing: Promise<void> | null = null;

  return {
    url: `http://${hostForUrl(urlHost)}:${actualPort}/?token=${encodeURIComponent(token)}`,
    port: actualPort,
    token,
    close() {
      closing ??= (async () => {
        unsubscribe();
        clearInterval(heartbeat);
        for (const ws of rpcClients) ws.close(1001, 'Vivarium is shutting down');
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Sockets that do not finish their close handshake promptly are cut.
          setTimeout(() => {
            for (const ws of rpcClients) ws.terminate();
            server.closeAllConnections();
          }, 500).unref();
        });
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })();
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function readCookie(header: string | undefined, name: string): string | undefined {
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

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * The request path as a relative path inside the static folder, or null when it tries to leave
 * it (`..` segments, encoded or not), or holds backslashes, NUL bytes or bad escapes. Checked on
 * the raw path, before any URL normalisation could quietly drop the `..`.
 */
export function safeRelativePath(rawPath: string): string | null {
  if (!rawPath.startsWith('/')) return null;
  const segments: string[] = [];
  for (const raw of rawPath.split('/').slice(1)) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '..' || seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return null;
    if (seg === '' || seg === '.') continue;
    // Dotfiles are never part of a build.
    if (seg.startsWith('.')) return null;
    segments.push(seg);
  }
  return segments.join('/');
}

async function statInside(
  root: string,
  rel: string,
): Promise<{ path: string; size: number } | null> {
  const candidate = path.resolve(root, rel);
  try {
    const real = await fsp.realpath(candidate);
    if (real !== root && !real.startsWith(root + path.sep)) return null;
    const st = await fsp.stat(real);
    return st.isFile() ? { path: real, size: st.size } : null;
  } catch {
    return null;
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function recoverId(parsed: unknown): number {
  if (parsed && typeof parsed === 'object' && 'id' in parsed) {
    const id = parsed.id;
    if (typeof id === 'number' && Number.isInteger(id)) return id;
  }
  return -1;
}

const FORBIDDEN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vivarium: token needed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#1f2430}
@media (prefers-color-scheme:dark){body{background:#15171c;color:#e6e8ee}}code{font-size:.95em}</style>
</head><body><h1>Vivarium needs its token</h1>
<p>Open the full address that <code>vivarium serve</code> printed when it started; it ends in
<code>?token=…</code>. The token keeps other programs and web pages away from your virtual machines.</p>
</body></html>
`;
