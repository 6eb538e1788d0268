import type { ApiEvent, ApiResults, Method, Params } from '../../../common/contract';
import type { RpcRequest } from '../../../common/transport/rpc';
import { ApiError, isErrorBody, type Bridge, type ConnectionState } from './types';

interface Pending {
  resolve(value: unknown): void;
  reject(err: ApiError): void;
}

export interface WsBridgeOptions {
  /** How long a call waits for a connection before failing with DISCONNECTED. */
  connectWaitMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Subprotocols offered on every connect (server mode names its token there, not in the URL). */
  protocols?: string[];
  /** For tests: the WebSocket constructor. */
  WebSocketImpl?: typeof WebSocket;
}

/**
 * JSON-RPC over one WebSocket (`/rpc`), reconnecting with exponential backoff and jitter.
 * Calls made while disconnected wait briefly for the connection, then fail; calls in flight when
 * the socket drops fail with DISCONNECTED (the engine may still have done the work).
 */
export class WsBridge implements Bridge {
  readonly kind = 'websocket' as const;
  private ws: WebSocket | null = null;
  private state: ConnectionState = 'connecting';
  private nextId = 1;
  private attempt = 0;
  private everOpened = false;
  private disposed = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: ApiEvent) => void>();
  private readonly connectionListeners = new Set<
    (state: ConnectionState, reconnected: boolean) => void
  >();
  private openWaiters = new Set<() => void>();
  private earlyEvents: ApiEvent[] | null = [];
  private readonly opts: Required<Omit<WsBridgeOptions, 'WebSocketImpl'>>;
  private readonly WS: typeof WebSocket;

  constructor(
    private readonly url: string,
    options: WsBridgeOptions = {},
  ) {
    this.opts = {
      connectWaitMs: options.connectWaitMs ?? 8000,
      minBackoffMs: options.minBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      protocols: options.protocols ?? [],
    };
    this.WS = options.WebSocketImpl ?? WebSocket;
    this.connect();
  }

  connection(): ConnectionState {
    return this.state;
  }

  onConnection(listener: (state: ConnectionState, reconnected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    this.eventListeners.add(listener);
    // Events that arrived before anyone listened (the page starts the connection before the
    // app's code has loaded) go to the first listener, in order.
    const early = this.earlyEvents;
    this.earlyEvents = null;
    if (early) for (const e of early) this.dispatch(e);
    return () => this.eventListeners.delete(listener);
  }

  async call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]> {
    const ws = await this.whenOpen();
    const id = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    try {
      const frame: RpcRequest = { id, method, params };
      ws.send(JSON.stringify(frame));
    } catch (err) {
      this.pending.delete(id);
      throw new ApiError('DISCONNECTED', `Could not reach Vivarium: ${String(err)}`);
    }
    return (await result) as ApiResults[M];
  }

  /** Stops reconnecting and fails what is in flight. */
  dispose(): void {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ws?.close(1000);
    this.failPending();
  }

  private whenOpen(): Promise<WebSocket> {
    const ws = this.ws;
    if (ws && this.state === 'open' && ws.readyState === this.WS.OPEN) return Promise.resolve(ws);
    return new Promise<WebSocket>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.openWaiters.delete(waiter);
        reject(
          new ApiError(
            'DISCONNECTED',
            'Vivarium is not reachable right now. Is `vivarium serve` still running?',
          ),
        );
      }, this.opts.connectWaitMs);
      const waiter = () => {
        clearTimeout(timer);
        if (this.ws) resolve(this.ws);
      };
      this.openWaiters.add(waiter);
    });
  }

  private setState(state: ConnectionState, reconnected = false): void {
    this.state = state;
    for (const l of [...this.connectionListeners]) l(state, reconnected);
  }

  private connect(): void {
    if (this.disposed) return;
    let ws: WebSocket;
    try {
      ws = new this.WS(this.url, this.opts.protocols);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.setState('open', reconnected);
      const waiters = this.openWaiters;
      this.openWaiters = new Set();
      for (const w of waiters) w();
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') this.handleMessage(ev.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failPending();
      if (this.disposed) return;
      this.setState(this.everOpened ? 'reconnecting' : 'connecting');
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.disposed || this.retryTimer) return;
    const base = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt = Math.min(this.attempt + 1, 16);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private failPending(): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      p.reject(
        new ApiError(
          'DISCONNECTED',
          'The connection to Vivarium dropped before it answered; the operation may still have happened.',
        ),
      );
    }
  }

  private dispatch(event: ApiEvent): void {
    for (const l of [...this.eventListeners]) {
      try {
        l(event);
      } catch (err) {
        console.error('Vivarium event listener failed', err);
      }
    }
  }

  /** Frames are the RPC transport's RpcMessages; anything else from the server is ignored. */
  private handleMessage(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const msg = parsed as Partial<Record<'id' | 'result' | 'error' | 'event', unknown>>;
    if (msg.event !== undefined) {
      if (typeof msg.event !== 'object' || msg.event === null) return;
      const event = msg.event as ApiEvent;
      if (this.earlyEvents) this.earlyEvents.push(event);
      else this.dispatch(event);
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error !== undefined) {
      p.reject(
        isErrorBody(msg.error)
          ? ApiError.fromBody(msg.error)
          : new ApiError('INTERNAL', 'The server answered with an unreadable error'),
      );
    } else {
      p.resolve(msg.result);
    }
  }
}
