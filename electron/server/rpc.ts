/**
 * The contract over WebSocket JSON-RPC (`/rpc`): `{id, method, params}` in, `{id, result}` or
 * `{id, error}` out, and engine events pushed as `{event}`: to every client, except statistics
 * samples, which go only to the clients holding a subscription (and a client that goes away
 * gives its subscriptions up at once rather than at the end of their lease). Clients that stop
 * answering pings, or let too much pile up unread, are dropped rather than buffered for ever.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { RpcRequestSchema, type ApiEvent, type RpcMessage } from '../../common/contract';
import { toErrorBody, type Engine } from '../engine';
import { RPC_PROTOCOL } from './auth';

/** Largest RPC frame accepted; requests are small JSON objects. */
const MAX_RPC_FRAME = 1024 * 1024;
/** A client that lets this much pile up unread is dropped rather than buffered forever. */
const MAX_BUFFERED = 8 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;

export class RpcEndpoint {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_RPC_FRAME,
    // Answer with the RPC subprotocol, never echo the one that carries the token.
    handleProtocols: (offered) => (offered.has(RPC_PROTOCOL) ? RPC_PROTOCOL : false),
  });
  private readonly clients = new Set<WebSocket>();
  private readonly alive = new WeakMap<WebSocket, boolean>();
  /** The statistics subscriptions each client holds. */
  private readonly statsLeases = new WeakMap<WebSocket, Set<string>>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly engine: Engine) {
    this.unsubscribe = engine.onEvent((event: ApiEvent) => {
      for (const ws of this.clients) {
        if (event.type === 'stats.sample' && !this.statsLeases.get(ws)?.size) continue;
        this.send(ws, { event });
      }
    });
    this.heartbeat = setInterval(() => {
      for (const ws of this.clients) {
        if (this.alive.get(ws) === false) {
          ws.terminate();
          continue;
        }
        this.alive.set(ws, false);
        ws.ping();
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Takes over an upgrade the server has already authorised. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Stops pushing events and asks every client to go (shutting down). */
  stop(): void {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    for (const ws of this.clients) ws.close(1001, 'Vivarium is shutting down');
  }

  /** Cuts the clients that did not finish their close handshake. */
  terminate(): void {
    for (const ws of this.clients) ws.terminate();
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    this.clients.add(ws);
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
    ws.on('message', (data, isBinary) => void this.handleFrame(ws, data, isBinary));
    ws.on('close', () => {
      this.clients.delete(ws);
      for (const subscription of this.statsLeases.get(ws) ?? []) {
        void this.engine.call('stats.unsubscribe', { subscription }).catch(() => undefined);
      }
      this.statsLeases.delete(ws);
    });
    ws.on('error', () => ws.terminate());
  }

  private noteStatsLease(ws: WebSocket, method: string, params: unknown, result: unknown): void {
    if (method === 'stats.subscribe') {
      const { subscription } = result as { subscription: string };
      const held = this.statsLeases.get(ws) ?? new Set<string>();
      held.add(subscription);
      this.statsLeases.set(ws, held);
    } else if (method === 'stats.unsubscribe') {
      const { subscription } = (params ?? {}) as { subscription?: string };
      if (subscription) this.statsLeases.get(ws)?.delete(subscription);
    }
  }

  private send(ws: WebSocket, message: RpcMessage): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(message));
  }

  private async handleFrame(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) {
      ws.close(1003, 'RPC frames are JSON text');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawToString(data));
    } catch {
      this.send(ws, {
        id: -1,
        error: { code: 'INVALID_REQUEST', message: 'The frame is not JSON' },
      });
      return;
    }
    const frame = RpcRequestSchema.safeParse(parsed);
    if (!frame.success) {
      this.send(ws, {
        id: recoverId(parsed),
        error: {
          code: 'INVALID_REQUEST',
          message: 'An RPC frame is {"id": integer, "method": string, "params": object}',
        },
      });
      return;
    }
    const { id, method, params } = frame.data;
    try {
      const result = await this.engine.callUnknown(method, params ?? {});
      this.noteStatsLease(ws, method, params, result);
      this.send(ws, { id, result: result === undefined ? null : result });
    } catch (err) {
      this.send(ws, { id, error: toErrorBody(err) });
    }
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** The id of a frame that failed the schema, when it has a usable one (else -1). */
function recoverId(parsed: unknown): number {
  if (parsed && typeof parsed === 'object' && 'id' in parsed) {
    const id = parsed.id;
    if (typeof id === 'number' && Number.isInteger(id)) return id;
  }
  return -1;
}
