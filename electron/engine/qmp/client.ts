/**
 * QMP client: handshake, commands with timeouts, events, jobs. Plain Node (no 'electron').
 *
 * QEMU serves one client per QMP socket; a second client gets no greeting until the first
 * leaves, hence the greeting timeout. QEMU has no command timeouts: ours are client-side, and a
 * reply that arrives after its command timed out is dropped (ids are never reused).
 *
 * Event order: events and replies are handled in the order QEMU sent them. Event listeners run
 * synchronously as each event is read, so every event sent before a reply has reached the
 * listeners before that command's promise settles. Events are not replayed: subscribe (or call
 * `waitForEvent`) before sending the command that causes them.
 */
import { createConnection, type Socket } from 'node:net';
import {
  LineFramer,
  parseQmpMessage,
  type QmpEvent,
  type QmpGreeting,
  type QmpMessage,
} from './framing';

export type { QmpEvent, QmpGreeting } from './framing';

/** QMP's structured error: `{"error": {"class", "desc"}}` (or a failed job: class 'JobFailed'). */
export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(
    readonly errorClass: string,
    readonly desc: string,
    readonly command: string,
  ) {
    super(`QMP ${command}: ${desc} (${errorClass})`);
  }
}

export class QmpTimeoutError extends Error {
  override readonly name = 'QmpTimeoutError';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    message = `QMP ${command}: no reply within ${timeoutMs} ms`,
  ) {
    super(message);
  }
}

/** The socket closed (QEMU quit or died, or `close()` was called) before a reply. */
export class QmpClosedError extends Error {
  override readonly name = 'QmpClosedError';
  constructor(
    message: string,
    readonly command?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface QmpConnectOptions {
  /** From the connect call to the greeting. Default 3000. */
  greetingTimeoutMs?: number;
  /** Default timeout of `execute`/`hmp` (and of `waitForEvent`). Default 10000. */
  commandTimeoutMs?: number;
  /** Sees every line sent ('out') and received ('in'), e.g. to record transcripts. */
  trace?: (direction: 'in' | 'out', line: string) => void;
  /** Aborts the connect (and handshake) with the signal's reason. */
  signal?: AbortSignal;
}

export interface QmpJobInfo {
  id: string;
  type: string;
  status: string;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

export interface RunJobOptions {
  /** Whole job, start to dismissal. Default 10 minutes. On timeout the job is left as it is. */
  timeoutMs?: number;
  /** Polled with query-jobs while the job runs (not every job type reports progress). */
  onProgress?: (current: number, total: number) => void;
  /** Progress poll interval. Default 250 ms. */
  progressIntervalMs?: number;
}

const DEFAULT_GREETING_TIMEOUT_MS = 3000;
/** With other sockets to try, a socket that accepted but does not greet is left sooner. */
const MULTI_SOCKET_GREETING_TIMEOUT_MS = 1500;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
const DEFAULT_JOB_TIMEOUT_MS = 10 * 60_000;
const CONNECT_POLL_MS = 5;

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

type Phase = 'greeting' | 'ready' | 'closed';

export class QmpClient {
  private readonly framer = new LineFramer();
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(e: QmpEvent) => void>();
  private readonly closeListeners = new Set<(err: Error | null) => void>();
  private nextId = 1;
  private phase: Phase = 'greeting';
  private closeError: Error | null = null;
  private greetingValue: QmpGreeting | undefined;
  private onGreeting: ((g: QmpGreeting) => void) | undefined;
  private readonly commandTimeoutMs: number;
  private readonly trace: QmpConnectOptions['trace'];

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
    opts: QmpConnectOptions,
  ) {
    this.commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.trace = opts.trace;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeError ??= err;
    });
    socket.on('close', () => this.finish(this.closeError));
  }

  /** Connects, reads the greeting and negotiates capabilities (none: OOB stays off). */
  static connect(socketPath: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const greetingTimeoutMs = opts.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS;
    const { signal } = opts;
    return new Promise<QmpClient>((resolve, reject) => {
      const socket = createConnection({ path: socketPath });
      const client = new QmpClient(socket, socketPath, opts);
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        client.close();
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(
          new QmpTimeoutError(
            'greeting',
            greetingTimeoutMs,
            `No QMP greeting on ${socketPath} within ${greetingTimeoutMs} ms: is another client ` +
              `connected? (QEMU serves one client per QMP socket.)`,
          ),
        );
      }, greetingTimeoutMs);
      const onAbort = (): void => {
        if (signal) fail(abortReason(signal));
      };
      const unsubscribe = client.onClose((err) => {
        // A connect error (ENOENT, ECONNREFUSED...) is passed on as is, so callers can read `code`.
        fail(
          err ??
            new QmpClosedError(`QMP socket ${socketPath} closed before the greeting`, 'greeting'),
        );
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      client.onGreeting = (greeting) => {
        clearTimeout(timer);
        client.greetingValue = greeting;
        client.phase = 'ready';
        client.execute('qmp_capabilities').then(
          () => {
            if (settled) return;
            settled = true;
            unsubscribe();
            signal?.removeEventListener('abort', onAbort);
            resolve(client);
          },
          (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
        );
      };
    });
  }

  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new Error('QMP greeting not received yet');
    return this.greetingValue;
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  /** Sends a command and resolves with its `return` value. Rejects with QmpError (QMP's
   * class/desc), QmpTimeoutError after `timeoutMs` (default: commandTimeoutMs; 0 = none; QEMU
   * still runs the command) or QmpClosedError. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    opts?: { timeoutMs?: number },
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.phase !== 'ready') {
        reject(
          this.phase === 'closed'
            ? new QmpClosedError(`QMP connection is closed (sending ${command})`, command, {
                cause: this.closeError ?? undefined,
              })
            : new Error(`QMP ${command}: not connected yet`),
        );
        return;
      }
      const id = this.nextId++;
      // No trailing newline: QEMU's JSON parser needs none, and a "\n" it never reads (it stops
      // reading after `quit`) makes the kernel reset the connection (ECONNRESET, not a clean EOF).
      const line =
        args === undefined
          ? JSON.stringify({ execute: command, id })
          : JSON.stringify({ execute: command, arguments: args, id });
      const timeoutMs = opts?.timeoutMs ?? this.commandTimeoutMs;
      const entry: Pending = {
        command,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
      };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        entry.timer = setTimeout(() => {
          if (this.pending.delete(id)) reject(new QmpTimeoutError(command, timeoutMs));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      if (this.trace) this.trace('out', line);
      this.socket.write(line);
    });
  }

  /** HMP through `human-monitor-command`. HMP errors come back as text, not as QmpError. */
  hmp(commandLine: string, opts?: { timeoutMs?: number }): Promise<string> {
    return this.execute('human-monitor-command', { 'command-line': commandLine }, opts).then(
      (out) => (typeof out === 'string' ? out : ''),
    );
  }

  onEvent(listener: (e: QmpEvent) => void): () => void {
    const l = (e: QmpEvent): void => listener(e); // distinct entry per subscription
    this.eventListeners.add(l);
    return () => {
      this.eventListeners.delete(l);
    };
  }

  /** Fires once when the socket ends: `null` on a clean end or `close()`, else the socket error.
   * Subscribing after the end calls the listener on the next tick. */
  onClose(listener: (err: Error | null) => void): () => void {
    if (this.phase === 'closed') {
      let cancelled = false;
      const err = this.closeError;
      process.nextTick(() => {
        if (!cancelled) listener(err);
      });
      return () => {
        cancelled = true;
      };
    }
    const l = (err: Error | null): void => listener(err);
    this.closeListeners.add(l);
    return () => {
      this.closeListeners.delete(l);
    };
  }

  /** Resolves with the next event `name` (matching `predicate`) read after this call.
   * Rejects with QmpTimeoutError after `timeoutMs` (default: the command timeout; 0 = never)
   * or QmpClosedError when the connection ends. */
  waitForEvent(
    name: string,
    predicate?: (e: QmpEvent) => boolean,
    timeoutMs: number = this.commandTimeoutMs,
  ): Promise<QmpEvent> {
    return this.eventWaiter(name, predicate, timeoutMs).promise;
  }

  private eventWaiter(
    name: string,
    predicate: ((e: QmpEvent) => boolean) | undefined,
    timeoutMs: number,
  ): { promise: Promise<QmpEvent>; cancel: () => void } {
    let cancel = (): void => undefined;
    const promise = new Promise<QmpEvent>((resolve, reject) => {
      if (this.phase === 'closed') {
        reject(new QmpClosedError(`QMP connection is closed (waiting for ${name})`, name));
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        offEvent();
        offClose();
      };
      cancel = done;
      const offEvent = this.onEvent((e) => {
        if (e.event !== name) return;
        try {
          if (predicate && !predicate(e)) return;
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        done();
        resolve(e);
      });
      const offClose = this.onClose((err) => {
        done();
        reject(
          new QmpClosedError(`QMP connection closed while waiting for event ${name}`, name, {
            cause: err ?? undefined,
          }),
        );
      });
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          done();
          reject(
            new QmpTimeoutError(
              `event ${name}`,
              timeoutMs,
              `QMP event ${name} did not arrive within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
      }
    });
    return { promise, cancel };
  }

  /**
   * Runs a job command (e.g. snapshot-save with job-id), waits for JOB_STATUS_CHANGE 'concluded',
   * reads query-jobs for its 'error', job-dismiss's it, and rejects with
   * QmpError('JobFailed', error) if it failed. A job created with auto-finalize off is finalized
   * when it reaches 'pending'. A command error (bad arguments...) rejects with that QmpError.
   */
  async runJob(
    command: string,
    args: Record<string, unknown> & { 'job-id': string },
    opts: RunJobOptions = {},
  ): Promise<void> {
    const jobId = args['job-id'];
    const timeoutMs = opts.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const remaining = (): number => Math.max(1, deadline - Date.now());

    let finalizeError: Error | undefined;
    // Only a job started with auto-finalize off waits for job-finalize; finalizing any other job
    // (snapshot-save/-load/-delete have no such option) races QEMU's own finalize and can fail it.
    const manualFinalize = args['auto-finalize'] === false;
    const offFinalize = this.onEvent((e) => {
      if (manualFinalize && e.event === 'JOB_STATUS_CHANGE' && e.data?.['id'] === jobId) {
        if (e.data['status'] === 'pending') {
          this.execute('job-finalize', { id: jobId }).catch((err: unknown) => {
            finalizeError = err instanceof Error ? err : new Error(String(err));
          });
        }
      }
    });
    // Subscribe before sending: the job may conclude before the command's reply is read.
    const concluded = this.eventWaiter(
      'JOB_STATUS_CHANGE',
      (e) => e.data?.['id'] === jobId && e.data['status'] === 'concluded',
      timeoutMs,
    );
    concluded.promise.catch(() => undefined); // observed below; no unhandled rejection meanwhile

    let poll: NodeJS.Timeout | undefined;
    try {
      await this.execute(command, args, {
        timeoutMs: Math.min(remaining(), this.commandTimeoutMs),
      });

      const { onProgress } = opts;
      if (onProgress) {
        let busy = false;
        poll = setInterval(() => {
          if (busy || this.phase !== 'ready') return;
          busy = true;
          this.findJob(jobId, remaining())
            .then((job) => {
              if (job && job.status !== 'concluded') {
                onProgress(job['current-progress'], job['total-progress']);
              }
            })
            .catch(() => undefined) // a slow poll is not the job's failure
            .finally(() => {
              busy = false;
            });
        }, opts.progressIntervalMs ?? 250);
      }

      await concluded.promise.catch((err: unknown) => {
        throw err instanceof QmpTimeoutError
          ? new QmpTimeoutError(
              command,
              timeoutMs,
              `QMP ${command}: job ${jobId} did not conclude within ${timeoutMs} ms`,
            )
          : err;
      });
      clearInterval(poll);
      if (finalizeError) throw finalizeError;

      const job = await this.findJob(jobId, remaining());
      if (!job) return; // auto-dismissed job: QEMU keeps no record of its outcome
      await this.execute('job-dismiss', { id: jobId }, { timeoutMs: remaining() });
      if (job.error !== undefined) throw new QmpError('JobFailed', job.error, command);
      onProgress?.(job['current-progress'], job['total-progress']);
    } finally {
      clearInterval(poll);
      concluded.cancel();
      offFinalize();
    }
  }

  /** Closes the connection. Pending commands reject with QmpClosedError; onClose fires (null). */
  close(): void {
    if (this.phase === 'closed') return;
    this.socket.destroy();
    this.finish(null);
  }

  private async findJob(jobId: string, timeoutMs: number): Promise<QmpJobInfo | undefined> {
    const jobs = await this.execute('query-jobs', undefined, { timeoutMs });
    if (!Array.isArray(jobs)) return undefined;
    for (const j of jobs as unknown[]) {
      if (typeof j !== 'object' || j === null) continue;
      const r = j as Record<string, unknown>;
      if (r['id'] !== jobId) continue;
      const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
      const info: QmpJobInfo = {
        id: jobId,
        type: typeof r['type'] === 'string' ? r['type'] : '',
        status: typeof r['status'] === 'string' ? r['status'] : '',
        'current-progress': num(r['current-progress']),
        'total-progress': num(r['total-progress']),
      };
      if (typeof r['error'] === 'string') info.error = r['error'];
      return info;
    }
    return undefined;
  }

  private onData(chunk: Buffer): void {
    let lines: string[];
    try {
      lines = this.framer.push(chunk);
    } catch (err) {
      this.closeError ??= err instanceof Error ? err : new Error(String(err));
      this.socket.destroy();
      return;
    }
    for (const line of lines) {
      if (this.phase === 'closed') return;
      if (this.trace) this.trace('in', line);
      this.dispatch(parseQmpMessage(line));
    }
  }

  private dispatch(msg: QmpMessage): void {
    switch (msg.kind) {
      case 'return':
      case 'error': {
        if (typeof msg.id !== 'number') return; // not ours (e.g. a parse error has no id)
        const p = this.pending.get(msg.id);
        if (!p) return; // timed out earlier
        this.pending.delete(msg.id);
        if (p.timer !== undefined) clearTimeout(p.timer);
        if (msg.kind === 'return') p.resolve(msg.value);
        else p.reject(new QmpError(msg.errorClass, msg.desc, p.command));
        return;
      }
      case 'event':
        for (const l of [...this.eventListeners]) {
          try {
            l(msg.event);
          } catch (err) {
            // A listener's bug must not break the connection or the other listeners.
            console.error('QMP event listener threw:', err);
          }
        }
        return;
      case 'greeting':
        if (this.phase === 'greeting' && this.onGreeting) {
          const cb = this.onGreeting;
          this.onGreeting = undefined;
          cb(msg.greeting);
        }
        return;
      case 'invalid':
        return;
    }
  }

  private finish(err: Error | null): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.closeError = err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(
        new QmpClosedError(
          `QMP connection closed before ${p.command} replied`,
          p.command,
          err ? { cause: err } : undefined,
        ),
      );
    }
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    this.eventListeners.clear();
    for (const l of listeners) {
      try {
        l(err);
      } catch (e) {
        console.error('QMP close listener threw:', e);
      }
    }
  }
}

function isRetryableConnectError(err: unknown): boolean {
  if (err instanceof QmpTimeoutError && err.command === 'greeting') return true;
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EAGAIN';
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error('QMP connect aborted', { cause: r });
}

/**
 * Connects repeatedly until the socket accepts or `deadlineMs` passes or `abort` fires (QEMU just
 * started and has not created the socket yet). Poll interval ~5 ms so start-up is not slowed.
 *
 * `deadlineMs` is a duration from the call (not a wall-clock time). Missing socket (ENOENT),
 * refused connections and greeting timeouts are retried; other errors, e.g. QEMU closing the
 * socket, reject at once. Each attempt's greeting timeout is capped by the time left.
 *
 * Given several sockets of one QEMU, each round tries them in turn: QEMU serves one client per
 * QMP socket, and another Vivarium process watching the library may attach to the first one the
 * moment QEMU's pid file appears (it then refuses or never greets this client).
 */
export async function connectWhenReady(
  socketPaths: string | readonly string[],
  opts: QmpConnectOptions & { deadlineMs: number; signal?: AbortSignal },
): Promise<QmpClient> {
  const { deadlineMs, signal, ...connectOpts } = opts;
  const sockets = typeof socketPaths === 'string' ? [socketPaths] : [...socketPaths];
  const deadline = Date.now() + deadlineMs;
  const greetingTimeoutMs =
    opts.greetingTimeoutMs ??
    (sockets.length > 1 ? MULTI_SOCKET_GREETING_TIMEOUT_MS : DEFAULT_GREETING_TIMEOUT_MS);
  let lastError: unknown;
  for (let round = 0; ; round++) {
    if (signal?.aborted) throw abortReason(signal);
    const left = deadline - Date.now();
    if (left <= 0) break;
    const socketPath = sockets[round % sockets.length] ?? '';
    try {
      const client = await QmpClient.connect(socketPath, {
        ...connectOpts,
        ...(signal ? { signal } : {}),
        greetingTimeoutMs: Math.min(greetingTimeoutMs, left),
      });
      if (signal?.aborted) {
        client.close();
        throw abortReason(signal);
      }
      return client;
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      if (!isRetryableConnectError(err)) throw err;
      lastError = err;
    }
    const wait = Math.min(CONNECT_POLL_MS, deadline - Date.now());
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, wait);
        function done(): void {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
  const why = lastError instanceof Error ? lastError.message : 'no attempt made';
  throw new QmpTimeoutError(
    'connect',
    deadlineMs,
    `QMP socket ${sockets.join(' or ')} not ready within ${deadlineMs} ms (last: ${why})`,
  );
}
