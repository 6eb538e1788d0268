/**
 * Server mode's front door on the real engine (no VM is started): the token guards every socket and
 * upload (as a subprotocol or a bearer header, never a cookie or the URL), the app shell is open
 * and sets no cookie, static files cannot escape their folder, and /rpc speaks the contract's
 * framing.
 * `PUT /upload` takes an ISO from the browser into the media cache (hashed, detected, reused,
 * and nothing left behind when the connection breaks).
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiEvent, MediaUploadResult, RpcMessage } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { uploadFileName } from '../../electron/engine/catalog/media-upload';
import { isLoopback, safeRelativePath, startServer } from '../../electron/server';
import { tokenProtocols } from '../../electron/server/auth';
import { catalogEntry } from '../helpers/catalog-entry';
import { guest, waitFor } from '../helpers/fixtures';

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

/** The cookie the old design set: it must open nothing now. */
function cookieHeader(): Record<string, string> {
  return { Cookie: `other=1; vivarium_token_${server.port}=${server.token}` };
}

/** The page's way to show the token on a socket: subprotocols. */
function authed(token = server.token): string[] {
  return tokenProtocols(token);
}

/** Resolves with the HTTP status a refused upgrade answered, or 101 when it opened. */
function upgradeStatus(
  path: string,
  headers: Record<string, string> = {},
  protocols: string[] = [],
): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, protocols, { headers });
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

  static open(path = '/rpc', headers: Record<string, string> = {}, protocols = authed()) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, protocols, { headers });
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
  it('serves the app shell without the token and sets no cookie, with security headers', async () => {
    for (const path of ['/', '/index.html', '/?token=wrong', `/?token=${server.token}`]) {
      const r = await get(path, path === '/' ? cookieHeader() : {});
      expect(r.status, path).toBe(200);
      expect(r.headers['set-cookie'], path).toBeUndefined();
      expect(r.headers['content-security-policy']).toContain("default-src 'self'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    const r = await get('/');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('<title>Vivarium</title>');
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(csp).toContain("img-src 'self' data: blob:");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    // The token rides in the fragment: a browser never sends it to any server.
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves assets with their content types; SPA fallback; 404 for missing files', async () => {
    const js = await get('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('console.log("app")');
    const css = await get('/assets/app.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const route = await get('/vms/abc');
    expect(route.status).toBe(200);
    expect(route.body).toContain('<title>Vivarium</title>');
    expect((await get('/assets/missing.js')).status).toBe(404);
    const head = await get('/assets/app.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get('/', {}, 'POST')).status).toBe(405);
    for (const res of [js, css, route, head]) expect(res.headers['set-cookie']).toBeUndefined();
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
      const r = await get(path);
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
    expect(await upgradeStatus('/rpc', {}, authed('wrong-token-0123456789'))).toBe(401);
    // The token in the URL or in the old cookie opens nothing.
    expect(await upgradeStatus(`/rpc?token=${server.token}`)).toBe(401);
    expect(await upgradeStatus('/rpc', cookieHeader())).toBe(401);
    expect(await upgradeStatus('/stream/abc')).toBe(401);
    expect(await upgradeStatus('/rpc', { Origin: 'http://127.0.0.1:1' }, authed())).toBe(403);
    expect(await upgradeStatus('/rpc', { Origin: 'https://evil.test' }, authed())).toBe(403);
    expect(await upgradeStatus('/nope', {}, authed())).toBe(404);
    // With the server token, a stream still needs its own ticket (the engine refuses).
    expect(await upgradeStatus('/stream/not-a-ticket', {}, authed())).toBe(401);
  });

  it('accepts the token as a subprotocol, from the page’s own origin', async () => {
    expect(await upgradeStatus('/rpc', {}, authed())).toBe(101);
    expect(
      await upgradeStatus('/rpc', { Origin: `http://127.0.0.1:${server.port}` }, authed()),
    ).toBe(101);
    // The server answers with the RPC subprotocol, never echoing the one that holds the token.
    const rpc = await RpcClient.open();
    expect(rpc.ws.protocol).toBe('vivarium.rpc');
    rpc.close();
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
    const b = await RpcClient.open('/rpc', { Origin: `http://127.0.0.1:${server.port}` });
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

  it('sends statistics samples only to the sockets that subscribed, and frees theirs on close', async () => {
    const watcher = await RpcClient.open();
    const other = await RpcClient.open();
    try {
      const sub = await watcher.call('stats.subscribe', {});
      expect(sub).toHaveProperty('result.leaseMs');
      const samples = (c: RpcClient) => c.events.filter((e) => e.type === 'stats.sample').length;
      await expect.poll(() => samples(watcher), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      expect(samples(other)).toBe(0);
      expect(engine.stats.watching).toBe(true);
      // Closing the socket gives its lease up at once, not at the end of its 30 s lease.
      watcher.close();
      await expect.poll(() => engine.stats.watching, { timeout: 5000 }).toBe(false);
    } finally {
      watcher.close();
      other.close();
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
    const ws = new WebSocket(`ws://127.0.0.1:${s2.port}/rpc`, tokenProtocols(s2.token));
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

// ---------------------------------------------------------------------------------------------
// Uploads

interface PutReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: unknown;
}

/** PUT `body` (a file streamed, or bytes) to `path` with a Content-Length of its size. */
function put(
  port: number,
  path: string,
  body: { file: string; size: number } | Buffer,
  headers: Record<string, string> = {},
): Promise<PutReply> {
  const size = Buffer.isBuffer(body) ? body.length : body.size;
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    // A refused upload may close while the body is still going out: the answer is what counts.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    if (Buffer.isBuffer(body)) req.end(body);
    else createReadStream(body.file).pipe(req);
  });
}

/** Headers only, no body: for answers given before the first byte is read. */
function putHeadersOnly(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<PutReply> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'PUT', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolvePromise({
          status: res.statusCode ?? 0,
          headers: res.headers,
          json: JSON.parse(text) as unknown,
        });
        req.destroy();
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') reject(err);
    });
    req.flushHeaders();
  });
}

describe.skipIf(!existsSync(guest.iso))('uploads (PUT /upload)', () => {
  let upEngine: Engine;
  let up: Server;
  let mediaDir: string;
  let isoSize: number;
  let isoSha: string;
  const MAX = 64 * 2 ** 20;

  /** How the page shows the token on an upload. */
  const bearer = () => ({ Authorization: `Bearer ${up.token}` });
  const iso = () => ({ file: guest.iso, size: isoSize });
  /** Partial uploads in the cache's .partial folder. */
  const parts = async () =>
    (await readdir(join(mediaDir, '.partial')).catch(() => [] as string[])).filter((n) =>
      n.startsWith('upload-'),
    );

  beforeAll(async () => {
    const extra = join(root, 'upload-catalog.json');
    await writeFile(
      extra,
      JSON.stringify([
        catalogEntry({
          id: 'vivarium-upload-guest',
          name: 'Vivarium Upload Guest',
          homepage: null,
          aliases: [],
          minimum: { diskGiB: 1 },
          versions: [
            { id: '1', name: 'Vivarium Upload Guest 1', status: 'current', media: [], notes: [] },
          ],
          detect: [{ volumeId: '^VIVARIUM_TESTGUEST$', version: '1' }],
          notes: [],
        }),
      ]),
    );
    upEngine = await openEngine({
      home: join(root, 'home-upload'),
      role: 'owner',
      catalog: { extraFiles: [extra], osinfoDir: null },
    });
    up = await startServer({
      engine: upEngine,
      staticDir: join(root, 'static'),
      maxUploadBytes: MAX,
    });
    mediaDir = upEngine.catalog.media.dir;
    isoSize = (await stat(guest.iso)).size;
    const { stdout } = await promisify(execFile)('sha256sum', [guest.iso]);
    isoSha = stdout.split(' ')[0]!;
    expect(isoSha).toMatch(/^[0-9a-f]{64}$/);
  });

  afterAll(async () => {
    await up.close();
    await upEngine.close();
  });

  it('stores the ISO in the media cache with its SHA-256, lists it and detects it', async () => {
    const r = await put(up.port, `/upload?name=${encodeURIComponent('guest,v1.iso')}`, iso(), {
      ...bearer(),
      Origin: `http://127.0.0.1:${up.port}`,
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const res = r.json as MediaUploadResult;
    expect(res).toMatchObject({ sha256: isoSha, bytes: isoSize, reused: false });
    // Where a download would be: media/<sha256>/<name>, read-only, with the same bytes.
    expect(res.file).toBe(join(mediaDir, isoSha, 'guest,v1.iso'));
    expect((await stat(res.file)).mode & 0o777).toBe(0o400);
    expect((await readFile(res.file)).equals(await readFile(guest.iso))).toBe(true);
    expect(res.media).toMatchObject({
      sha256: isoSha,
      file: res.file,
      filename: 'guest,v1.iso',
      bytes: isoSize,
      url: '',
      verified: 'none',
    });
    // media.list shows it (over the same server's RPC).
    const ws = new WebSocket(`ws://127.0.0.1:${up.port}/rpc`, tokenProtocols(up.token));
    await new Promise((r2) => ws.once('open', r2));
    const listed = await new Promise<RpcMessage>((r2) => {
      ws.once('message', (d) => r2(JSON.parse((d as Buffer).toString('utf8')) as RpcMessage));
      ws.send(JSON.stringify({ id: 1, method: 'media.list', params: {} }));
    });
    ws.close();
    expect('result' in listed && listed.result).toEqual([res.media]);
    // Detection: the ISO's volume id matches the catalogue entry exactly.
    expect(res.detection).toMatchObject({
      file: res.file,
      sizeBytes: isoSize,
      format: 'iso9660',
      iso: { volumeId: 'VIVARIUM_TESTGUEST' },
      best: { os: 'vivarium-upload-guest', version: '1', confidence: 'exact' },
    });
    expect(res.detection.iso?.elTorito?.bios).toBe(true);
    expect(await parts()).toEqual([]);
  });

  it('reuses the cached file for the same bytes (no second copy)', async () => {
    const before = await upEngine.call('media.list', {});
    const r = await put(up.port, '/upload?name=another-name.iso', iso(), bearer());
    expect(r.status).toBe(200);
    const res = r.json as MediaUploadResult;
    expect(res).toMatchObject({ sha256: isoSha, reused: true, bytes: isoSize });
    expect(res.file).toBe(join(mediaDir, isoSha, 'guest,v1.iso'));
    expect(res.detection.best.confidence).toBe('exact');
    expect(await upEngine.call('media.list', {})).toEqual(before);
    expect((await readdir(join(mediaDir, isoSha))).sort()).toEqual(['guest,v1.iso', 'meta.json']);
    expect(await parts()).toEqual([]);
  });

  it('refuses without the token (401), from another origin (403), and bad requests', async () => {
    const small = Buffer.alloc(4096, 1);
    const none = await put(up.port, '/upload?name=x.iso', small);
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await put(up.port, '/upload?name=x.iso&token=nope', small)).status).toBe(401);
    expect(
      (
        await put(up.port, '/upload?name=x.iso', small, {
          Authorization: `Bearer ${'0'.repeat(64)}`,
        })
      ).status,
    ).toBe(401);
    // The right token in the old cookie, or in the URL, opens nothing.
    const byCookie = await put(up.port, '/upload?name=x.iso', small, {
      Cookie: `vivarium_token_${up.port}=${up.token}`,
    });
    expect(byCookie.status).toBe(401);
    expect((await put(up.port, `/upload?name=x.iso&token=${up.token}`, small)).status).toBe(401);
    const evil = await put(up.port, '/upload?name=x.iso', small, {
      ...bearer(),
      Origin: 'http://evil.test',
    });
    expect(evil.status).toBe(403);
    const otherPort = await put(up.port, '/upload?name=x.iso', small, {
      ...bearer(),
      Origin: 'http://127.0.0.1:1',
    });
    expect(otherPort.status).toBe(403);
    expect((await put(up.port, '/upload', small, bearer())).status).toBe(400);
    expect(
      (await get('/upload?name=x.iso', { Authorization: `Bearer ${up.token}` })).status,
    ).not.toBe(200);
    const asGet = await new Promise<number>((r2) => {
      http
        .get(
          { host: '127.0.0.1', port: up.port, path: '/upload?name=x.iso', headers: bearer() },
          (res) => {
            res.resume();
            r2(res.statusCode ?? 0);
          },
        )
        .end();
    });
    expect(asGet).toBe(405);
    // Bigger than the bound, or more than the disk has: refused before a byte is read.
    const tooBig = await putHeadersOnly(up.port, '/upload?name=big.iso', {
      ...bearer(),
      'Content-Length': String(MAX + 1),
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json).toMatchObject({ code: 'RESOURCE_LIMIT' });
    const chunked = await putHeadersOnly(up.port, '/upload?name=c.iso', {
      ...bearer(),
      'Transfer-Encoding': 'chunked',
    });
    expect(chunked.status).toBe(411);
    const empty = await put(up.port, '/upload?name=e.iso', Buffer.alloc(0), bearer());
    expect(empty.status).toBe(400);
    expect(await parts()).toEqual([]);
    const names = (await readdir(mediaDir)).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(names).toEqual([isoSha]);
  });

  it('keeps a free-space check: an upload larger than the free space is refused', async () => {
    const free = await upEngine.catalog.media.freeBytes();
    expect(free).not.toBeNull();
    const engine3 = await openEngine({ home: join(root, 'home-upload-3'), role: 'owner' });
    const s3 = await startServer({
      engine: engine3,
      staticDir: join(root, 'static'),
      maxUploadBytes: Number.MAX_SAFE_INTEGER,
    });
    try {
      const r = await putHeadersOnly(s3.port, '/upload?name=huge.iso', {
        Authorization: `Bearer ${s3.token}`,
        'Content-Length': String(free! + 2 ** 30),
      });
      expect(r.status).toBe(507);
      expect(r.json).toMatchObject({ code: 'DISK_FULL' });
      expect((r.json as { message: string }).message).toMatch(/Not enough free disk space/);
    } finally {
      await s3.close();
      await engine3.close();
    }
  });

  it('sanitizes the file name: no folders, no "..", commas kept', async () => {
    const bytes = Buffer.alloc(256 * 1024);
    bytes.write('not an ISO, just bytes for the name test');
    const r = await put(
      up.port,
      `/upload?name=${encodeURIComponent('../../etc/..\\evil\u202e,name..iso')}`,
      bytes,
      bearer(),
    );
    expect(r.status).toBe(200);
    const res = r.json as MediaUploadResult;
    expect(res.media.filename).toBe('evil_,name.iso');
    expect(dirname(res.file)).toBe(join(mediaDir, res.sha256));
    expect(existsSync(res.file)).toBe(true);
    expect(res.detection).toMatchObject({ format: 'unknown', iso: null });
    expect(res.detection.best.confidence).toBe('none');
    await upEngine.call('media.delete', { sha256: res.sha256 });

    expect(uploadFileName('debian-13.1.0-amd64-netinst.iso')).toBe(
      'debian-13.1.0-amd64-netinst.iso',
    );
    expect(uploadFileName('/home/me/a,b.iso')).toBe('a,b.iso');
    expect(uploadFileName('C:\\Users\\me\\win11.iso')).toBe('win11.iso');
    expect(uploadFileName('..')).toBe('upload.iso');
    expect(uploadFileName('../')).toBe('upload.iso');
    expect(uploadFileName('.hidden.iso')).toBe('hidden.iso');
    expect(uploadFileName('a\u0000b\nc.iso')).toBe('a_b_c.iso');
    const long = uploadFileName(`${'é'.repeat(300)}.iso`);
    expect(long.endsWith('.iso')).toBe(true);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
  });

  it('leaves nothing behind when the client breaks off halfway', async () => {
    const before = await readdir(mediaDir);
    const half = Math.floor(isoSize / 2);
    const bytes = await readFile(guest.iso);
    // A different image (the first byte changed), so the cache cannot already hold it.
    bytes[0] = bytes[0]! ^ 0xff;
    const req = http.request({
      host: '127.0.0.1',
      port: up.port,
      path: '/upload?name=broken.iso',
      method: 'PUT',
      headers: { ...bearer(), 'Content-Length': String(isoSize) },
    });
    const failed = new Promise<string>((r2) => {
      req.on('error', (err) => r2(err.message));
      req.on('response', (res) => r2(`answered ${res.statusCode}`));
    });
    req.write(bytes.subarray(0, half));
    // The partial file is there while the upload runs...
    const part = await waitFor(
      async () => {
        for (const name of await parts()) {
          const st = await stat(join(mediaDir, '.partial', name)).catch(() => null);
          if (st && st.size > 0) return name;
        }
        return null;
      },
      'the partial upload',
      15_000,
    );
    expect(part).toMatch(/^upload-[0-9a-f]+\.part$/);
    // ...and gone once the connection is cut.
    req.destroy();
    expect(await failed).not.toMatch(/answered/);
    await waitFor(async () => (await parts()).length === 0, 'the partial file to go', 15_000);
    expect(await readdir(mediaDir)).toEqual(before);
    expect(await upEngine.call('media.list', {})).toHaveLength(1);

    // The server is fine afterwards: the same bytes, sent whole, are stored.
    const whole = await put(up.port, '/upload?name=whole.iso', bytes, bearer());
    expect(whole.status).toBe(200);
    const res = whole.json as MediaUploadResult;
    expect(res.reused).toBe(false);
    expect(res.bytes).toBe(isoSize);
    await upEngine.call('media.delete', { sha256: res.sha256 });
  });
});
