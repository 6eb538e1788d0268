/**
 * Server mode: the built renderer, the Vivarium API over WebSocket JSON-RPC (`/rpc`), the
 * engine's byte streams (`/stream/<ticket>`) and install-image uploads (`PUT /upload`), all behind
 * one random token, bound to loopback by default (like Jupyter: the URL with the token is printed
 * at start). This file only composes them: auth.ts says who may come in, static-files.ts,
 * upload.ts, rpc.ts and sockets.ts answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepFilesPrivate, VivariumError, toErrorBody, type Engine } from '../engine';
import { hostForUrl, isLoopback, ServerAuth } from './auth';
import { HttpReplies } from './http-replies';
import { RpcEndpoint } from './rpc';
import { handleUpgrade } from './sockets';
import { serveStatic, staticRootOf } from './static-files';
import { handleUpload, UPLOAD_PATH } from './upload';

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
  /**
   * http://HOST:PORT/#token=TOKEN: what the user opens. In the fragment, the token never reaches
   * a server or its logs; the page takes it into memory and removes it from the address bar.
   */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  // Uploads land in the media cache: the user's alone.
  keepFilesPrivate();
  const { engine } = opts;
  const bindHost = opts.host ?? '127.0.0.1';
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  const auth = new ServerAuth(opts.token);
  const root = await staticRootOf(opts.staticDir);

  let actualPort = 0;
  const replies = new HttpReplies(() => ({ host: bindHost, port: actualPort }));
  const rpc = new RpcEndpoint(engine);

  const handleRequest = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://vivarium.invalid');
    } catch {
      replies.text(req, res, 400, 'Bad request\n');
      return;
    }
    if (rawPath === UPLOAD_PATH) {
      await handleUpload(req, res, url, {
        engine,
        auth,
        replies,
        maxUploadBytes: opts.maxUploadBytes,
      });
      return;
    }
    await serveStatic(req, res, rawPath, { root, replies });
  };

  // No cap on a whole request's time (an ISO over a slow link takes long): headers still have
  // headersTimeout, and an upload that stalls is cut by its own idle timeout.
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        replies.text(req, res, 500, `Internal error: ${toErrorBody(err).message}\n`);
      } else {
        res.destroy();
      }
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    handleUpgrade(req, socket, head, { auth, rpc, streams: engine.streams });
  });
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
    url: `http://${hostForUrl(urlHost)}:${actualPort}/#token=${encodeURIComponent(auth.token)}`,
    port: actualPort,
    token: auth.token,
    close() {
      closing ??= (async () => {
        rpc.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Sockets that do not finish their close handshake promptly are cut.
          setTimeout(() => {
            rpc.terminate();
            server.closeAllConnections();
          }, 500).unref();
        });
        await rpc.close();
      })();
      return closing;
    },
  };
}
