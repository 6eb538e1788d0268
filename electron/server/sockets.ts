/**
 * WebSocket upgrades: the page's own origin first (browsers always send Origin on WebSockets),
 * then `/rpc` to the contract, which needs the token as a subprotocol, and `/stream/<ticket>` to
 * the engine's byte-stream bridge (VNC, serial, monitor), whose credential is the single-use
 * ticket that only a tokened RPC call can mint (as in Electron, where the bridge listens alone).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Engine } from '../engine';
import { originRefusal, type ServerAuth } from './auth';
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
  if (originRefusal(req.headers) === 403) {
    refuseUpgrade(socket, 403, 'Forbidden');
    return;
  }
  if (url.pathname === '/rpc') {
    if (deps.auth.refusal(req.headers) !== null) {
      refuseUpgrade(socket, 401, 'Unauthorized');
      return;
    }
    deps.rpc.handleUpgrade(req, socket, head);
    return;
  }
  if (url.pathname.startsWith('/stream/')) {
    deps.streams.handleUpgrade(req, socket, head);
    return;
  }
  refuseUpgrade(socket, 404, 'Not Found');
}
