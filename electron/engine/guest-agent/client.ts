/**
 * A client of the QEMU guest agent (qemu-ga) over the host end of its virtio-serial channel
 * (`org.qemu.guest_agent.0`, a unix socket chardev).
 *
 * The protocol is QMP-like JSON lines without a greeting, ids or events: one reply per command, in
 * order, and none at all for guest-shutdown. The channel outlives connections, so a new one may
 * hold a previous client's unread replies or half a request: each connection starts with a 0xFF
 * byte (the agent's parser resets on it) and guest-sync-delimited, whose reply the agent prefixes
 * with 0xFF; everything before the reply carrying our id is dropped. QEMU's chardev serves one
 * client at a time (others wait in the listen queue), so connections are short and never left
 * open, and callers in this process take turns per socket.
 */
import { randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { VivariumError } from '../errors';

const SENTINEL = 0xff;
const MAX_BUFFERED = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5000;
/** guest-shutdown answers nothing on success: how long a refusal is waited for. */
const SHUTDOWN_GRACE_MS = 1000;
/** Freezing waits for every filesystem to flush: a busy guest takes long. */
const FREEZE_TIMEOUT_MS = 60_000;

export const NOT_RUNNING_MESSAGE =
  'The guest agent is not running in the guest: install qemu-guest-agent in it ' +
  '(for example sudo apt install qemu-guest-agent) and start it.';

interface AgentErrorBody {
  class: string;
  desc: string;
}

/** A command the agent answered with an error (disabled, unsupported, failed in the guest). */
export class GuestAgentCommandError extends VivariumError {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(
      'QMP_ERROR',
      errorClass === 'CommandNotFound'
        ? `The guest agent does not offer ${command} (${desc}): it may be disabled in the guest or too old.`
        : `The guest agent could not run ${command}: ${desc}`,
    );
  }
}

export interface GuestAgentInfo {
  version: string;
  commands: Array<{ name: string; enabled: boolean; successResponse: boolean }>;
}

export interface GuestOsInfo {
  name: string | null;
  prettyName: string | null;
  version: string | null;
  id: string | null;
  kernelRelease: string | null;
}

export interface GuestAddress {
  family: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

export interface GuestInterface {
  name: string;
  hardwareAddress: string | null;
  /** Without loopback and link-local addresses, IPv4 first. */
  addresses: GuestAddress[];
}

export type ShutdownMode = 'powerdown' | 'reboot' | 'halt';
export type FsFreezeStatus = 'thawed' | 'frozen';

type Json = unknown;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Loopback (127/8, ::1) and link-local (169.254/16, fe80::/10) addresses. Pure. */
export function isLocalOnlyAddress(family: 'ipv4' | 'ipv6', address: string): boolean {
  const a = address.toLowerCase();
  if (family === 'ipv4') return a.startsWith('127.') || a.startsWith('169.254.');
  return a === '::1' || /^fe[89ab][0-9a-f]:/.test(a);
}

/** guest-network-get-interfaces' reply as interfaces with reachable addresses only. Pure. */
export function parseInterfaces(raw: Json): GuestInterface[] {
  if (!Array.isArray(raw)) return [];
  const out: GuestInterface[] = [];
  for (const iface of raw) {
    if (!isObject(iface)) continue;
    const name = str(iface.name);
    if (!name) continue;
    const addresses: GuestAddress[] = [];
    for (const ip of Array.isArray(iface['ip-addresses']) ? iface['ip-addresses'] : []) {
      if (!isObject(ip)) continue;
      const family = ip['ip-address-type'];
      const address = str(ip['ip-address']);
      if ((family !== 'ipv4' && family !== 'ipv6') || !address) continue;
      if (isLocalOnlyAddress(family, address)) continue;
      addresses.push({ family, address, prefix: typeof ip.prefix === 'number' ? ip.prefix : 0 });
    }
    if (addresses.length === 0) continue;
    addresses.sort((x, y) => (x.family === y.family ? 0 : x.family === 'ipv4' ? -1 : 1));
    out.push({ name, hardwareAddress: str(iface['hardware-address']), addresses });
  }
  return out;
}

/** All reachable addresses of the guest, IPv4 first. Pure. */
export function guestAddresses(interfaces: GuestInterface[]): string[] {
  const all = interfaces.flatMap((i) => i.addresses);
  return [...all.filter((a) => a.family === 'ipv4'), ...all.filter((a) => a.family === 'ipv6')].map(
    (a) => a.address,
  );
}

export function parseOsInfo(raw: Json): GuestOsInfo {
  const o = isObject(raw) ? raw : {};
  return {
    name: str(o.name),
    prettyName: str(o['pretty-name']),
    version: str(o.version),
    id: str(o.id),
    kernelRelease: str(o['kernel-release']),
  };
}

export function parseAgentInfo(raw: Json): GuestAgentInfo {
  const o = isObject(raw) ? raw : {};
  const list = Array.isArray(o.supported_commands) ? o.supported_commands : [];
  return {
    version: str(o.version) ?? '',
    commands: list.filter(isObject).map((c) => ({
      name: str(c.name) ?? '',
      enabled: c.enabled === true,
      successResponse: c['success-response'] !== false,
    })),
  };
}

/**
 * Splits the agent's byte stream into replies. Before `sync` is seen, bytes up to a 0xFF
 * sentinel and lines that are not the sync reply are dropped. Exported for the framing tests.
 */
export class AgentReader {
  private buf: Buffer = Buffer.alloc(0);
  private synced = false;

  constructor(private readonly syncId: number) {}

  get isSynced(): boolean {
    return this.synced;
  }

  /** Feeds bytes; returns the replies completed after the sync reply. */
  push(chunk: Buffer): Json[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.buf.length > MAX_BUFFERED) throw new Error('The guest agent sent too much data');
    const replies: Json[] = [];
    for (;;) {
      if (!this.synced) {
        const at = this.buf.indexOf(SENTINEL);
        if (at < 0) {
          // Nothing before a sentinel matters; keep the tail small.
          this.buf = Buffer.alloc(0);
          return replies;
        }
        const nl = this.buf.indexOf(0x0a, at);
        if (nl < 0) {
          this.buf = this.buf.subarray(at);
          return replies;
        }
        const line = this.buf.subarray(at + 1, nl);
        this.buf = this.buf.subarray(nl + 1);
        const reply = parseLine(line);
        if (isObject(reply) && reply.return === this.syncId) this.synced = true;
        continue;
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return replies;
      const line = this.buf.subarray(0, nl);
      this.buf = this.buf.subarray(nl + 1);
      const reply = parseLine(line);
      if (reply !== undefined) replies.push(reply);
    }
  }
}

function parseLine(line: Buffer): Json {
  const text = line.toString('utf8').replace(/\xff/g, '').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

interface Waiter {
  resolve: (reply: Json) => void;
  reject: (err: Error) => void;
}

/** One connection, synced. Made by {@link withGuestAgent}; commands run one at a time. */
export class GuestAgentClient {
  private readonly waiters: Waiter[] = [];
  private readonly queued: Json[] = [];
  private failure: Error | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private closedListeners: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly reader: AgentReader,
    private readonly defaultTimeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      let replies: Json[];
      try {
        replies = this.reader.push(chunk);
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
        socket.destroy();
        return;
      }
      for (const r of replies) {
        const w = this.waiters.shift();
        if (w) w.resolve(r);
        else this.queued.push(r);
      }
    });
    socket.on('error', (err) => {
      this.fail(
        new VivariumError('BAD_STATE', `The guest agent connection failed: ${err.message}`),
      );
    });
    socket.on('close', () => {
      this.fail(new VivariumError('BAD_STATE', 'The guest agent closed the connection.'));
      for (const l of this.closedListeners.splice(0)) l();
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Connects and syncs; NOT_RUNNING_MESSAGE when the agent does not answer in time. */
  static async connect(
    socketPath: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<GuestAgentClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(socketPath);
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          new VivariumError(
            'TIMEOUT',
            `The guest agent channel ${socketPath} did not accept a connection.`,
          ),
        );
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const gone = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
        reject(
          new VivariumError(
            'BAD_STATE',
            gone
              ? 'The VM has no guest agent channel open: it is not running, or was started without one.'
              : `Could not connect to the guest agent channel ${socketPath}: ${err.message}`,
          ),
        );
      });
    });
    const syncId = randomInt(1, 2 ** 31);
    const client = new GuestAgentClient(socket, new AgentReader(syncId), timeoutMs);
    try {
      await client.sync(syncId, timeoutMs);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  private async sync(id: number, timeoutMs: number): Promise<void> {
    const synced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new VivariumError(
            'TIMEOUT',
            `${NOT_RUNNING_MESSAGE} (No answer in ${String(timeoutMs / 1000)} s; another program may also be using the agent.)`,
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        if (this.reader.isSynced) {
          clearTimeout(timer);
          this.socket.off('data', check);
          resolve();
        }
      };
      this.socket.on('data', check);
      this.socket.once('close', () => {
        clearTimeout(timer);
        reject(
          this.failure ?? new VivariumError('BAD_STATE', 'The guest agent closed the connection.'),
        );
      });
    });
    const request = JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } });
    this.socket.write(Buffer.concat([Buffer.from([SENTINEL]), Buffer.from(`${request}\n`)]));
    await synced;
  }

  private nextReply(timeoutMs: number, command: string): Promise<Json> {
    const queued = this.queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Json>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        // A late reply would answer the next command: this connection is done.
        this.fail(
          new VivariumError('TIMEOUT', `The guest agent did not answer ${command} in time.`),
        );
        this.socket.destroy();
        reject(this.failure ?? new Error('timeout'));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Runs one command and returns its `return` value; GuestAgentCommandError for `error`. */
  execute(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<Json> {
    const run = async (): Promise<Json> => {
      if (this.failure) throw this.failure;
      const request = args ? { execute: command, arguments: args } : { execute: command };
      this.socket.write(`${JSON.stringify(request)}\n`);
      const reply = await this.nextReply(timeoutMs ?? this.defaultTimeoutMs, command);
      if (isObject(reply) && isObject(reply.error)) {
        const e = reply.error as Partial<AgentErrorBody>;
        throw new GuestAgentCommandError(command, e.class ?? 'GenericError', e.desc ?? '');
      }
      if (isObject(reply) && 'return' in reply) return reply.return;
      throw new VivariumError(
        'QMP_ERROR',
        `The guest agent sent an unexpected reply to ${command}.`,
      );
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async ping(): Promise<void> {
    await this.execute('guest-ping');
  }

  async info(): Promise<GuestAgentInfo> {
    return parseAgentInfo(await this.execute('guest-info'));
  }

  async osInfo(): Promise<GuestOsInfo> {
    return parseOsInfo(await this.execute('guest-get-osinfo'));
  }

  async networkInterfaces(): Promise<GuestInterface[]> {
    return parseInterfaces(await this.execute('guest-network-get-interfaces'));
  }

  /**
   * Asks the guest to shut down (or reboot, halt). The agent answers only when it refuses;
   * resolves when it closes the channel or after a short wait without a refusal.
   */
  shutdown(mode: ShutdownMode = 'powerdown'): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.failure) throw this.failure;
      this.socket.write(`${JSON.stringify({ execute: 'guest-shutdown', arguments: { mode } })}\n`);
      const closed = new Promise<'closed'>((resolve) =>
        this.closedListeners.push(() => resolve('closed')),
      );
      const reply = this.nextReply(SHUTDOWN_GRACE_MS + 60_000, 'guest-shutdown').then(
        (r) => ({ r }),
        () => 'closed' as const,
      );
      const grace = new Promise<'grace'>((resolve) =>
        setTimeout(() => resolve('grace'), SHUTDOWN_GRACE_MS),
      );
      const first = await Promise.race([reply, closed, grace]);
      if (typeof first === 'object' && isObject(first.r) && isObject(first.r.error)) {
        const e = first.r.error as Partial<AgentErrorBody>;
        throw new GuestAgentCommandError('guest-shutdown', e.class ?? 'GenericError', e.desc ?? '');
      }
      // Nothing more may be sent: a stray reply would be taken for another command's.
      this.fail(new VivariumError('BAD_STATE', 'The guest is shutting down.'));
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Freezes the guest's filesystems; the number frozen. Thaw soon after: writes block. */
  async fsfreezeFreeze(): Promise<number> {
    return Number(await this.execute('guest-fsfreeze-freeze', undefined, FREEZE_TIMEOUT_MS));
  }

  /** The number of filesystems thawed. */
  async fsfreezeThaw(): Promise<number> {
    return Number(await this.execute('guest-fsfreeze-thaw', undefined, FREEZE_TIMEOUT_MS));
  }

  async fsfreezeStatus(): Promise<FsFreezeStatus> {
    const s = await this.execute('guest-fsfreeze-status');
    return s === 'frozen' ? 'frozen' : 'thawed';
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Runs `fn` with the guest's filesystems frozen (a consistent disk snapshot), and thaws them
 * whatever happens. The agent thaws by itself only when it restarts: a freeze must never leak.
 */
export async function withFrozenFilesystems<T>(
  agent: GuestAgentClient,
  fn: (frozen: number) => Promise<T>,
): Promise<T> {
  const frozen = await agent.fsfreezeFreeze();
  try {
    return await fn(frozen);
  } finally {
    await agent.fsfreezeThaw();
  }
}

const turns = new Map<string, Promise<unknown>>();

/**
 * Connects, syncs, runs `fn`, and always disconnects. Callers in this process take turns per
 * socket; another process's caller waits in QEMU's listen queue, and times out with a message
 * saying the agent may be busy.
 */
export function withGuestAgent<T>(
  socketPath: string,
  fn: (agent: GuestAgentClient) => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const run = async (): Promise<T> => {
    const agent = await GuestAgentClient.connect(socketPath, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      return await fn(agent);
    } finally {
      agent.close();
    }
  };
  const previous = turns.get(socketPath) ?? Promise.resolve();
  const p = previous.then(run, run);
  const settled = p.catch(() => undefined);
  turns.set(socketPath, settled);
  void settled.then(() => {
    if (turns.get(socketPath) === settled) turns.delete(socketPath);
  });
  return p;
}
