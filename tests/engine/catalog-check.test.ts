/**
 * `catalog.check` / `vivarium catalog check` (the catalogue's link checker) against a loopback
 * HTTP server (node:http on 127.0.0.1) serving a fake mirror tree: folder listings, dated
 * folders, images, SHA256SUMS and per-file .sha256 lists. Test-only catalogue entries come in
 * as extra catalogue files (the engine option, and VIVARIUM_CATALOG_EXTRA for the built CLI),
 * as in downloads.test.ts and catalog-cli.test.ts. Proves: a good entry is ok (and resolves to
 * what a real download fetches), precise reasons for a missing image, a checksum list without
 * the image's line, listings without a match, an unknown host and a server that never answers;
 * Windows-style entries are skipped; no image is downloaded; the CLI's table, exit code and JSON;
 * an entry's fact sources are asked for too (one answering, one gone).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CatalogCheckItem,
  CatalogCheckReport,
  MediaDownloadResult,
} from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { catalogEntry } from '../helpers/catalog-entry';
import { requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let server: Server;
let base = '';
let extraFile = '';
let engine: Engine;
const log: Array<{ method: string; path: string; range: string | null }> = [];

/** A stand-in for an ISO: its bytes only matter for the size and the hash. */
const image = Buffer.alloc(300_000, 7);
const sha = createHash('sha256').update(image).digest('hex');
const other = 'ab'.repeat(32);

function listing(names: string[]): string {
  return `<html><body><a href="../">../</a>${names.map((n) => `<a href="${n}">${n}</a>`).join('\n')}</body></html>`;
}

function serveImage(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { head?: boolean } = {},
): void {
  if (req.method === 'HEAD' && opts.head === false) {
    res.writeHead(405).end();
    return;
  }
  const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Number(range[2]) : image.length - 1;
    res.writeHead(206, {
      ...headers,
      'content-range': `bytes ${start}-${end}/${image.length}`,
      'content-length': end - start + 1,
    });
    res.end(req.method === 'HEAD' ? undefined : image.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': image.length });
  res.end(req.method === 'HEAD' ? undefined : image);
}

function text(res: ServerResponse, body: string, type = 'text/plain') {
  res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The fake mirror tree. */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  log.push({ method: req.method ?? '', path, range: req.headers.range ?? null });
  switch (path) {
    // A release folder: two versions, the newest found by filePattern, a SHA256SUMS for both.
    case '/good/':
      return text(
        res,
        listing(['fake-1.9.iso', 'fake-1.10.iso', 'SHA256SUMS', 'notes.txt']),
        'text/html',
      );
    case '/good/SHA256SUMS':
      return text(res, `${other}  fake-1.9.iso\n${sha}  fake-1.10.iso\n`);
    case '/good/fake-1.9.iso':
    case '/good/fake-1.10.iso':
      return serveImage(req, res);
    // Dated snapshot folders ({latest:...}) with a per-file .sha256.
    case '/dated/':
      return text(res, listing(['20240101/', '20250101/', 'README']), 'text/html');
    case '/dated/20250101/fake.iso':
      return serveImage(req, res);
    case '/dated/20250101/fake.iso.sha256':
      return text(res, `${sha}  fake.iso\n`);
    // A server refusing HEAD: the checker falls back to a one-byte ranged GET.
    case '/nohead/fake.iso':
      return serveImage(req, res, { head: false });
    // The checksum list names the image, but the image is gone.
    case '/missing/SHA256SUMS':
      return text(res, `${sha}  fake.iso\n`);
    // The checksum list exists, but not for this file name.
    case '/wrongsums/SHA256SUMS':
      return text(res, `${sha}  fake-other.iso\n${other}  fake-other.iso.zip\n`);
    case '/wrongsums/fake.iso':
      return serveImage(req, res);
    // Listings with nothing matching.
    case '/nomatch/':
      return text(res, listing(['fake.img', 'SHA256SUMS']), 'text/html');
    case '/nodated/':
      return text(res, listing(['latest/', 'README']), 'text/html');
    // Never answers.
    case '/hang/':
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
  }
}

function entry(id: string, versions: unknown[], more: Record<string, unknown> = {}) {
  return catalogEntry({
    id,
    name: `Check test (${id})`,
    versions,
    description: 'A catalogue entry pointing at the loopback mirror.',
    profile: { sound: 'none' },
    ...more,
  });
}

function version(id: string, media: Array<Record<string, unknown>>) {
  return {
    id,
    name: `Check test ${id}`,
    media: media.map((m) => ({ label: 'Test ISO', arch: 'x86_64', kind: 'live', ...m })),
  };
}

function entries(b: string) {
  return [
    entry('check-good', [
      version('2', [
        {
          id: 'pattern',
          urls: [`${b}/good/{file}`, `${b}/good/./{file}`],
          filePattern: '^fake-\\d+\\.\\d+\\.iso$',
          checksum: { urls: ['SHA256SUMS'] },
        },
        {
          id: 'dated',
          urls: [`${b}/dated/{latest:^\\d{8}$}/{file}`],
          file: 'fake.iso',
          checksum: { urls: ['{file}.sha256'] },
        },
        { id: 'nohead', urls: [`${b}/nohead/fake.iso`], sha256: sha },
      ]),
      version('manual', [
        {
          id: 'manual',
          urls: [],
          page: 'https://example.com/download',
          checksumReason: 'The vendor hands out time-limited links from its page.',
        },
      ]),
    ]),
    entry('check-404', [
      version('1', [
        {
          id: 'iso',
          urls: [`${b}/missing/{file}`],
          file: 'fake.iso',
          checksum: { urls: ['SHA256SUMS'] },
        },
      ]),
    ]),
    entry('check-nosum', [
      version('1', [
        {
          id: 'iso',
          urls: [`${b}/wrongsums/{file}`],
          file: 'fake.iso',
          checksum: { urls: ['SHA256SUMS'] },
        },
      ]),
    ]),
    entry('check-nomatch', [
      version('1', [
        {
          id: 'pattern',
          urls: [`${b}/nomatch/{file}`],
          filePattern: '^fake-\\d+\\.iso$',
          checksumReason: 'Nightly builds are published without checksums.',
        },
        {
          id: 'dated',
          urls: [`${b}/nodated/{latest:^\\d{8}$}/{file}`],
          file: 'fake.iso',
          checksum: { urls: ['{file}.sha256'] },
        },
      ]),
    ]),
    entry('check-dns', [
      version('1', [
        {
          id: 'iso',
          urls: ['http://mirror.vivarium-test.invalid/os/{file}'],
          file: 'fake.iso',
          checksum: { urls: ['SHA256SUMS'] },
        },
      ]),
    ]),
    entry('check-hang', [
      version('1', [
        {
          id: 'iso',
          urls: [`${b}/hang/{file}`],
          filePattern: '^fake\\.iso$',
          // Named after the file: the (silent) folder listing is read first.
          checksum: { urls: ['{file}.sha256'] },
        },
      ]),
    ]),
    entry('check-nomedia', []),
    entry('check-sources', [], {
      sources: [
        { url: `${b}/good/`, what: 'the release folder' },
        { url: `${b}/moved-away.html`, what: 'the release notes' },
      ],
      checked: '2026-12-01',
    }),
  ];
}

/** Runs the check task, keeping its progress events. */
async function check(os: string[], timeoutSeconds = 10): Promise<CatalogCheckReport> {
  const task = await engine.call('catalog.check', { os, timeoutSeconds });
  expect(task).toMatchObject({ kind: 'catalog.check', state: 'running' });
  return (await engine.tasks.wait(task.id)) as CatalogCheckReport;
}

function only(report: CatalogCheckReport, media?: string): CatalogCheckItem {
  const items = report.items.filter((i) => media === undefined || i.media === media);
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** The built CLI with this file's home and test catalogue. */
function run(args: string[]): Promise<CliResult> {
  return runCli(args, {
    VIVARIUM_HOME: home.dir,
    VIVARIUM_CATALOG_EXTRA: extraFile,
    VIVARIUM_OSINFO_DIR: '',
  });
}

beforeAll(async () => {
  home = await tempHome('viv-catcheck-');
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  extraFile = join(home.dir, 'extra.json');
  await writeFile(extraFile, JSON.stringify(entries(base)));
  engine = await openEngine({
    home: home.dir,
    role: 'owner',
    catalog: { extraFiles: [extraFile], osinfoDir: null },
  });
});

afterAll(async () => {
  await engine.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await home.remove();
});

describe('catalog.check', () => {
  it('finds a good entry ok, resolved as a download resolves it, without downloading', async () => {
    const before = log.length;
    const report = await check(['check-good']);
    expect(report.counts).toEqual({ ok: 3, broken: 0, skipped: 1 });

    const pattern = only(report, 'pattern');
    expect(pattern).toMatchObject({ os: 'check-good', version: '2', status: 'ok', reason: null });
    expect(pattern.mirrors).toHaveLength(2);
    expect(pattern.mirrors[0]).toEqual({
      template: `${base}/good/{file}`,
      status: 'ok',
      reason: null,
      url: `${base}/good/fake-1.10.iso`,
      file: 'fake-1.10.iso',
      bytes: image.length,
      checksumUrl: `${base}/good/SHA256SUMS`,
    });
    expect(only(report, 'dated').mirrors[0]).toMatchObject({
      status: 'ok',
      url: `${base}/dated/20250101/fake.iso`,
      checksumUrl: `${base}/dated/20250101/fake.iso.sha256`,
      bytes: image.length,
    });
    // HEAD refused (405): a one-byte ranged GET tells the size instead.
    expect(only(report, 'nohead').mirrors[0]).toMatchObject({
      status: 'ok',
      bytes: image.length,
      checksumUrl: null,
    });
    expect(only(report, 'manual')).toMatchObject({
      status: 'skipped',
      reason: 'no download link: a person gets it from https://example.com/download',
    });

    // Nothing was downloaded: images were only asked for their headers or their first byte.
    const imageHits = log.slice(before).filter((h) => h.path.endsWith('.iso'));
    expect(imageHits.length).toBeGreaterThan(0);
    for (const h of imageHits) expect(h.method === 'HEAD' || h.range === 'bytes=0-0').toBe(true);
    expect(log.slice(before)).toContainEqual({
      method: 'GET',
      path: '/nohead/fake.iso',
      range: 'bytes=0-0',
    });

    // A real download of the same media fetches exactly what the check resolved.
    const task = await engine.call('media.download', { os: 'check-good', media: 'pattern' });
    const got = (await engine.tasks.wait(task.id)) as MediaDownloadResult;
    expect(got.media).toMatchObject({
      url: pattern.mirrors[0]!.url,
      filename: pattern.mirrors[0]!.file,
      bytes: pattern.mirrors[0]!.bytes,
      verified: 'published',
    });
  });

  it('says which image is missing (404)', async () => {
    const item = only(await check(['check-404']));
    expect(item.status).toBe('broken');
    expect(item.reason).toBe(
      `${base}/missing/fake.iso is not there (404): the project may have moved or removed it.`,
    );
    expect(item.mirrors[0]).toMatchObject({
      url: `${base}/missing/fake.iso`,
      checksumUrl: `${base}/missing/SHA256SUMS`,
      bytes: null,
    });
  });

  it('says when the checksum list has no line for the image', async () => {
    const item = only(await check(['check-nosum']));
    expect(item.status).toBe('broken');
    expect(item.reason).toBe(
      `The checksum list ${base}/wrongsums/SHA256SUMS has no SHA256 line for fake.iso.`,
    );
  });

  it('says when a folder listing has no match, for a file pattern and for {latest:...}', async () => {
    const report = await check(['check-nomatch']);
    expect(report.counts).toEqual({ ok: 0, broken: 2, skipped: 0 });
    expect(only(report, 'pattern')).toMatchObject({
      status: 'broken',
      reason: `No file matching ^fake-\\d+\\.iso$ is published at ${base}/nomatch/.`,
      note: 'Nightly builds are published without checksums.',
    });
    expect(only(report, 'dated').reason).toBe(
      `Nothing matching ^\\d{8}$ is listed at ${base}/nodated/.`,
    );
  });

  it('names an unknown host and gives up on a silent server after the timeout', async () => {
    const started = Date.now();
    const report = await check(['check-dns', 'check-hang', 'check-nomedia'], 1);
    expect(Date.now() - started).toBeLessThan(10_000);
    const [dns, hang, nomedia] = report.items;
    expect(dns!.reason).toMatch(/mirror\.vivarium-test\.invalid could not be found/);
    expect(hang!.reason).toMatch(new RegExp(`${base}/hang/: no answer for 1 s`));
    expect(nomedia).toMatchObject({ status: 'skipped', media: null, version: null });
  });
});

describe('catalog.check of fact sources', () => {
  it("asks for each of an entry's sources: one answering is ok, one gone is broken", async () => {
    const report = await check(['check-sources']);
    expect(report.counts).toEqual({ ok: 1, broken: 1, skipped: 1 });
    const sources = report.items.filter((i) => i.source !== null);
    expect(sources).toEqual([
      expect.objectContaining({
        os: 'check-sources',
        version: null,
        media: null,
        source: { url: `${base}/good/`, what: 'the release folder' },
        checked: '2026-12-01',
        status: 'ok',
        reason: null,
      }),
      expect.objectContaining({
        source: { url: `${base}/moved-away.html`, what: 'the release notes' },
        status: 'broken',
        reason: expect.stringMatching(/moved-away\.html is not there \(404\)/) as unknown,
      }),
    ]);
    expect(sources[0]!.note).toMatch(/last checked 2026-12-01/);
  });
});

describe('catalog.check is a task', () => {
  it('reports each media checked as progress', async () => {
    const seen: { progress: number | null; message: string | null }[] = [];
    const off = engine.onEvent((e) => {
      if (e.type === 'task' && e.task.kind === 'catalog.check')
        seen.push({ progress: e.task.progress, message: e.task.message });
    });
    try {
      await check(['check-good']);
    } finally {
      off();
    }
    expect(seen.at(-1)).toEqual({ progress: 1, message: '4 of 4 media checked' });
  });

  it('stops at once when cancelled, even on a silent server', async () => {
    const task = await engine.call('catalog.check', { os: ['check-hang'], timeoutSeconds: 60 });
    const started = Date.now();
    await engine.call('task.cancel', { id: task.id });
    await expect(engine.tasks.wait(task.id)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails the call itself for an unknown OS', async () => {
    await expect(engine.call('catalog.check', { os: ['no-such-os'] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('vivarium catalog check', () => {
  beforeAll(() => {
    requireBuiltCli();
  });

  it('prints a table and a count line; exit 0 when all is well', async () => {
    const res = await run(['catalog', 'check', 'check-good']);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^OS\s+VERSION\s+MEDIA\s+ARCH\s+STATUS\s+DETAIL$/);
    expect(res.stdout).toMatch(
      /check-good\s+2\s+pattern\s+x86_64\s+ok\s+fake-1\.10\.iso, 293\.0 KiB, checksum in SHA256SUMS; 2 mirrors/,
    );
    expect(res.stdout).toMatch(
      /check-good\s+manual\s+manual\s+x86_64\s+skipped\s+no download link/,
    );
    expect(lines.at(-1)).toMatch(/^4 checked in [\d.]+ s: 3 ok, 0 broken, 1 skipped$/);
  });

  it('exits 1 when a link is broken, with the reason in the table', async () => {
    const res = await run(['catalog', 'check', 'check-good', 'check-404', '--timeout', '5']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /check-404\s+1\s+iso\s+x86_64\s+broken\s+http:\S+\/missing\/fake\.iso is not there \(404\)/,
    );
    expect(res.stdout.trim().split('\n').at(-1)).toMatch(/: 3 ok, 1 broken, 1 skipped$/);
  });

  it('--json prints the report alone on stdout, and still exits 1 on a broken link', async () => {
    const res = await run(['catalog', 'check', 'check-nosum', 'check-nomedia', '--json']);
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout) as CatalogCheckReport;
    expect(report.counts).toEqual({ ok: 0, broken: 1, skipped: 1 });
    expect(typeof report.seconds).toBe('number');
    expect(report.items[0]).toEqual({
      os: 'check-nosum',
      osName: 'Check test (check-nosum)',
      version: '1',
      media: 'iso',
      source: null,
      checked: null,
      arch: 'x86_64',
      status: 'broken',
      reason: `The checksum list ${base}/wrongsums/SHA256SUMS has no SHA256 line for fake.iso.`,
      note: null,
      mirrors: [
        {
          template: `${base}/wrongsums/{file}`,
          status: 'broken',
          reason: expect.stringContaining('has no SHA256 line for fake.iso') as unknown,
          url: null,
          file: null,
          bytes: null,
          checksumUrl: null,
        },
      ],
      ms: expect.any(Number) as unknown,
    });
    const good = await run(['catalog', 'check', '--json', 'check-good']);
    expect(good.code, good.stderr).toBe(0);
    expect((JSON.parse(good.stdout) as CatalogCheckReport).counts.ok).toBe(3);
  });

  it('refuses a bad timeout and an unknown OS in one line', async () => {
    const bad = await run(['catalog', 'check', '--timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^vivarium: .*timeout is a number of seconds/m);
    const unknown = await run(['catalog', 'check', 'no-such-os']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/"no-such-os" is not in the OS catalogue/);
  });
});
