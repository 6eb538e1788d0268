/**
 * Uploads into the media cache (server mode's `PUT /upload`): an image called `meta.json` no
 * longer overwrites its own record (the image and its record share a folder), and concurrent
 * uploads promise their space before the first byte, so together they cannot eat the free space
 * each one checked alone: on a small tmpfs, of two uploads that do not both fit, one is stored
 * and the other is refused at once with DISK_FULL (507), leaving nothing behind.
 *
 * The tmpfs part needs root (mount); it skips with the reason printed otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaUploadResult } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { FREE_SPACE_MARGIN } from '../../electron/engine/catalog/media/disk-space';
import { startServer, type RunningServer } from '../../electron/server';

interface Reply {
  status: number;
  json: unknown;
}

/**
 * A PUT whose headers go out first; the body follows when `go` resolves, in 1 MiB chunks. A
 * refused upload may close while its body is still going out: the answer is what counts.
 */
function put(
  server: RunningServer,
  name: string,
  body: Buffer,
  go: Promise<void> = Promise.resolve(),
): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    let answered = false;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: `/upload?name=${encodeURIComponent(name)}`,
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${server.token}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': body.length,
        },
      },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, json: JSON.parse(text) }),
        );
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!answered && err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    req.flushHeaders();
    void go.then(async () => {
      for (let at = 0; at < body.length && !answered && !req.destroyed; at += 2 ** 20) {
        const more = req.write(body.subarray(at, at + 2 ** 20));
        if (!more) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    });
  });
}

async function startAt(
  home: string,
): Promise<{ engine: Engine; server: RunningServer; staticDir: string }> {
  const staticDir = join(home, 'static');
  await mkdir(staticDir, { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Vivarium</title>');
  const engine = await openEngine({ home: join(home, 'home'), role: 'owner' });
  const server = await startServer({ engine, port: 0, staticDir });
  return { engine, server, staticDir };
}

describe('an upload named meta.json', () => {
  let root: string;
  let engine: Engine;
  let server: RunningServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vivarium-upload-name-'));
    ({ engine, server } = await startAt(root));
  });

  afterAll(async () => {
    await server.close();
    await engine.close();
    await rm(root, { recursive: true, force: true });
  });

  it('survives, keeps its name in the record and is listed', async () => {
    const bytes = randomBytes(256 * 1024);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const r = await put(server, 'meta.json', bytes);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const res = r.json as MediaUploadResult;
    expect(res.sha256).toBe(sha);
    expect((await readFile(res.file)).equals(bytes)).toBe(true);
    expect(res.media.filename).toBe('meta.json');
    const listed = await engine.call('media.list', {});
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ sha256: sha, file: res.file, filename: 'meta.json' });
    // The same for another spelling of the record's name (one file on macOS and Windows).
    const other = randomBytes(128 * 1024);
    const r2 = await put(server, 'META.JSON', other);
    expect(r2.status).toBe(200);
    expect((await readFile((r2.json as MediaUploadResult).file)).equals(other)).toBe(true);
    expect(await engine.call('media.list', {})).toHaveLength(2);
  });

  it('an entry stored the old way (image and meta.json side by side) still lists', async () => {
    const sha = 'a'.repeat(64);
    const dir = join(engine.catalog.media.dir, sha);
    await mkdir(dir);
    const file = join(dir, 'old.iso');
    await writeFile(file, Buffer.alloc(4096, 7));
    await writeFile(
      join(dir, 'meta.json'),
      JSON.stringify({
        sha256: sha,
        file,
        filename: 'old.iso',
        bytes: 4096,
        url: '',
        os: null,
        version: null,
        mediaId: null,
        verified: 'none',
        addedAt: '2025-01-01T00:00:00.000Z',
      }),
    );
    const listed = await engine.call('media.list', {});
    expect(listed.find((m) => m.sha256 === sha)).toMatchObject({ file, filename: 'old.iso' });
  });
});

function tmpfsSkipReason(): string | null {
  if (process.platform !== 'linux') return 'tmpfs is Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  return null;
}
const tmpfsWhy = tmpfsSkipReason();
if (tmpfsWhy) console.warn(`[reliability] skipping the full-disk upload test: ${tmpfsWhy}`);

describe.skipIf(tmpfsWhy !== null)('concurrent uploads on a small disk', () => {
  const UPLOAD = 100 * 2 ** 20;
  // Room for one upload and the margin the cache keeps free, not for two.
  const SIZE_MIB = Math.floor((FREE_SPACE_MARGIN + UPLOAD * 1.6) / 2 ** 20);
  let engine: Engine;
  let server: RunningServer;
  /** Undone newest first, whatever beforeAll got to. */
  const undo: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vivarium-tmpfs-'));
    undo.push(() => rm(dir, { recursive: true, force: true }));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MIB}m`, 'vivtest', dir]);
    undo.push(() => Promise.resolve(execFileSync('umount', [dir])));
    ({ engine, server } = await startAt(dir));
    undo.push(() => engine.close());
    undo.push(() => server.close());
  });

  afterAll(async () => {
    for (const step of undo.reverse()) await step();
  });

  it('stores one, refuses the other at once with DISK_FULL (507), and leaves nothing of it', async () => {
    const a = randomBytes(UPLOAD);
    const b = randomBytes(UPLOAD);
    let go!: () => void;
    const both = new Promise<void>((r) => (go = r));
    const answers = Promise.all([put(server, 'a.iso', a, both), put(server, 'b.iso', b, both)]);
    // Both requests are in (their space checked) before a byte of either body is sent.
    await new Promise((r) => setTimeout(r, 300));
    go();
    const replies = await answers;
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses, JSON.stringify(replies)).toEqual([200, 507]);
    const refused = replies.find((r) => r.status === 507)!;
    expect(refused.json).toMatchObject({ code: 'DISK_FULL' });
    expect((refused.json as { message: string }).message).toMatch(
      /Not enough free disk space for the upload: .* promised to other uploads and downloads in flight/,
    );
    const stored = replies.find((r) => r.status === 200)!.json as MediaUploadResult;
    const media = engine.catalog.media.dir;
    expect(await engine.call('media.list', {})).toHaveLength(1);
    expect((await readdir(media)).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([stored.sha256]);
    expect(await readdir(join(media, '.partial'))).toEqual([]);
    const reservations = join(media, '.reservations');
    expect(existsSync(reservations) ? await readdir(reservations) : []).toEqual([]);
  });
});
