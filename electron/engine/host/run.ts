/** Runs a program (argv array, never a shell) with a deadline that kills its whole process group. */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The deadline passed (or `signal` aborted) and the process group was killed. */
  timedOut: boolean;
  /** The program could not be started (ENOENT, EACCES...). */
  spawnError: NodeJS.ErrnoException | null;
  elapsedMs: number;
}

export interface RunOptions {
  timeoutMs: number;
  /** Output kept per stream, from the start; the rest is dropped. */
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
  /** Aborting ends the run early, like the deadline. */
  signal?: AbortSignal;
}

export function runProgram(
  file: string,
  args: readonly string[],
  opts: RunOptions,
): Promise<RunResult> {
  const started = performance.now();
  const max = opts.maxOutputBytes ?? 64 * 1024;
  const ownGroup = process.platform !== 'win32';
  return new Promise((resolve) => {
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | null = null;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // A group of its own, so a timeout kills QEMU and anything it started.
      detached: ownGroup,
      windowsHide: true,
      env: opts.env ?? process.env,
    });
    child.stdout.on('data', (b: Buffer) => {
      if (outLen < max) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < max) err.push(b);
      errLen += b.length;
    });
    const kill = (): void => {
      try {
        if (ownGroup && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    };
    const expire = (): void => {
      timedOut = true;
      kill();
    };
    const timer = setTimeout(expire, opts.timeoutMs);
    opts.signal?.addEventListener('abort', expire, { once: true });
    if (opts.signal?.aborted) expire();
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', expire);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8').slice(0, max),
        stderr: Buffer.concat(err).toString('utf8').slice(0, max),
        timedOut,
        spawnError,
        elapsedMs: Math.round(performance.now() - started),
      });
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
      // 'close' may not follow a spawn failure.
      setImmediate(() => finish(null, null));
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** The last non-empty line of a program's stderr, for messages; '' when there is none. */
export function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
