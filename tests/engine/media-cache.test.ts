/**
 * The media cache as a user manages it (the Host view, `vivarium media`): which VMs use each
 * cached image (CachedMedia.usedBy, symlinks resolved), deleting one that a VM's CD-ROM holds
 * (refused, naming the VMs; with eject only while they are stopped, through vm.update), the
 * partial downloads a cancel leaves (media.partials, media.discardPartial; the one being written
 * is neither listed nor discarded, also from another process), and the CLI's `media`,
 * `media rm`, `media partial` and `media discard`. A loopback HTTP server serves the fixture ISO
 * and two variants; one of them can be held halfway, as a stalled mirror would.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ApiEvent,
  CachedMedia,
  MediaDownloadResult,
  Params,
  TaskInfo,
  VmSummary,
} from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { catalogEntry } from '../helpers/catalog-entry';
import { requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { errorOf, guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';
import { startMediaServer, type MediaRequest, type MediaServer } from '../helpers/media-server';

let home: Awaited<ReturnType<typeof tempHome>>;
let server: MediaServer;
let base = '';
let extra = '';
let engine: Engine;
let isoBytes: Buffer;
let isoSha = '';
/** The fixture ISO padded by a sector: another image with a SHA-256 given. */
let altBytes: Buffer;
let altSha = '';
/** Padded by two sectors: downloaded by URL only (no hash). */
let otherBytes: Buffer;
/** Full-body responses stop after this many bytes and hang until the client goes (null: whole). */
let holdAt: number | null = null;

function handle({ path, send }: MediaRequest): void {
  const data =
    path === '/guest.iso'
      ? isoBytes
      : path === '/alt/guest.iso'
        ? altBytes
        : path === '/url-only/other%20disc.iso'
          ? otherBytes
          : null;
  if (data) send(data, holdAt === null ? {} : { holdAt });
}

/** The built CLI on this file's home and test catalogue. */
function cli(args: string[]): Promise<CliResult> {
  return runCli(args, {
    VIVARIUM_HOME: home.dir,
    VIVARIUM_CATALOG_EXTRA: extra,
    VIVARIUM_OSINFO_DIR: '',
  });
}

async function download(params: Params<'media.download'>): Promise<MediaDownloadResult> {
  const task = await engine.call('media.download', params);
  return (await engine.tasks.wait(task.id)) as MediaDownloadResult;
}

/** Starts a download that the server holds at `at` bytes; resolves once they are on disk. */
async function startHeld(url: string, at: number, sha256?: string): Promise<TaskInfo> {
  holdAt = at;
  const task = await engine.call('media.download', { url, ...(sha256 ? { sha256 } : {}) });
  await waitFor(() => engine.tasks.get(task.id).bytesDone === at, `${at} bytes of ${url}`, 30_000);
  return task;
}

async function cancel(task: TaskInfo): Promise<void> {
  await engine.call('task.cancel', { id: task.id });
  await expect(engine.tasks.wait(task.id)).rejects.toMatchObject({ code: 'CANCELLED' });
  holdAt = null;
}

async function partFiles(): Promise<string[]> {
  return (await readdir(join(home.dir, 'cache', 'media', '.partial')).catch(() => [])).sort();
}

async function configOnDisk(vm: VmSummary): Promise<{ cdrom: string | null }> {
  return JSON.parse(await readFile(join(vm.dir, 'vm.json'), 'utf8')) as { cdrom: string | null };
}

function createVm(name: string, iso: string): Promise<VmSummary> {
  return engine.call('vm.create', { name, iso, memoryMiB: 256, cpus: 1, diskSize: '0' });
}

beforeAll(async () => {
  requireGuest();
  requireBuiltCli();
  home = await tempHome('viv-media-');
  isoBytes = await readFile(guest.iso);
  isoSha = createHash('sha256').update(isoBytes).digest('hex');
  altBytes = Buffer.concat([isoBytes, Buffer.alloc(2048)]);
  altSha = createHash('sha256').update(altBytes).digest('hex');
  otherBytes = Buffer.concat([isoBytes, Buffer.alloc(4096)]);
  server = await startMediaServer(handle);
  base = server.base;
  extra = join(home.dir, 'test-catalog.json');
  await writeFile(
    extra,
    JSON.stringify([
      catalogEntry({
        id: 'vivarium-test-guest',
        name: 'Vivarium test guest',
        versions: [
          {
            id: '1',
            name: 'Test guest 1',
            status: 'current',
            media: [
              {
                id: 'iso',
                label: 'Live ISO',
                arch: 'x86_64',
                kind: 'live',
                urls: [`${base}/guest.iso`],
                sha256: isoSha,
              },
            ],
          },
        ],
      }),
    ]),
  );
  engine = await openEngine({
    home: home.dir,
    role: 'owner',
    catalog: { extraFiles: [extra], osinfoDir: null },
  });
});

afterAll(async () => {
  holdAt = null;
  for (const vm of await engine.call('vm.list', {}).catch(() => [])) {
    if (vm.runtime.state !== 'stopped' && vm.runtime.state !== 'crashed')
      await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
  }
  await engine.close();
  await server.close();
  await home.remove();
});

describe('cached media and the VMs using them', () => {
  let media: MediaDownloadResult;
  let user: VmSummary;
  let linked: VmSummary;
  let other: VmSummary;

  it('media.list names the VMs whose CD-ROM holds the image (symlinks resolved)', async () => {
    media = await download({ os: 'vivarium-test-guest' });
    expect(media).toMatchObject({ reused: false, sha256: isoSha });
    expect(media.media.usedBy).toEqual([]);
    user = await createVm('Cd user', media.file);
    const link = join(home.dir, 'link-to-cached.iso');
    await symlink(media.file, link);
    linked = await createVm('A link user', link);
    // The same bytes elsewhere are another file: not a user of the cached one.
    other = await createVm('Own copy', guest.iso);

    const [listed, ...rest] = await engine.call('media.list', {});
    expect(rest).toEqual([]);
    expect(listed).toMatchObject({ sha256: isoSha, file: media.file });
    expect(listed!.usedBy).toEqual([
      { id: linked.id, name: 'A link user' },
      { id: user.id, name: 'Cd user' },
    ]);
    // Who uses an image is asked each time, never written into the cache's record.
    const meta = JSON.parse(
      await readFile(join(home.dir, 'cache', 'media', isoSha, 'meta.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(meta).not.toHaveProperty('usedBy');
    // A download that finds it in the cache says so too.
    const again = await download({ os: 'vivarium-test-guest' });
    expect(again.reused).toBe(true);
    expect(again.media.usedBy.map((u) => u.name)).toEqual(['A link user', 'Cd user']);
  });

  it('refuses to delete an image in a CD-ROM, naming the VMs', async () => {
    const err = await errorOf(engine.call('media.delete', { sha256: isoSha }));
    expect(err.code).toBe('BAD_STATE');
    expect(err.message).toBe(
      '"guest.iso" is in the CD-ROM of "A link user" and "Cd user": eject it there first, or delete it with eject (--eject).',
    );
    expect(existsSync(media.file)).toBe(true);
    expect((await engine.call('vm.get', { vm: user.id })).config.cdrom).toBe(media.file);
  });

  it('refuses delete with eject while a VM using it runs, and changes nothing', async () => {
    const started = await engine.call('vm.start', { vm: user.id });
    expect(started.runtime.state).toBe('running');
    // Booted from the cached image: the guest reads it now.
    await waitForText(join(user.dir, 'logs', 'serial.log'), guest.banner, 120_000);
    const err = await errorOf(engine.call('media.delete', { sha256: isoSha, eject: true }));
    expect(err.code).toBe('BAD_STATE');
    expect(err.message).toMatch(
      /^"guest\.iso" is in the CD-ROM of "Cd user" \(running\), which must be stopped to eject it: shut it down first/,
    );
    expect(existsSync(media.file)).toBe(true);
    // Not even the stopped VM was ejected.
    for (const vm of [user, linked]) {
      const now = await engine.call('vm.get', { vm: vm.id });
      expect(now.config.cdrom).toBe(vm.config.cdrom);
      expect((await configOnDisk(vm)).cdrom).toBe(vm.config.cdrom);
    }
    expect((await engine.call('media.list', {}))[0]!.usedBy).toHaveLength(2);
    await engine.call('vm.powerOff', { vm: user.id });
    await waitFor(
      async () => (await engine.call('vm.get', { vm: user.id })).runtime.state === 'stopped',
      'the VM to stop',
      30_000,
    );
  }, 180_000);

  it('deletes with eject once the VMs are stopped: ejected through vm.update, then deleted', async () => {
    const events: ApiEvent[] = [];
    const off = engine.onEvent((ev) => events.push(ev));
    const res = await engine.call('media.delete', { sha256: isoSha, eject: true });
    off();
    expect(res).toEqual({
      deleted: true,
      file: media.file,
      ejectedFrom: ['A link user', 'Cd user'],
    });
    for (const vm of [user, linked]) {
      expect((await engine.call('vm.get', { vm: vm.id })).config.cdrom).toBeNull();
      expect((await configOnDisk(vm)).cdrom).toBeNull();
      expect(
        events.some(
          (ev) => ev.type === 'vm.state' && ev.vm.id === vm.id && ev.vm.config.cdrom === null,
        ),
      ).toBe(true);
    }
    expect((await engine.call('vm.get', { vm: other.id })).config.cdrom).toBe(guest.iso);
    expect(existsSync(media.file)).toBe(false);
    expect(existsSync(join(home.dir, 'cache', 'media', isoSha))).toBe(false);
    expect(await engine.call('media.list', {})).toEqual([]);
    // Gone already: nothing to delete, nothing ejected.
    expect(await engine.call('media.delete', { sha256: isoSha })).toEqual({
      deleted: false,
      file: null,
      ejectedFrom: [],
    });
  });
});

describe('partial downloads', () => {
  const half = () => Math.floor(altBytes.length / 2);
  const key = () => `sha256-${altSha.slice(0, 32)}`;

  it('refuses a second writer of one image (by URL while its catalogue download runs)', async () => {
    const task = await startHeld(`${base}/guest.iso`, 4096, isoSha);
    const second = await engine.call('media.download', { os: 'vivarium-test-guest' });
    const err = await errorOf(engine.tasks.wait(second.id));
    expect(err.code).toBe('BAD_STATE');
    expect(err.message).toMatch(
      /is already being downloaded \(see its task\): it will be in the cache/,
    );
    await cancel(task);
    await engine.call('media.discardPartial', { key: `sha256-${isoSha.slice(0, 32)}` });
    expect(await partFiles()).toEqual([]);
  });

  it('lists a cancelled download with its size and SHA-256; the running one is left out', async () => {
    const url = `${base}/alt/guest.iso`;
    const task = await startHeld(url, half(), altSha);
    // Being written: not listed, and not discarded under the download's feet.
    expect(await engine.call('media.partials', {})).toEqual([]);
    const busy = await errorOf(engine.call('media.discardPartial', { key: key() }));
    expect(busy.code).toBe('BAD_STATE');
    expect(busy.message).toMatch(/being downloaded right now: cancel that download first/);
    await cancel(task);

    const partials = await engine.call('media.partials', {});
    expect(partials).toEqual([
      {
        key: key(),
        url,
        filename: 'guest.iso',
        bytes: half(),
        total: altBytes.length,
        sha256: altSha,
        modifiedAt: expect.any(String) as unknown,
      },
    ]);
    expect(partials[0]!.bytes).toBeLessThan(partials[0]!.total!);
    expect(Date.now() - Date.parse(partials[0]!.modifiedAt)).toBeLessThan(60_000);
    expect(await partFiles()).toEqual([`${key()}.json`, `${key()}.part`]);
  });

  it('discards it (the bytes freed), and the next download starts from zero', async () => {
    await expect(
      engine.call('media.discardPartial', { key: `sha256-${'0'.repeat(32)}` }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(engine.call('media.discardPartial', { key: '../vms' })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    expect(await engine.call('media.discardPartial', { key: key() })).toEqual({
      discarded: true,
      bytes: half(),
    });
    expect(await partFiles()).toEqual([]);
    expect(await engine.call('media.partials', {})).toEqual([]);
    await expect(engine.call('media.discardPartial', { key: key() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });

    const before = server.log.length;
    const result = await download({ url: `${base}/alt/guest.iso`, sha256: altSha });
    expect(result).toMatchObject({ reused: false, sha256: altSha, bytes: altBytes.length });
    const hits = server.log.slice(before).filter((h) => h.path === '/alt/guest.iso');
    expect(hits).toEqual([{ path: '/alt/guest.iso', range: null }]);
    expect(await partFiles()).toEqual([]);
  });
});

describe('vivarium media', () => {
  const otherUrl = () => `${base}/url-only/other%20disc.iso`;
  let cached: CachedMedia;
  let user: VmSummary;

  it('shows the VMs using each image in USED BY', async () => {
    const media = await download({ os: 'vivarium-test-guest' });
    user = await engine.call('vm.update', {
      vm: 'Cd user',
      patch: { cdrom: media.file },
    });
    cached = (await engine.call('media.list', {})).find((m) => m.sha256 === isoSha)!;
    const res = await cli(['media']);
    expect(res.code, res.stderr).toBe(0);
    const [header, ...rows] = res.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^SHA256\s+OS\s+ARCH\s+SIZE\s+VERIFIED\s+USED BY\s+FILE$/);
    const row = rows.find((r) => r.startsWith(isoSha.slice(0, 12)));
    expect(row).toMatch(/vivarium-test-guest 1\s+x86_64\s+.*published\s+Cd user\s+\/.*guest\.iso$/);
    expect(rows.find((r) => r.startsWith(altSha.slice(0, 12)))).toMatch(/user\s+-\s+\//);
    const json = JSON.parse((await cli(['media', '--json'])).stdout) as CachedMedia[];
    expect(json.find((m) => m.sha256 === isoSha)!.usedBy).toEqual([
      { id: user.id, name: 'Cd user' },
    ]);
  });

  it('refuses references that are unknown, too short or ambiguous (exit 1)', async () => {
    const short = await cli(['media', 'rm', isoSha.slice(0, 6)]);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/is too short: give at least 8 characters of the SHA-256/);
    const unknown = await cli(['media', 'rm', 'deadbeefdeadbeef']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^vivarium: Nothing in the media cache matches "deadbeefdeadbeef"/,
    );
    const noFile = await cli(['media', 'rm', 'nosuch.iso', '--json']);
    expect(noFile.code).toBe(1);
    expect(JSON.parse(noFile.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    // Both cached images are called guest.iso.
    const both = await cli(['media', 'rm', 'guest.iso']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/"guest\.iso" matches 2 cached images: .*Give more of the SHA-256/);
    expect(both.stderr).toContain(isoSha.slice(0, 16));
    expect(both.stderr).toContain(altSha.slice(0, 16));
    // In use, without --eject.
    const inUse = await cli(['media', 'rm', isoSha.slice(0, 10)]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/is in the CD-ROM of "Cd user": eject it there first.*--eject/);
    expect(existsSync(cached.file)).toBe(true);
  });

  it('media rm PREFIX --eject ejects it from the stopped VM and deletes it', async () => {
    const res = await cli(['media', 'rm', isoSha.slice(0, 10), '--eject', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      deleted: true,
      file: cached.file,
      ejectedFrom: ['Cd user'],
    });
    expect(existsSync(cached.file)).toBe(false);
    expect((await configOnDisk(user)).cdrom).toBeNull();
    // The app's engine sees the change the CLI made.
    await waitFor(
      async () => (await engine.call('vm.get', { vm: user.id })).config.cdrom === null,
      'the app engine to see the ejected CD-ROM',
      10_000,
    );
    // By file name, now that it is the only guest.iso.
    const byName = await cli(['media', 'rm', 'guest.iso']);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stdout.trim()).toBe(
      `Deleted ${join(home.dir, 'cache', 'media', altSha, 'guest.iso')}`,
    );
    expect(await engine.call('media.list', {})).toEqual([]);
    // A whole SHA-256 also names an entry that `media` cannot list (no meta.json).
    const brokenSha = 'ab'.repeat(32);
    const brokenDir = join(home.dir, 'cache', 'media', brokenSha);
    await mkdir(brokenDir);
    await writeFile(join(brokenDir, 'half.iso'), 'not all of it');
    const broken = await cli(['media', 'rm', brokenSha]);
    expect(broken.code, broken.stderr).toBe(0);
    expect(broken.stdout.trim()).toBe(`Deleted the incomplete cache entry ${brokenSha}`);
    expect(existsSync(brokenDir)).toBe(false);
    expect((await cli(['media', 'rm', brokenSha])).code).toBe(1);
  });

  it('media partial and media discard KEY, and not a download another process is writing', async () => {
    const task = await startHeld(otherUrl(), 3 * 2 ** 20);
    const key = (await readdir(join(home.dir, 'cache', 'media', '.partial')))
      .find((f) => f.endsWith('.part'))!
      .slice(0, -'.part'.length);
    expect(key).toMatch(/^url-[0-9a-f]{32}$/);
    // The CLI is another process: the app's running download is not its to list or discard.
    const listedWhileRunning = await cli(['media', 'partial', '--json']);
    expect(listedWhileRunning.code, listedWhileRunning.stderr).toBe(0);
    expect(JSON.parse(listedWhileRunning.stdout)).toEqual([]);
    const busy = await cli(['media', 'discard', key]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`being downloaded right now (by process ${process.pid})`);
    await cancel(task);

    const listed = await cli(['media', 'partial', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        key,
        url: otherUrl(),
        filename: 'other disc.iso',
        bytes: 3 * 2 ** 20,
        total: otherBytes.length,
        sha256: null,
      }),
    ]);
    const table = await cli(['media', 'partial']);
    expect(table.stdout).toMatch(/^KEY\s+FILE\s+DOWNLOADED\s+MODIFIED\s+URL$/m);
    const total = `${(otherBytes.length / 2 ** 20).toFixed(1)} MiB`;
    const percent = Math.floor(((3 * 2 ** 20) / otherBytes.length) * 100);
    expect(table.stdout).toContain(`${key}  other disc.iso  3.0 MiB of ${total} (${percent}%)`);

    const discarded = await cli(['media', 'discard', key]);
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout.trim()).toBe(`Discarded the partial download ${key}: 3.0 MiB freed`);
    expect(await partFiles()).toEqual([]);
    expect(JSON.parse((await cli(['media', 'partial', '--json'])).stdout)).toEqual([]);
    expect((await cli(['media', 'partial'])).stdout.trim()).toBe('No partial downloads.');
    const again = await cli(['media', 'discard', key, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const bad = await cli(['media', 'discard', '../../etc']);
    expect(bad.code).toBe(1);
  }, 90_000);
});
