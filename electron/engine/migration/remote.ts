/**
 * The other Vivarium, reached over its WebSocket RPC (`/rpc`) with the token its `vivarium serve`
 * printed: the source engine's way to ask the destination to check, prepare, finish or abort.
 * The token travels as a subprotocol (as the browser page sends it), never in the URL.
 */
import WebSocket from 'ws';
import type {
  ApiErrorBody,
  ApiResults,
  Method,
  Params,
  RpcMessage,
} from '../../../common/contract';
import { VivariumError } from '../errors';

/** The RPC subprotocol and the one that carries the token (server/auth.ts speaks the same). */
const RPC_PROTOCOL = 'vivarium.rpc';
const TOKEN_PROTOCOL_PREFIX = 'vivarium.token.';

export interface Destination {
  /** ws://HOST:PORT/rpc */
  rpcUrl: string;
  /** The host as the URL names it (without brackets): the streams go there too. */
  host: string;
  token: string;
  /** The URL without its token, for messages. */
  shown: string;
}

/** Reads `http://HOST:PORT/#token=T` (or `?token=T`), as `vivarium serve` prints it. */
export function parseDestination(url: string): Destination {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new VivariumError(
      'INVALID_REQUEST',
      `"${url}" is not a URL: give the one \`vivarium serve\` printed on the destination.`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new VivariumError('INVALID_REQUEST', 'The destination URL starts with http://');
  }
  const fromHash = new URLSearchParams(u.hash.replace(/^#/, '')).get('token');
  const token = fromHash ?? u.searchParams.get('token');
  if (!token) {
    throw new VivariumError(
      'INVALID_REQUEST',
      'The destination URL has no token: copy the whole URL `vivarium serve` printed (…/#token=…).',
    );
  }
  const ws = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    rpcUrl: `${ws}//${u.host}/rpc`,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    token,
    shown: `${u.protocol}//${u.host}/`,
  };
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One connection to the destination; calls fail with NETWORK once it is gone. */
export class RemoteVivarium {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lost: VivariumError | null = null;
  private readonly lostListeners = new Set<(err: VivariumError) => void>();

  private constructor(
    private readonly ws: WebSocket,
    readonly destination: Destination,
  ) {
    ws.on('message', (data) => this.onMessage(rawText(data)));
    ws.on('close', () =>
      this.fail(new VivariumError('NETWORK', `The connection to ${destination.shown} was lost.`)),
    );
    ws.on('error', (err) =>
      this.fail(
        new VivariumError(
          'NETWORK',
          `The connection to ${destination.shown} failed: ${err.message}`,
        ),
      ),
    );
  }

  static connect(destination: Destination, timeoutMs = 10_000): Promise<RemoteVivarium> {
    const protocols = [
      RPC_PROTOCOL,
      TOKEN_PROTOCOL_PREFIX + Buffer.from(destination.token, 'utf8').toString('base64url'),
    ];
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(destination.rpcUrl, protocols, {
        handshakeTimeout: timeoutMs,
        maxPayload: 16 * 1024 * 1024,
      });
      const onError = (err: Error) => {
        cleanup();
        reject(
          new VivariumError(
            'NETWORK',
            `Could not reach Vivarium at ${destination.shown}: ${err.message}. Check that \`vivarium serve\` runs there and the URL is the one it printed.`,
          ),
        );
      };
      const onUnexpected = (_req: unknown, res: { statusCode?: number }) => {
        cleanup();
        ws.terminate();
        reject(
          res.statusCode === 401
            ? new VivariumError(
                'UNAUTHORIZED',
                `${destination.shown} refused the token: copy the URL \`vivarium serve\` printed there again (it changes at each start).`,
              )
            : new VivariumError(
                'NETWORK',
                `${destination.shown} answered HTTP ${res.statusCode ?? '?'}: is it a Vivarium server?`,
              ),
        );
      };
      const onOpen = () => {
        cleanup();
        resolve(new RemoteVivarium(ws, destination));
      };
      const cleanup = () => {
        ws.off('error', onError);
        ws.off('open', onOpen);
        ws.off('unexpected-response', onUnexpected);
      };
      ws.on('error', onError);
      ws.on('open', onOpen);
      ws.on('unexpected-response', onUnexpected);
    });
  }

  call<M extends Method>(method: M, params: Params<M>, timeoutMs = 60_000): Promise<ApiResults[M]> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++;
    return new Promise<ApiResults[M]>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          reject(
            new VivariumError(
              'TIMEOUT',
              `${this.destination.shown} did not answer ${method} within ${Math.round(timeoutMs / 1000)} s.`,
            ),
          );
        }
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: resolve,
        reject,
        timer,
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Called once when the connection ends or fails (the destination died, the network went). */
  onLost(listener: (err: VivariumError) => void): () => void {
    if (this.lost) {
      const lost = this.lost;
      queueMicrotask(() => listener(lost));
      return () => undefined;
    }
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  get closed(): boolean {
    return this.lost !== null;
  }

  close(): void {
    this.fail(
      new VivariumError('NETWORK', `The connection to ${this.destination.shown} was closed.`),
    );
    this.ws.close();
  }

  private onMessage(text: string): void {
    let msg: RpcMessage;
    try {
      msg = JSON.parse(text) as RpcMessage;
    } catch {
      return;
    }
    if (!('id' in msg)) return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if ('error' in msg) p.reject(remoteError(msg.error, this.destination.shown));
    else p.resolve(msg.result);
  }

  private fail(err: VivariumError): void {
    if (this.lost) return;
    this.lost = err;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const l of this.lostListeners) l(err);
    this.lostListeners.clear();
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function remoteError(body: ApiErrorBody, shown: string): VivariumError {
  return new VivariumError(body.code, `${shown}: ${body.message}`, body.fields);
}
