/**
 * WebSocket upgrades: the token and the page's own origin first (browsers always send Origin on
 * WebSockets), then `/rpc` to the contract and `/stream/<ticket>` to the engine's byte-stream
 * bridge (VNC, serial, monitor), which checks its own ticket.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Engine } from '../engine';
import type { ServerAuth } from './auth';
import type { RpcEndpoint } from './rpc';

export interface SocketDeps {
  auth: ServerAuth;
  rpc: RpcEndpoint;
  streams: Engine['streams'];
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`,
  );
  socket.destroy();
}

export function handleUpgrade(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  deps: SocketDeps,
): void {
  socket.on('error', () => socket.destroy());
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://vivarium.invalid');
  } catch {
    refuseUpgrade(socket, 400, 'Bad Request');
    return;
  }
  const refusal = deps.auth.refusal(req.headers, url);
  if (refusal === 401) {
    refuseUpgrade(socket, 401, 'Unauthorized');
    return;
  }
  if (refusal === 403) {
    refuseUpgrade(socket, 403, 'Forbidden');
    return;
  }
  if (url.pathname === '/rpc') {
    deps.rpc.handleUpgrade(req, socket, head);
    return;
  }
  if (url.pathname.startsWith('/stream/')) {
    // The stream carries its own ticket; keep the server token out of the engine's view.
    url.searchParams.delete('token');
    req.url = url.pathname + (url.search === '?' ? '' : url.search);
    deps.streams.handleUpgrade(req, socket, head);
    return;
  }
  refuseUpgrade(socket, 404, 'Not Found');
}
