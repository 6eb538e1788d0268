import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { StreamKind, StreamTicket } from '../../../common/contract';
import { readTail } from '../qemu/process-info';

export interface StreamTarget {
  vmId: string;
  kind: StreamKind;
  socketPath: string;
  /** Replayed to a console before live bytes, so a boot message is never missed. */
  replayFile: string | null;
}

interface Ticket extends StreamTarget {
  expiresAt: number;
}

const TICKET_TTL_MS = 60_000;
const REPLAY_BYTES = 256 * 1024;

/**
 * A console socket serves one client at a time, so every viewer of a VM's serial port or monitor
 * shares one upstream connection: what the guest prints goes to all, what any viewer types goes in.
 */
class SharedConsole {
  readonly clients = new Set<WebSocket>();
  private upstream: Socket | null = null;

  constructor(
    private readonly socketPath: string,
    private readonly onEmpty: () => void,
  ) {}

  add(ws: WebSocket): void {
    this.clients.add(ws);
    if (!this.upstream) this.open();
    ws.on('message', (data: Buffer) => this.upstream?.write(data));
    ws.on('close', () => {
      this.clients.delete(ws);
      if (this.clients.size === 0) {
        this.upstream?.destroy();
        this.upstream = null;
        this.onEmpty();
      }
    });
  }

  private open(): void {
    const upstream = connect(this.socketPath);
    this.upstream = upstream;
    upstream.on('data', (chunk) => {
      for (const ws of this.clients) ws.send(chunk);
    });
    const end = () => {
      if (this.upstream !== upstream) return;
      this.upstream = null;
      for (const ws of this.clients) ws.close(1011, 'The VM console closed');
    };
    upstream.on('error', end);
    upstream.on('close', end);
  }
}

/**
 * Bridges a VM's VNC, serial and monitor unix sockets to loopback WebSockets. Each connection
 * needs a short-lived, single-use ticket that the API hands out, so neither another local user
 * nor a web page can reach a VM's screen or console.
 */
export class StreamBridge {
  private readonly tickets = new Map<string, Ticket>();
  private readonly consoles = new Map<string, SharedConsole>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private server: Server | null = null;
  private port: number | null = null;

  issue(target: StreamTarget): StreamTicket {
    this.prune();
    const token = randomBytes(24).toString('base64url');
    this.tickets.set(token, { ...target, expiresAt: Date.now() + TICKET_TTL_MS });
    const path = `/stream/${token}`;
    return {
      kind: target.kind,
      path,
      url: this.port === null ? null : `ws://127.0.0.1:${this.port}${path}`,
      replay: target.replayFile !== null,
    };
  }

  /** Takes over an HTTP upgrade for /stream/<token>; anything else is refused with 401. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = this.redeem(req.url ?? '');
    if (!ticket) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.attach(ws, ticket));
  }

  /** Its own loopback listener, for front doors without an HTTP server (Electron). */
  async listen(port = 0): Promise<number> {
    if (this.port !== null) return this.port;
    const server = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    server.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    if (this.server) await new Promise((r) => this.server?.close(r));
    this.server = null;
    this.port = null;
  }

  private redeem(url: string): Ticket | null {
    const m = /^\/stream\/([A-Za-z0-9_-]{16,64})(?:\?.*)?$/.exec(url);
    if (!m?.[1]) return null;
    const given = Buffer.from(m[1]);
    for (const [token, ticket] of this.tickets) {
      const known = Buffer.from(token);
      if (known.length === given.length && timingSafeEqual(known, given)) {
        this.tickets.delete(token);
        return ticket.expiresAt >= Date.now() ? ticket : null;
      }
    }
    return null;
  }

  private prune(): void {
    const now = Date.now();
    for (const [token, ticket] of this.tickets)
      if (ticket.expiresAt < now) this.tickets.delete(token);
  }

  private async attach(ws: WebSocket, ticket: Ticket): Promise<void> {
    if (ticket.kind === 'vnc') {
      // QEMU's VNC server takes many clients: one upstream per viewer.
      const upstream = connect(ticket.socketPath);
      upstream.on('data', (chunk) => ws.send(chunk));
      upstream.on('error', () => ws.close(1011, 'The VM display is not available'));
      upstream.on('close', () => ws.close());
      ws.on('message', (data: Buffer) => upstream.write(data));
      ws.on('close', () => upstream.destroy());
      return;
    }
    if (ticket.replayFile) {
      const history = await readTail(ticket.replayFile, REPLAY_BYTES);
      if (history) ws.send(Buffer.from(history));
    }
    const key = `${ticket.vmId}:${ticket.kind}`;
    let shared = this.consoles.get(key);
    if (!shared) {
      shared = new SharedConsole(ticket.socketPath, () => this.consoles.delete(key));
      this.consoles.set(key, shared);
    }
    shared.add(ws);
  }
}
