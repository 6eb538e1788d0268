/**
 * A test client of server mode: the JSON-RPC socket (`/rpc`) and authorised HTTP requests
 * (`PUT /upload`), each call bounded by a timeout so a server that stops answering fails the test
 * instead of hanging it. How a client proves it knows the token lives in `authorized` alone.
 */
import WebSocket from 'ws';
import type { ApiErrorBody, RpcMessage } from '../../common/contract';
import { tokenProtocols } from '../../electron/server/auth';

/** What a test needs of a running server. */
export interface ServerAddress {
  port: number;
  token: string;
}

/**
 * The URL, headers and WebSocket subprotocols of an authorised request to `path`: the token goes
 * as a bearer header (HTTP) or a subprotocol (the RPC socket), never in the URL.
 */
export function authorized(
  server: ServerAddress,
  path: string,
  scheme: 'http' | 'ws' = 'http',
): { url: string; headers: Record<string, string>; protocols: string[] } {
  const url = `${scheme}://127.0.0.1:${server.port}${path}`;
  return scheme === 'ws'
    ? { url, headers: {}, protocols: tokenProtocols(server.token) }
    : { url, headers: { Authorization: `Bearer ${server.token}` }, protocols: [] };
}

/** An answer to one call: its result or its error body (never both). */
export type RpcReply = { result: unknown } | { error: ApiErrorBody };

export class RpcTimeout extends Error {}

export class RpcClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (m: RpcReply) => void>();
  /** Replies to frames the server could not read an id from (id -1), in order. */
  private readonly orphans: Array<(m: RpcReply) => void> = [];
  private closedWith: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse((data as Buffer).toString('utf8')) as RpcMessage;
      if ('event' in msg) return;
      const reply: RpcReply = 'error' in msg ? { error: msg.error } : { result: msg.result };
      const waiter = msg.id === -1 ? this.orphans.shift() : this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      waiter?.(reply);
    });
    ws.on('close', (code) => (this.closedWith = code));
    ws.on('error', () => undefined);
  }

  static open(server: ServerAddress, timeoutMs = 5000): Promise<RpcClient> {
    const { url, headers, protocols } = authorized(server, '/rpc', 'ws');
    const ws = new WebSocket(url, protocols, { headers });
    return new Promise<RpcClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new RpcTimeout(`the RPC socket did not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new RpcClient(ws));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** The close code the server sent, or null while the socket is open. */
  get closeCode(): number | null {
    return this.closedWith;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  call(method: string, params?: unknown, timeoutMs = 10_000): Promise<RpcReply> {
    const id = this.nextId++;
    return this.send(JSON.stringify({ id, method, params }), id, timeoutMs);
  }

  /**
   * Sends `text` as it is. `id` is the id the reply will carry; -1 for frames the server cannot
   * read one from (not JSON, or not a frame).
   */
  send(text: string | Buffer, id: number, timeoutMs = 10_000): Promise<RpcReply> {
    return new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new RpcTimeout(`no reply within ${timeoutMs} ms to ${preview(text)}`));
      }, timeoutMs);
      const done = (reply: RpcReply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      if (id === -1) this.orphans.push(done);
      else this.waiting.set(id, done);
      this.ws.send(text);
    });
  }

  /** A fresh id for a raw frame. */
  takeId(): number {
    return this.nextId++;
  }

  /** Resolves with the close code once the server closes the socket (or after `timeoutMs`). */
  closed(timeoutMs = 5000): Promise<number | null> {
    if (this.closedWith !== null) return Promise.resolve(this.closedWith);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      this.ws.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

function preview(text: string | Buffer): string {
  const s = typeof text === 'string' ? text : `<${text.length} binary bytes>`;
  return s.length > 200 ? `${s.slice(0, 200)}… (${s.length} chars)` : s;
}
