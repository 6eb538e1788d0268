/**
 * A loopback HTTP server (node:http on 127.0.0.1) standing in for an install-media mirror: it
 * serves bytes with an ETag and Range support (honoured when If-Range is absent or matches, 416
 * past the end), optionally paced, cut off or held halfway, and logs every request.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  path: string;
  range: string | null;
}

export interface SendOptions {
  /** Paced in 64 KiB chunks at this rate (default: all at once). */
  bytesPerSecond?: number;
  /** A full-body response sends this many bytes, then the connection dies (a dropped Wi-Fi). */
  cutAt?: number;
  /**
   * A full-body response sends this many bytes, then nothing until the client hangs up (a
   * stalled mirror).
   */
  holdAt?: number;
}

export interface MediaRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The URL's path, without the query. */
  path: string;
  /** Answers with `data` (as a file of the mirror). */
  send: (data: Buffer, opts?: SendOptions) => void;
}

export interface MediaServer {
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** Every request, in order. */
  log: Hit[];
  /** Ends the responses still held, then stops the server. */
  close(): Promise<void>;
}

/** Starts a server on a free port; a request the route leaves unanswered gets a 404. */
export async function startMediaServer(
  route: (request: MediaRequest) => void,
): Promise<MediaServer> {
  const log: Hit[] = [];
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    log.push({ path, range: req.headers.range ?? null });
    route({ req, res, path, send: (data, opts) => send(req, res, data, held, opts) });
    if (!res.headersSent) res.writeHead(404).end('not here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () =>
      new Promise<void>((r) => {
        for (const res of held) res.destroy();
        server.close(() => r());
      }),
  };
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  data: Buffer,
  held: Set<ServerResponse>,
  opts: SendOptions = {},
): void {
  const size = data.length;
  const etag = `"${createHash('sha1').update(data).digest('hex').slice(0, 16)}"`;
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag,
    'last-modified': new Date(0).toUTCString(),
  };
  let start = 0;
  let end = size - 1;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const partial = range !== null && (!ifRange || ifRange === etag);
  if (partial) {
    start = Number(range[1]);
    if (range[2]) end = Number(range[2]);
    if (start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, {
      ...headers,
      'content-range': `bytes ${start}-${end}/${size}`,
      'content-length': end - start + 1,
    });
  } else {
    res.writeHead(200, { ...headers, 'content-length': size });
  }
  const body = data.subarray(start, end + 1);
  if (!partial && opts.cutAt !== undefined) {
    res.write(body.subarray(0, opts.cutAt), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  if (!partial && opts.holdAt !== undefined) {
    held.add(res);
    res.on('close', () => held.delete(res));
    res.write(body.subarray(0, opts.holdAt));
    return;
  }
  if (!opts.bytesPerSecond) {
    res.end(body);
    return;
  }
  const chunk = 64 * 1024;
  const interval = Math.max(1, Math.round((chunk / opts.bytesPerSecond) * 1000));
  let at = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    const next = body.subarray(at, at + chunk);
    at += next.length;
    if (at >= body.length) {
      clearInterval(timer);
      res.end(next);
    } else res.write(next);
  }, interval);
  res.on('close', () => clearInterval(timer));
}
