/**
 * Install media downloads and detection through the engine's contract, against a loopback HTTP
 * server (node:http on 127.0.0.1) serving the fixture ISO: progress into the verified cache,
 * reuse without a request, resume with Range after a cut connection and after a cancel (also in
 * a new engine, as after a crash), mirrors in order with a checksum list and a dated folder,
 * checksum mismatch, free-space check, a VM created from a catalogue entry and booted, ISO
 * detection (the fixture's volume id; an unknown ISO falls back to Generic), and cloud images: a
 * qcow2 made with qemu-img, served as is and xz-compressed (and a raw disk in xz), verified against
 * a checksum list, decompressed into the cache and recorded with its format.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, MediaDownloadResult, TaskInfo } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { catalogEntry } from '../helpers/catalog-entry';
import { guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';
import {
  startMediaServer,
  type Hit,
  type MediaRequest,
  type MediaServer,
} from '../helpers/media-server';

let home: Awaited<ReturnType<typeof tempHome>>;
let server: MediaServer;
let base = '';
let isoBytes: Buffer;
let isoSha = '';
/** The fixture ISO padded by a sector: another file, another hash. */
let altBytes: Buffer;
let altSha = '';
let extraFile = '';
const engines: Engine[] = [];
/** Paths whose next full-body response is cut off halfway. */
const cutOnce = new Set<string>();
/** Cloud images: a qcow2 disk, the same xz-compressed, a raw disk compressed, a broken xz. */
const cloud = {
  qcow2: Buffer.alloc(0),
  qcow2Xz: Buffer.alloc(0),
  rawXz: Buffer.alloc(0),
  raw: Buffer.alloc(0),
  brokenXz: Buffer.alloc(0),
  sums: '',
};

function handle({ req, res, path, send }: MediaRequest): void {
  if (path === '/guest.iso' || path === '/other/guest.iso') return send(isoBytes);
  if (path === '/throttled/guest.iso') return send(isoBytes, { bytesPerSecond: 24 * 2 ** 20 });
  if (path === '/slow/guest.iso') return send(isoBytes, { bytesPerSecond: 6 * 2 ** 20 });
  if (path === '/cut/guest.iso') {
    if (cutOnce.delete(path) && !req.headers.range)
      return send(isoBytes, { cutAt: Math.floor(isoBytes.length / 2) });
    return send(isoBytes);
  }
  // A project folder: dated releases, a checksum list and the image (mirror 2).
  if (path === '/rel/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      '<a href="../">..</a><a href="v9/">v9/</a><a href="v10/">v10/</a><a href="notes.txt">notes</a>',
    );
    return;
  }
  if (path === '/rel/v10/SHA256SUMS') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${'0'.repeat(64)}  guest-9.iso\n${altSha}  guest-10.iso\n`);
    return;
  }
  if (path === '/rel/v10/guest-10.iso') return send(altBytes);
  // A cloud image folder: a checksum list covering the compressed files, as projects publish it.
  if (path === '/cloud/SHA256SUMS') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(cloud.sums);
    return;
  }
  if (path === '/cloud/guest-cloud.qcow2') return send(cloud.qcow2);
  if (path === '/cloud/guest-cloud.qcow2.xz') return send(cloud.qcow2Xz);
  if (path === '/cloud/guest-cloud.raw.xz') return send(cloud.rawXz);
  if (path === '/cloud/broken.qcow2.xz') return send(cloud.brokenXz);
  if (path === '/cloud/not-a-qcow2.qcow2') return send(cloud.raw);
  if (path === '/page/guest.iso') {
    // What SourceForge-style "download pages" and captive portals do.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<html><meta http-equiv="refresh" content="5; url=/elsewhere"></html>');
  }
}

function requestsFor(path: string): Hit[] {
  return server.log.filter((h) => h.path === path);
}

async function open(): Promise<Engine> {
  const e = await openEngine({
    home: home.dir,
    role: 'owner',
    catalog: { extraFiles: [extraFile], osinfoDir: null },
  });
  engines.push(e);
  return e;
}

/** Task events of one task, and its end. */
function track(engine: Engine, task: TaskInfo): { events: TaskInfo[]; done: Promise<unknown> } {
  const events: TaskInfo[] = [task];
  engine.onEvent((ev: ApiEvent) => {
    if (ev.type === 'task' && ev.task.id === task.id) events.push(ev.task);
  });
  return { events, done: engine.tasks.wait(task.id) };
}

async function cacheFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, d.name);
      if (d.isDirectory()) await walk(p);
      else out.push(p.slice(home.dir.length));
    }
  };
  await walk(join(home.dir, 'cache', 'media'));
  return out.sort();
}

function testEntry(id: string, media: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return catalogEntry({
    id,
    name: `Test guest (${id})`,
    versions: [
      {
        id: '1',
        name: 'Test guest 1',
        status: 'current',
        media: [{ id: 'iso', label: 'Live ISO', arch: 'x86_64', kind: 'live', ...media }],
      },
    ],
    detect: [{ volumeId: '^VIVARIUM_TESTGUEST$', version: '1' }],
    notes: ['Boots to a busybox shell and prints a banner on the serial console.'],
    ...more,
  });
}

const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A small qcow2 with data in it, and a raw disk; both also xz-compressed (xz from xz-utils). */
async function makeCloudImages(dir: string): Promise<void> {
  const qcow2 = join(dir, 'guest-cloud.qcow2');
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  };
  run('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '64M']);
  // Some data, so the image is more than its header and decompression has work to do.
  const data = join(dir, 'data.bin');
  await writeFile(data, Buffer.from('vivarium cloud image\n'.repeat(40_000)));
  run('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x5a 1M 2M`, qcow2]);
  cloud.qcow2 = await readFile(qcow2);
  cloud.raw = await readFile(data);
  const xz = (b: Buffer) => {
    const r = spawnSync('xz', ['-c', '-T1', '-6'], { input: b, maxBuffer: 64 * 2 ** 20 });
    expect(r.status).toBe(0);
    return r.stdout;
  };
  cloud.qcow2Xz = xz(cloud.qcow2);
  cloud.rawXz = xz(cloud.raw);
  cloud.brokenXz = cloud.qcow2Xz.subarray(0, Math.floor(cloud.qcow2Xz.length / 2));
  cloud.sums = [
    `${sha256Of(cloud.qcow2)}  guest-cloud.qcow2`,
    `${sha256Of(cloud.qcow2Xz)}  guest-cloud.qcow2.xz`,
    `${sha256Of(cloud.rawXz)}  guest-cloud.raw.xz`,
    `${sha256Of(cloud.brokenXz)}  broken.qcow2.xz`,
    `${sha256Of(cloud.raw)}  not-a-qcow2.qcow2`,
    '',
  ].join('\n');
}

function cloudEntry(id: string, media: Record<string, unknown>) {
  return testEntry(
    id,
    {
      id: 'cloud',
      label: 'Cloud image',
      kind: 'cloud',
      urls: [`${base}/cloud/{file}`],
      checksum: { urls: ['SHA256SUMS'], algorithm: 'sha256' },
      diskFormat: 'qcow2',
      cloudInit: 'cloud-init',
      defaultUser: 'tester',
      ...media,
    },
    { detect: [] },
  );
}

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-dl-');
  await makeCloudImages(home.dir);
  isoBytes = await readFile(guest.iso);
  isoSha = createHash('sha256').update(isoBytes).digest('hex');
  altBytes = Buffer.concat([isoBytes, Buffer.alloc(2048)]);
  altSha = createHash('sha256').update(altBytes).digest('hex');
  server = await startMediaServer(handle);
  base = server.base;
  extraFile = join(home.dir, 'test-catalog.json');
  await writeFile(
    extraFile,
    JSON.stringify([
      testEntry('vivarium-test-guest', {
        urls: [`${base}/throttled/guest.iso`],
        sha256: isoSha,
        sizeBytes: isoBytes.length,
      }),
      testEntry(
        'vivarium-test-mirrors',
        {
          urls: [`${base}/gone/{file}`, `${base}/rel/{latest:^v\\d+$}/{file}`],
          filePattern: '^guest-\\d+\\.iso$',
          checksum: { urls: ['SHA256SUMS'], algorithm: 'sha256' },
        },
        { detect: [] },
      ),
      testEntry(
        'vivarium-test-huge',
        {
          urls: [`${base}/other/guest.iso`],
          sizeBytes: 2 ** 52,
          checksumReason: 'A test entry that claims to be enormous.',
        },
        { detect: [] },
      ),
      cloudEntry('vivarium-test-cloud', { file: 'guest-cloud.qcow2' }),
      cloudEntry('vivarium-test-cloud-xz', {
        file: 'guest-cloud.qcow2.xz',
        archive: { format: 'xz' },
      }),
      cloudEntry('vivarium-test-cloud-raw', {
        file: 'guest-cloud.raw.xz',
        archive: { format: 'xz' },
        diskFormat: 'raw',
        cloudInit: 'nuageinit',
      }),
      cloudEntry('vivarium-test-cloud-broken', {
        file: 'broken.qcow2.xz',
        archive: { format: 'xz' },
      }),
      cloudEntry('vivarium-test-cloud-mislabelled', { file: 'not-a-qcow2.qcow2' }),
    ]),
  );
});

afterAll(async () => {
  for (const e of engines) {
    for (const vm of await e.call('vm.list', {}).catch(() => [])) {
      if (vm.runtime.state !== 'stopped' && vm.runtime.state !== 'crashed')
        await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    }
    await e.close();
  }
  await server.close();
  await home.remove();
});

describe('media downloads', () => {
  it('downloads catalogue media with progress into the verified cache', async () => {
    const engine = await open();
    const task = await engine.call('media.download', { os: 'vivarium-test-guest' });
    expect(task).toMatchObject({ kind: 'media.download', state: 'running', cancellable: true });
    const { events, done } = track(engine, task);
    const result = (await done) as MediaDownloadResult;

    expect(result.reused).toBe(false);
    expect(result.sha256).toBe(isoSha);
    expect(result.file).toBe(join(home.dir, 'cache', 'media', isoSha, 'guest.iso'));
    expect(
      createHash('sha256')
        .update(await readFile(result.file))
        .digest('hex'),
    ).toBe(isoSha);
    expect((await stat(result.file)).mode & 0o222).toBe(0); // read-only
    expect(result.media).toMatchObject({
      os: 'vivarium-test-guest',
      version: '1',
      mediaId: 'iso',
      verified: 'published',
    });

    const running = events.filter((e) => e.state === 'running' && e.bytesDone !== null);
    expect(running.length).toBeGreaterThanOrEqual(3);
    const done1 = running.map((e) => e.bytesDone!);
    expect([...done1].sort((a, b) => a - b)).toEqual(done1);
    expect(running.every((e) => e.bytesTotal === isoBytes.length)).toBe(true);
    expect(running.some((e) => e.bytesPerSecond !== null && e.bytesPerSecond > 0)).toBe(true);
    expect(running.some((e) => e.etaSeconds !== null)).toBe(true);
    expect(events.at(-1)).toMatchObject({
      state: 'succeeded',
      progress: 1,
      result: { file: result.file },
    });

    const listed = await engine.call('media.list', {});
    expect(listed.map((m) => m.sha256)).toEqual([isoSha]);
    expect(await cacheFiles()).toEqual([
      `/cache/media/${isoSha}/guest.iso`,
      `/cache/media/${isoSha}/meta.json`,
    ]);
  });

  it('reuses the cache: no request reaches the server', async () => {
    const engine = await open();
    const before = server.log.length;
    const task = await engine.call('media.download', { os: 'vivarium-test-guest' });
    const result = (await engine.tasks.wait(task.id)) as MediaDownloadResult;
    expect(result).toMatchObject({ reused: true, sha256: isoSha });
    // By URL and hash as well.
    const byUrl = await engine.call('media.download', {
      url: `${base}/other/guest.iso`,
      sha256: isoSha,
    });
    expect(await engine.tasks.wait(byUrl.id)).toMatchObject({ reused: true, file: result.file });
    expect(server.log.length).toBe(before);
  });

  it('resumes with Range when the connection is cut halfway', async () => {
    const engine = await open();
    cutOnce.add('/cut/guest.iso');
    const task = await engine.call('media.download', { url: `${base}/cut/guest.iso` });
    const { events, done } = track(engine, task);
    const result = (await done) as MediaDownloadResult;
    expect(result.sha256).toBe(isoSha);
    expect(result.media.verified).toBe('none');
    const hits = requestsFor('/cut/guest.iso');
    expect(hits[0]!.range).toBeNull();
    const resumed = hits.find((h) => h.range !== null);
    expect(resumed, JSON.stringify(hits)).toBeDefined();
    const from = Number(/^bytes=(\d+)-$/.exec(resumed!.range!)?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(Math.floor(isoBytes.length / 2));
    expect(events.some((e) => /broke|resum/i.test(e.message ?? ''))).toBe(true);
    // Same URL again: from the cache.
    const again = await engine.call('media.download', { url: `${base}/cut/guest.iso` });
    expect(await engine.tasks.wait(again.id)).toMatchObject({ reused: true });
  });

  it('resumes after a cancel, in a new engine (as after a crash), from where it stopped', async () => {
    const first = await open();
    const url = `${base}/slow/guest.iso`;
    const sha = isoSha;
    // Without a hash the part is tied to its URL (and the server's ETag).
    const task = await first.call('media.download', { url });
    const { events, done } = track(first, task);
    await waitFor(
      () => events.some((e) => (e.bytesDone ?? 0) > 4 * 2 ** 20),
      'the first 4 MiB',
      30_000,
    );
    first.call('task.cancel', { id: task.id }).catch(() => undefined);
    await expect(done).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(events.at(-1)).toMatchObject({ state: 'cancelled' });
    const parts = (await cacheFiles()).filter((f) => f.includes('/.partial/'));
    expect(parts.some((f) => f.endsWith('.part'))).toBe(true);
    expect(parts.some((f) => f.endsWith('.json'))).toBe(true);
    const partFile = join(
      home.dir,
      parts.find((f) => f.endsWith('.part'))!,
    );
    const partSize = (await stat(partFile)).size;
    expect(partSize).toBeGreaterThan(4 * 2 ** 20);

    const second = await open();
    const again = await second.call('media.download', { url });
    const result = (await second.tasks.wait(again.id)) as MediaDownloadResult;
    expect(result.sha256).toBe(sha);
    const hits = requestsFor('/slow/guest.iso');
    expect(hits.at(-1)!.range).toBe(`bytes=${partSize}-`);
    expect(existsSync(partFile)).toBe(false);
  }, 60_000);

  it('tries mirrors in order, finding the file in a dated folder and its hash in a checksum list', async () => {
    const engine = await open();
    const before = server.log.length;
    const task = await engine.call('media.download', { os: 'vivarium-test-mirrors' });
    const result = (await engine.tasks.wait(task.id)) as MediaDownloadResult;
    expect(result).toMatchObject({ reused: false, sha256: altSha, bytes: altBytes.length });
    expect(result.file).toBe(join(home.dir, 'cache', 'media', altSha, 'guest-10.iso'));
    expect(result.media).toMatchObject({
      verified: 'published',
      url: `${base}/rel/v10/guest-10.iso`,
    });
    // Mirror 1 has no checksum list (404); mirror 2's newest folder has it and the file.
    expect(server.log.slice(before).map((h) => h.path)).toEqual([
      '/gone/SHA256SUMS',
      '/rel/',
      '/rel/v10/SHA256SUMS',
      '/rel/v10/guest-10.iso',
    ]);
    // Next time: the same OS, version and media come from the cache, without the network.
    const n = server.log.length;
    const again = await engine.call('media.download', { os: 'vivarium-test-mirrors' });
    expect(await engine.tasks.wait(again.id)).toMatchObject({ reused: true, sha256: altSha });
    expect(server.log.length).toBe(n);
  });

  it('rejects a wrong checksum and keeps nothing', async () => {
    const engine = await open();
    const before = await cacheFiles();
    const wrong = 'de'.repeat(32);
    const task = await engine.call('media.download', {
      url: `${base}/guest.iso?copy`,
      sha256: wrong,
    });
    const { events, done } = track(engine, task);
    const err = await done.then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('CHECKSUM_MISMATCH');
    expect(err?.message).toMatch(/does not match the SHA-256 you gave.*the file was deleted/);
    expect(events.at(-1)).toMatchObject({ state: 'failed', error: { code: 'CHECKSUM_MISMATCH' } });
    expect(await cacheFiles()).toEqual(before);
    expect(requestsFor('/guest.iso').length).toBeGreaterThan(0);
  });

  it('says so when a server answers with a web page instead of the file', async () => {
    const engine = await open();
    const task = await engine.call('media.download', { url: `${base}/page/guest.iso` });
    await expect(engine.tasks.wait(task.id)).rejects.toMatchObject({
      code: 'NETWORK',
      message: expect.stringMatching(/answered with a web page instead of guest\.iso/) as unknown,
    });
    expect((await cacheFiles()).filter((f) => f.includes('/.partial/'))).toEqual([]);
  });

  it('checks free space before downloading', async () => {
    const engine = await open();
    const before = requestsFor('/other/guest.iso').length;
    const task = await engine.call('media.download', { os: 'vivarium-test-huge' });
    await expect(engine.tasks.wait(task.id)).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(requestsFor('/other/guest.iso').length).toBe(before);
  });

  it('refuses media a person has to fetch, saying where from', async () => {
    const engine = await open();
    await expect(engine.call('media.download', { os: 'windows-11' })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('microsoft.com/software-download/windows11') as unknown,
    });
    await expect(
      engine.call('media.download', { os: 'debian', sha256: isoSha }),
    ).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(engine.call('media.download', { os: 'nosuchos' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('a VM from a catalogue entry', () => {
  it('gets the profile, and boots the downloaded media', async () => {
    // Every engine still open on this library attaches to a QEMU it sees start, each taking one
    // of its three QMP sockets: the earlier tests' engines would leave the starting one none.
    for (const e of engines.splice(0)) await e.close();
    const engine = await open();
    const defaults = await engine.call('catalog.defaults', { os: 'vivarium-test-guest' });
    expect(defaults).toMatchObject({
      memoryMiB: 256,
      cpus: 1,
      diskSize: '1G',
      nicModel: 'e1000',
      sound: 'hda',
    });
    const task = await engine.call('media.download', { os: 'vivarium-test-guest' });
    const media = (await engine.tasks.wait(task.id)) as MediaDownloadResult;
    const vm = await engine.call('vm.create', {
      name: 'From the catalogue',
      os: 'vivarium-test-guest',
      iso: media.file,
    });
    expect(vm.config).toMatchObject({
      os: 'vivarium-test-guest',
      machine: 'q35',
      firmware: 'bios',
      memoryMiB: 256,
      cpu: { count: 1 },
      nics: [expect.objectContaining({ model: 'e1000' })],
      sound: 'hda',
      usbTablet: true,
      cdrom: media.file,
      bootOrder: ['cdrom', 'disk'],
      disks: [{ id: 'disk0', bus: 'virtio', format: 'qcow2' }],
    });
    // Explicit fields win over the profile.
    const custom = await engine.call('vm.create', {
      name: 'Custom',
      os: 'vivarium-test-guest',
      iso: media.file,
      memoryMiB: 192,
      nicModel: 'rtl8139',
      diskSize: '0',
    });
    expect(custom.config).toMatchObject({
      memoryMiB: 192,
      nics: [expect.objectContaining({ model: 'rtl8139' })],
      disks: [],
    });
    await engine.call('vm.delete', { vm: custom.id });
    await expect(
      engine.call('vm.create', { name: 'Typo', os: 'debain', iso: media.file }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('running');
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, 120_000);
    await engine.call('vm.powerOff', { vm: vm.id });
  }, 180_000);
});

describe('detection', () => {
  const HAVE_XORRISO = spawnSync('xorriso', ['-version']).status === 0;

  it('recognises the fixture ISO by its volume id', async () => {
    const engine = await open();
    const d = await engine.call('media.detect', { file: guest.iso });
    expect(d.format).toBe('iso9660');
    expect(d.iso).toMatchObject({
      volumeId: 'VIVARIUM_TESTGUEST',
      elTorito: { bios: true, uefi: true },
    });
    expect(d.best).toMatchObject({ os: 'vivarium-test-guest', version: '1', confidence: 'exact' });
    expect(d.candidates.at(-1)).toMatchObject({ os: 'generic', confidence: 'none' });
  });

  it.skipIf(!HAVE_XORRISO)(
    'falls back to Generic for an unknown ISO, and tells disk images apart',
    async () => {
      const engine = await open();
      const src = join(home.dir, 'iso-src');
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'hello.txt'), 'hello\n');
      const unknown = join(home.dir, 'unknown.iso');
      const made = spawnSync(
        'xorriso',
        ['-as', 'mkisofs', '-V', 'SOMETHING_ELSE', '-o', unknown, src],
        { encoding: 'utf8' },
      );
      expect(made.status, made.stderr).toBe(0);
      const d = await engine.call('media.detect', { file: unknown });
      expect(d.iso).toMatchObject({ volumeId: 'SOMETHING_ELSE', elTorito: null });
      expect(d.best).toMatchObject({ os: 'generic', confidence: 'none' });
      expect(d.candidates).toHaveLength(1);

      const qcow2 = join(home.dir, 'disk.qcow2');
      expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '1G']).status).toBe(0);
      expect(await engine.call('media.detect', { file: qcow2 })).toMatchObject({
        format: 'qcow2',
        iso: null,
        best: { os: 'generic' },
      });
      await expect(
        engine.call('media.detect', { file: join(home.dir, 'missing.iso') }),
      ).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    },
  );

  it('lists and describes the catalogue through the contract', async () => {
    const engine = await open();
    const list = await engine.call('catalog.list', { includeOsinfo: false });
    expect(list.map((e) => e.id)).toEqual(
      expect.arrayContaining(['debian', 'haiku', 'vivarium-test-guest']),
    );
    expect(list.at(-1)!.id).toBe('generic');
    const bsd = await engine.call('catalog.list', { family: 'bsd', includeOsinfo: false });
    expect(bsd.map((e) => e.id).sort()).toEqual(['freebsd', 'netbsd', 'openbsd']);
    const entry = await engine.call('catalog.get', { id: 'debian12' });
    expect(entry).toMatchObject({
      id: 'debian',
      source: 'curated',
      profile: { diskBus: 'virtio' },
    });
    expect(entry.logoSvg).toContain('<svg');
  });
});

describe('cloud images', () => {
  const download = async (engine: Engine, os: string) => {
    const task = await engine.call('media.download', { os, media: 'cloud' });
    return (await engine.tasks.wait(task.id)) as MediaDownloadResult;
  };

  it('downloads a qcow2 cloud image, verifies it against the checksum list and records it as qcow2', async () => {
    const engine = await open();
    const result = await download(engine, 'vivarium-test-cloud');
    const sha = sha256Of(cloud.qcow2);
    expect(result).toMatchObject({ reused: false, sha256: sha });
    expect(result.file).toBe(join(home.dir, 'cache', 'media', sha, 'guest-cloud.qcow2'));
    expect(result.media).toMatchObject({
      format: 'qcow2',
      verified: 'published',
      os: 'vivarium-test-cloud',
      mediaId: 'cloud',
    });
    expect(sha256Of(await readFile(result.file))).toBe(sha);
    const listed = (await engine.call('media.list', {})).find((m) => m.sha256 === sha);
    expect(listed?.format).toBe('qcow2');
    expect(requestsFor('/cloud/SHA256SUMS').length).toBeGreaterThan(0);
    // Again: from the cache, without a request.
    const before = server.log.length;
    expect(await download(engine, 'vivarium-test-cloud')).toMatchObject({ reused: true });
    expect(server.log.length).toBe(before);
  });

  it("keeps a cached cloud image while a VM's disk is a thin overlay on it", async () => {
    const engine = await open();
    const result = await download(engine, 'vivarium-test-cloud');
    const vm = await engine.call('vm.create', {
      name: 'on the cached image',
      memoryMiB: 256,
      cloud: { image: result.file, user: 'dev', sshKeys: [], diskMode: 'overlay' },
    });
    const listed = (await engine.call('media.list', {})).find((m) => m.sha256 === result.sha256);
    expect(listed?.usedBy).toEqual([{ id: vm.id, name: 'on the cached image' }]);
    const refused = await engine.call('media.delete', { sha256: result.sha256, eject: true }).then(
      () => null,
      (err: unknown) => err as { code: string; message: string },
    );
    expect(refused?.code).toBe('BAD_STATE');
    expect(refused?.message).toMatch(/base image of the disks of "on the cached image"/);
    expect(existsSync(result.file)).toBe(true);
    await engine.call('vm.delete', { vm: vm.id, keepDisks: false });
    expect(
      await engine.call('media.delete', { sha256: result.sha256, eject: false }),
    ).toMatchObject({ deleted: true });
  });

  it('checks an xz download against its published hash, then decompresses it into the cache', async () => {
    const engine = await open();
    const result = await download(engine, 'vivarium-test-cloud-xz');
    const sha = sha256Of(cloud.qcow2Xz);
    // The cache entry is named by the download's hash; the image in it is the unpacked qcow2.
    expect(result).toMatchObject({ reused: false, sha256: sha, bytes: cloud.qcow2.length });
    expect(result.file).toBe(join(home.dir, 'cache', 'media', sha, 'guest-cloud.qcow2'));
    expect(result.media).toMatchObject({ format: 'qcow2', verified: 'published' });
    expect(sha256Of(await readFile(result.file))).toBe(sha256Of(cloud.qcow2));
    expect((await stat(result.file)).mode & 0o222).toBe(0);
    expect((await cacheFiles()).filter((f) => f.includes(sha))).toEqual([
      `/cache/media/${sha}/guest-cloud.qcow2`,
      `/cache/media/${sha}/meta.json`,
    ]);
    const info = spawnSync('qemu-img', ['info', '--output=json', result.file], {
      encoding: 'utf8',
    });
    expect(JSON.parse(info.stdout)).toMatchObject({
      format: 'qcow2',
      'virtual-size': 64 * 2 ** 20,
    });
  });

  it('keeps a raw disk from an xz download as raw (no ISO to detect in it)', async () => {
    const engine = await open();
    const result = await download(engine, 'vivarium-test-cloud-raw');
    expect(result.file.endsWith('/guest-cloud.raw')).toBe(true);
    expect(result.media.format).toBe('raw');
    expect(sha256Of(await readFile(result.file))).toBe(sha256Of(cloud.raw));
  });

  it('refuses a truncated xz stream and a download that is not the qcow2 it claims, keeping nothing', async () => {
    const engine = await open();
    const before = await cacheFiles();
    for (const [os, pattern] of [
      ['vivarium-test-cloud-broken', /broken\.qcow2\.xz could not be decompressed/],
      ['vivarium-test-cloud-mislabelled', /should be a qcow2 disk image but is not one/],
    ] as const) {
      const task = await engine.call('media.download', { os, media: 'cloud' });
      await expect(engine.tasks.wait(task.id), os).rejects.toMatchObject({
        message: expect.stringMatching(pattern) as unknown,
      });
    }
    expect(await cacheFiles()).toEqual(before);
  });
});
