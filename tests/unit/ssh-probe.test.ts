/** The probe against real loopback servers: an sshd-like banner, silence, a close, nothing. */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sshBanner, waitForSsh } from '../../electron/engine/ssh/probe';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer((s) => {
    sockets.push(s);
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** A port nothing listens on: one that was just closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  await new Promise((r) => server.close(r));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

describe('sshBanner', () => {
  it('reads the identification line, in pieces and after other lines', async () => {
    const port = await serve((s) => {
      s.write('Welcome\r\nSSH-2.0-Open');
      setTimeout(() => s.write('SSH_9.2p1 Debian-2\r\n'), 50);
    });
    expect(await sshBanner('127.0.0.1', port, 2000)).toBe('SSH-2.0-OpenSSH_9.2p1 Debian-2');
  });

  it('is null for a server that accepts and says nothing (slirp with no sshd), after the timeout', async () => {
    const port = await serve(() => undefined);
    const t0 = Date.now();
    expect(await sshBanner('127.0.0.1', port, 300)).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('is null at once for a server that closes, and for nothing listening', async () => {
    const closing = await serve((s) => s.end());
    const t0 = Date.now();
    expect(await sshBanner('127.0.0.1', closing, 5000)).toBeNull();
    expect(await sshBanner('127.0.0.1', await deadPort(), 5000)).toBeNull();
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('is null for a server that talks but never identifies itself', async () => {
    const port = await serve((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    expect(await sshBanner('127.0.0.1', port, 2000)).toBeNull();
  });
});

describe('waitForSsh', () => {
  it('waits for an sshd that starts answering later', async () => {
    let answer = false;
    const port = await serve((s) => {
      if (answer) s.write('SSH-2.0-late\r\n');
      else s.end();
    });
    setTimeout(() => (answer = true), 300);
    const t0 = Date.now();
    expect(await waitForSsh('127.0.0.1', port, { intervalMs: 100 })).toBe('SSH-2.0-late');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('stops when aborted, even mid-attempt against a silent server', async () => {
    const port = await serve(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('gave up')), 200);
    const t0 = Date.now();
    await expect(
      waitForSsh('127.0.0.1', port, { signal: ac.signal, attemptTimeoutMs: 10_000 }),
    ).rejects.toThrow('gave up');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
