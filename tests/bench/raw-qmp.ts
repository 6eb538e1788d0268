/**
 * The benchmarks' baseline side talks to QEMU the way a script would: a bare QMP client with no
 * timeouts, queues or state machine, so that what the engine adds is what the figures show.
 */
import { createConnection, type Socket } from 'node:net';

export type Json = Record<string, unknown>;

/** A QMP event as received, with the moment it was read (performance.now()). */
export type RawEvent = Json & { at: number };

export class RawQmp {
  private buf = '';
  private nextId = 1;
  private readonly replies = new Map<number, (msg: Json) => void>();
  private greeting: ((msg: Json) => void) | undefined;
  private readonly waiters = new Set<(msg: RawEvent) => boolean>();
  private readonly listeners = new Set<(msg: RawEvent) => void>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) !== -1) {
        const msg = JSON.parse(this.buf.slice(0, nl)) as Json;
        this.buf = this.buf.slice(nl + 1);
        if (typeof msg['id'] === 'number') {
          this.replies.get(msg['id'])?.(msg);
          this.replies.delete(msg['id']);
        } else if (msg['event']) {
          const event = Object.assign(msg, { at: performance.now() });
          for (const l of this.listeners) l(event);
          for (const w of [...this.waiters]) if (w(event)) this.waiters.delete(w);
        } else if (msg['QMP']) {
          this.greeting?.(msg);
        }
      }
    });
    socket.on('error', () => undefined);
  }

  /** Connects as soon as QEMU listens (it makes the socket shortly after it starts). */
  static async connect(path: string, timeoutMs = 30_000): Promise<RawQmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const socket = await new Promise<Socket | null>((resolve) => {
        const s = createConnection({ path }, () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (socket) {
        const raw = new RawQmp(socket);
        await new Promise<Json>((resolve) => (raw.greeting = resolve));
        await raw.execute('qmp_capabilities');
        return raw;
      }
      if (Date.now() > deadline) throw new Error(`QMP at ${path} never answered`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** The whole reply, `error` included. */
  request(command: string, args?: Json): Promise<Json> {
    const id = this.nextId++;
    const reply = new Promise<Json>((resolve) => this.replies.set(id, resolve));
    this.socket.write(
      JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }),
    );
    return reply;
  }

  /** The reply's `return`; QMP's error is thrown. */
  async execute(command: string, args?: Json): Promise<Json> {
    const r = await this.request(command, args);
    if (r['error']) throw new Error(`${command}: ${JSON.stringify(r['error'])}`);
    return (r['return'] ?? {}) as Json;
  }

  /** Resolves with the first event (from now) that `match` accepts. */
  event(match: (e: Json) => boolean): Promise<RawEvent> {
    return new Promise((resolve) =>
      this.waiters.add((e) => {
        if (!match(e)) return false;
        resolve(e);
        return true;
      }),
    );
  }

  /** Every event from now on. */
  onEvent(listener: (e: RawEvent) => void): void {
    this.listeners.add(listener);
  }

  close(): void {
    this.socket.destroy();
  }
}
