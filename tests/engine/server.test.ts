/**
 * Server mode's front door on the real engine (no VM is started): the token guards every request
 * and socket, static files cannot escape their folder, and /rpc speaks the contract's framing.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiEvent, RpcMessage } from '../../preload/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { isLoopback, safeRelativePath, startServer } from '../../electron/server';

type Server = Awaited<ReturnType<typeof startServer>>;

let root: string;
let engine: Engine;
let server: Server;
const cleanups: Array<() => Promise<unknown>> = [];

const FIXTURES = resolve(__dirname, '../fixtures/.cache');
const KERNEL = join(FIXTURES, 'vmlinuz');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vivarium-server-'));
  const staticDir = join(root, 'static');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Vivarium</title>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log("app")');
  await writeFile(join(staticDir, 'assets', 'app.css'), 'body{}');
  await writeFile(join(root, 'secret.txt'), 'TOP SECRET');
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  engine = await openEngine({ home: join(root, 'home'), role: 'owner' });
  cleanups.push(() => engine.close());
  server = await startServer({ engine, port: 0, staticDir });
  cleanups.push(() => server.close());
});

afterAll(async () => {
  for (const undo of cleanups.reverse()) await undo();
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path goes out exactly as written (no URL normalisation). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path, method, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function cookieHeader(): Record<string, string> {
  return { Cookie: `other=1; vivarium_token_${server.port}=${server.token}` };
}

/** Resolves with the HTTP status a refused upgrade answered, or 101 when it opened. */
function upgradeStatus(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, { headers });
    ws.on('open', () => {
      ws.close();
      resolvePromise(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolvePromise(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

class RpcClient {
  private nextId = 1;
  readonly events: ApiEvent[] = [];
  private readonly waiting = new Map<number, (m: RpcMessage) => void>();
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse((data as Buffer).toString('utf8')) as RpcMessage;
      if ('event' in msg) this.events.push(msg.event);
      else this.waiting.get(msg.id)?.(msg);
    });
  }

  static open(path = `/rpc?token=${server.token}`, headers: Record<string, string> = {}) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, { headers });
    return new Promise<RpcClient>((res, rej) => {
      ws.once('open', () => res(new RpcClient(ws)));
      ws.once('error', rej);
    });
  }

  call(method: string, params?: unknown): Promise<RpcMessage> {
    const id = this.nextId++;
    return this.raw(JSON.stringify({ id, method, params }), id);
  }

  raw(text: string, id: number): Promise<RpcMessage> {
    return new Promise((res) => {
      this.waiting.set(id, res);
      this.ws.send(text);
    });
  }

  close() {
    this.ws.close();
  }
}

describe('HTTP', () => {
  it('refuses requests without the token, with security headers', async () => {
    for (const path of ['/', '/index.html', '/assets/app.js', '/?token=wrong', '/?token=']) {
      const r = await get(path);
      expect(r.status, path).toBe(403);
      expect(r.body).not.toContain('console.log');
      expect(r.headers['content-security-policy']).toContain("default-src 'self'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    // A token of the right length but wrong content, and a wrong cookie.
    expect((await get(`/?token=${'0'.repeat(server.token.length)}`)).status).toBe(403);
    expect(
      (await get('/', { Cookie: `vivarium_token_${server.port}=${'f'.repeat(64)}` })).status,
    ).toBe(403);
  });

  it('serves the page with ?token=, sets an HttpOnly SameSite=Strict cookie', async () => {
    const r = await get(`/?token=${server.token}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('<title>Vivarium</title>');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toContain(`vivarium_token_${server.port}=${server.token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(csp).toContain("img-src 'self' data: blob:");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves assets by cookie with their content types; SPA fallback; 404 for missing files', async () => {
    const js = await get('/assets/app.js', cookieHeader());
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('console.log("app")');
    const css = await get('/assets/app.css', cookieHeader());
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const route = await get('/vms/abc', cookieHeader());
    expect(route.status).toBe(200);
    expect(route.body).toContain('<title>Vivarium</title>');
    expect((await get('/assets/missing.js', cookieHeader())).status).toBe(404);
    const head = await get('/assets/app.js', cookieHeader(), 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get('/', cookieHeader(), 'POST')).status).toBe(405);
  });

  it('cannot leave the static folder', async () => {
    for (const path of [
      '/../package.json',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/assets/%00app.js',
      '/%E0%A4%A',
      '/.env',
    ]) {
      const r = await get(`${path}${path.includes('?') ? '&' : '?'}token=${server.token}`);
      expect([400, 403, 404], path).toContain(r.status);
      expect(r.body, path).not.toContain('TOP SECRET');
      expect(r.body, path).not.toContain('"name": "vivarium"');
    }
    expect(safeRelativePath('/a/./b//c')).toBe('a/b/c');
    expect(safeRelativePath('/a/../b')).toBeNull();
  });
});

describe('WebSockets', () => {
  it('refuses sockets without the token, from other origins, and unknown paths', async () => {
    expect(await upgradeStatus('/rpc')).toBe(401);
    expect(await upgradeStatus('/rpc?token=nope')).toBe(401);
    expect(await upgradeStatus('/stream/abc')).toBe(401);
    expect(
      await upgradeStatus(`/rpc?token=${server.token}`, { Origin: 'http://127.0.0.1:1' }),
    ).toBe(403);
    expect(await upgradeStatus(`/rpc?token=${server.token}`, { Origin: 'https://evil.test' })).toBe(
      403,
    );
    expect(await upgradeStatus(`/nope?token=${server.token}`)).toBe(404);
    // With the server token, a stream still needs its own ticket (the engine refuses).
    expect(await upgradeStatus(`/stream/not-a-ticket?token=${server.token}`)).toBe(401);
  });

  it('accepts the cookie and the page’s own origin', async () => {
    expect(await upgradeStatus('/rpc', cookieHeader())).toBe(101);
    expect(
      await upgradeStatus(`/rpc?token=${server.token}`, {
        Origin: `http://127.0.0.1:${server.port}`,
      }),
    ).toBe(101);
  });

  it('answers calls with results and contract error bodies', async () => {
    const rpc = await RpcClient.open();
    try {
      const info = await rpc.call('host.info', {});
      expect('result' in info && info.result).toMatchObject({ platform: process.platform });
      const list = await rpc.call('vm.list', {});
      expect(list).toEqual({ id: 2, result: [] });

      const badMethod = await rpc.call('vm.explode', {});
      expect(badMethod).toMatchObject({ id: 3, error: { code: 'INVALID_REQUEST' } });

      const badParams = await rpc.call('vm.get', { vm: 42 });
      expect(badParams).toMatchObject({ id: 4, error: { code: 'INVALID_REQUEST' } });
      expect('error' in badParams && badParams.error.fields).toHaveProperty('vm');

      const missing = await rpc.call('vm.get', { vm: 'no such vm' });
      expect(missing).toMatchObject({ id: 5, error: { code: 'NOT_FOUND' } });

      expect(await rpc.raw('{"id":7,"method":3}', 7)).toMatchObject({
        id: 7,
        error: { code: 'INVALID_REQUEST' },
      });
      expect(await rpc.raw('not json', -1)).toMatchObject({
        id: -1,
        error: { code: 'INVALID_REQUEST' },
      });
    } finally {
      rpc.close();
    }
  });

  it.skipIf(!existsSync(KERNEL))('pushes engine events to every rpc socket', async () => {
    const a = await RpcClient.open();
    const b = await RpcClient.open('/rpc', cookieHeader());
    try {
      const created = await a.call('vm.create', {
        name: 'Events <b>&amp;</b>',
        kernel: KERNEL,
        memoryMiB: 64,
        diskSize: '0',
      });
      expect(created).toHaveProperty('result.name', 'Events <b>&amp;</b>');
      const added = (c: RpcClient) =>
        c.events.some((e) => e.type === 'vm.added' && e.vm.name === 'Events <b>&amp;</b>');
      await expect.poll(() => added(a) && added(b), { timeout: 5000 }).toBe(true);
      const deleted = await a.call('vm.delete', { vm: 'Events <b>&amp;</b>' });
      expect(deleted).toHaveProperty('result.deleted', true);
      await expect
        .poll(() => b.events.some((e) => e.type === 'vm.removed'), { timeout: 5000 })
        .toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });

  it('close() ends rpc sockets', async () => {
    const engine2 = await openEngine({ home: join(root, 'home2'), role: 'owner' });
    const s2 = await startServer({
      engine: engine2,
      staticDir: join(root, 'static'),
      token: 'a-fixed-token-for-tests',
    });
    expect(s2.token).toBe('a-fixed-token-for-tests');
    const ws = new WebSocket(`ws://127.0.0.1:${s2.port}/rpc?token=${s2.token}`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    await s2.close();
    expect(await closed).toBe(1001);
    await engine2.close();
  });
});

describe('options', () => {
  it('knows loopback hosts and refuses weak fixed tokens', async () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.2')).toBe(false);
    await expect(
      startServer({ engine, staticDir: join(root, 'static'), token: 'short' }),
    ).rejects.toThrow(/token/);
    await expect(startServer({ engine, staticDir: join(root, 'nope') })).rejects.toThrow(
      /npm run build/,
    );
  });
});
