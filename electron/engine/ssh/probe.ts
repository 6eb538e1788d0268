/**
 * Is an sshd answering behind a port? QEMU's user networking accepts a TCP connection on a
 * forwarded port at once, whether or not anything listens in the guest, so a connection proves
 * nothing: only the server's identification line (RFC 4253 4.2, `SSH-2.0-...`) does.
 */
import { connect } from 'node:net';

/** sshd may send other lines before its identification; RFC 4253 bounds the line at 255. */
const MAX_BANNER_BYTES = 8 * 1024;

/**
 * Connects and reads until the first `SSH-` line: that line (without CR LF), or null when the
 * connection is refused or closed, nothing came within `timeoutMs`, or `signal` aborted.
 */
export function sshBanner(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | null> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(null);
      return;
    }
    let buffered = '';
    let settled = false;
    const socket = connect({ host, port });
    const finish = (value: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(value);
    };
    const onAbort = (): void => {
      finish(null);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      finish(null);
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const l of lines) {
        const line = l.replace(/\r$/, '');
        if (line.startsWith('SSH-')) {
          finish(line);
          return;
        }
      }
      if (buffered.length > MAX_BANNER_BYTES) finish(null);
    });
    socket.on('error', () => {
      finish(null);
    });
    socket.on('close', () => {
      finish(null);
    });
  });
}

export interface WaitForSshOptions {
  signal?: AbortSignal;
  /** Time between attempts (after one that failed at once). Default 1000 ms. */
  intervalMs?: number;
  /** How long one attempt waits for the banner. Default 5000 ms. */
  attemptTimeoutMs?: number;
}

/**
 * Tries until an sshd answers; resolves with its identification line. Rejects with the signal's
 * reason (an AbortError by default) when aborted: the caller owns the overall deadline.
 */
export async function waitForSsh(
  host: string,
  port: number,
  opts: WaitForSshOptions = {},
): Promise<string> {
  const interval = opts.intervalMs ?? 1000;
  const attemptTimeout = opts.attemptTimeoutMs ?? 5000;
  const { signal } = opts;
  for (;;) {
    signal?.throwIfAborted();
    const started = Date.now();
    const banner = await sshBanner(host, port, attemptTimeout, signal);
    if (banner !== null) return banner;
    signal?.throwIfAborted();
    const wait = Math.max(0, interval - (Date.now() - started));
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, wait);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
