/**
 * CLI parity for the catalogue (issue 5), on the built CLI (`node out/main/cli.js`, from
 * `npm run build`): catalog, detect, download (catalogue media and --url, with JSON progress),
 * media, and `create --os` with and without --iso. A loopback HTTP server serves the fixture ISO;
 * a test-only catalogue entry comes in through VIVARIUM_CATALOG_EXTRA.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogEntry } from '../helpers/catalog-entry';
import { requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { guest, requireGuest, tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let server: Server;
let base = '';
let iso: Buffer;
let sha = '';
let extra = '';
let cloudImage: Buffer;
const requests: string[] = [];

/** The built CLI with this file's home and test catalogue. */
function run(args: string[]): Promise<CliResult> {
  return runCli(args, {
    VIVARIUM_HOME: home.dir,
    VIVARIUM_CATALOG_EXTRA: extra,
    VIVARIUM_OSINFO_DIR: '',
  });
}

beforeAll(async () => {
  requireGuest();
  requireBuiltCli();
  home = await tempHome('viv-catcli-');
  iso = await readFile(guest.iso);
  sha = createHash('sha256').update(iso).digest('hex');
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/cloud/tiny.qcow2') {
      return res.writeHead(200, { 'content-length': cloudImage.length }).end(cloudImage);
    }
    if (!req.url?.startsWith('/media/')) return res.writeHead(404).end();
    // Slow enough for a few progress events.
    res.writeHead(200, { 'content-length': iso.length });
    let at = 0;
    const timer = setInterval(() => {
      const next = iso.subarray(at, at + 256 * 1024);
      at += next.length;
      if (at >= iso.length) {
        clearInterval(timer);
        res.end(next);
      } else res.write(next);
    }, 5);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  extra = join(home.dir, 'extra.json');
  const tiny = join(home.dir, 'tiny.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', tiny, '64M']);
  cloudImage = await readFile(tiny);
  await writeFile(
    extra,
    JSON.stringify([
      catalogEntry({
        id: 'vivarium-test-cloud',
        name: 'Vivarium test cloud',
        versions: [
          {
            id: '1',
            name: 'Test cloud 1',
            status: 'current',
            media: [
              {
                id: 'cloud',
                label: 'Cloud image',
                arch: 'x86_64',
                kind: 'cloud',
                diskFormat: 'qcow2',
                cloudInit: 'cloud-init',
                urls: [`${base}/cloud/tiny.qcow2`],
                sha256: createHash('sha256').update(cloudImage).digest('hex'),
              },
            ],
          },
        ],
      }),
      catalogEntry({
        id: 'vivarium-test-guest',
        name: 'Vivarium test guest',
        profile: { diskBus: 'sata', sound: 'none' },
        recommended: { memoryMiB: 192, diskGiB: 0 },
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
                urls: [`${base}/media/guest.iso`],
                sha256: sha,
              },
            ],
          },
        ],
        detect: [{ volumeId: '^VIVARIUM_TESTGUEST$', version: '1' }],
        notes: ['A test entry.'],
      }),
    ]),
  );
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await home.remove();
});

describe('vivarium catalog / detect / download / media / create --os', () => {
  it('lists the catalogue, searches it and shows one entry', async () => {
    const json = await run(['catalog', '--json']);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout) as Array<{ id: string; downloadable: boolean }>;
    expect(list.map((e) => e.id)).toEqual(
      expect.arrayContaining(['debian', 'windows-11', 'vivarium-test-guest', 'generic']),
    );
    const human = await run(['catalog', '--family', 'bsd']);
    expect(human.stdout).toMatch(/^ID\s+NAME\s+FAMILY/);
    expect(human.stdout).toMatch(/openbsd\s+OpenBSD\s+bsd\s+7\.9/);
    const one = await run(['catalog', 'windows-11']);
    expect(one.stdout).toContain(
      'Hardware:   Q35 (modern, PCIe) (q35), UEFI (OVMF) (uefi), TPM 2.0, Secure Boot; disk SATA (AHCI) (sata), network Intel 82574 (E1000e) (e1000e)',
    );
    expect(one.stdout).toContain('BypassTPMCheck');
    const bad = await run(['catalog', '--family', 'amiga']);
    expect(bad.code).toBe(2);
  });

  it('detects the fixture ISO', async () => {
    const res = await run(['detect', guest.iso, '--json']);
    expect(res.code).toBe(0);
    const d = JSON.parse(res.stdout) as {
      best: { os: string; confidence: string };
      iso: { volumeId: string };
    };
    expect(d.best).toMatchObject({ os: 'vivarium-test-guest', confidence: 'exact' });
    const human = await run(['detect', guest.iso]);
    expect(human.stdout).toContain('Test guest 1');
    expect(human.stdout).toContain('vivarium create NAME --os vivarium-test-guest-1');
  });

  it('downloads a URL with JSON progress on stderr and the result on stdout', async () => {
    const res = await run([
      'download',
      '--url',
      `${base}/media/guest.iso`,
      '--sha256',
      sha,
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout) as { file: string; sha256: string; reused: boolean };
    expect(result).toMatchObject({ sha256: sha, reused: false });
    expect(result.file).toBe(join(home.dir, 'cache', 'media', sha, 'guest.iso'));
    const progress = res.stderr
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            task: { state: string; bytesDone: number | null; bytesTotal: number | null };
          },
      );
    expect(progress.some((p) => p.task.state === 'running' && (p.task.bytesDone ?? 0) > 0)).toBe(
      true,
    );
    expect(progress.at(-1)!.task).toMatchObject({
      state: 'succeeded',
      bytesDone: iso.length,
      bytesTotal: iso.length,
    });
  });

  it('prints the cached path for catalogue media without downloading again', async () => {
    const before = requests.length;
    const res = await run(['download', 'vivarium-test-guest']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe(join(home.dir, 'cache', 'media', sha, 'guest.iso'));
    expect(res.stderr).toContain('Already downloaded (verified)');
    expect(requests.length).toBe(before);
    const media = await run(['media', '--json']);
    expect(JSON.parse(media.stdout)).toEqual([
      expect.objectContaining({ sha256: sha, verified: 'user' }),
    ]);
  });

  it('refuses a wrong checksum in one line and keeps nothing', async () => {
    const res = await run([
      'download',
      '--url',
      `${base}/media/copy.iso`,
      '--sha256',
      'ab'.repeat(32),
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^vivarium: copy\.iso from 127\.0\.0\.1:\d+ does not match the SHA-256 you gave .*the file was deleted/m,
    );
    const media = JSON.parse((await run(['media', '--json'])).stdout) as unknown[];
    expect(media).toHaveLength(1);
  });

  it('creates a VM with the profile, fetching the media when --iso is left out', async () => {
    const res = await run(['create', 'Catalogue VM', '--os', 'vivarium-test-guest', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const vm = JSON.parse(res.stdout) as {
      os: string;
      memoryMiB: number;
      config: Record<string, unknown>;
    };
    expect(vm).toMatchObject({ os: 'vivarium-test-guest', memoryMiB: 192 });
    expect(vm.config).toMatchObject({
      cdrom: join(home.dir, 'cache', 'media', sha, 'guest.iso'),
      nics: [expect.objectContaining({ model: 'e1000' })],
      disks: [],
    });
    const explicit = await run([
      'create',
      'Explicit',
      '--os',
      'debian',
      '--iso',
      guest.iso,
      '--memory',
      '512',
      '--disk',
      '0',
      '--json',
    ]);
    expect(explicit.code, explicit.stderr).toBe(0);
    expect(JSON.parse(explicit.stdout)).toMatchObject({
      os: 'debian',
      memoryMiB: 512,
      config: { nics: [expect.objectContaining({ model: 'virtio-net-pci' })], sound: 'hda' },
    });
    const typo = await run(['create', 'Typo', '--os', 'debain', '--iso', guest.iso]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/"debain" is not in the OS catalogue/);
  });

  it("create --cloud OS downloads the catalogue's cloud image and makes a ready-to-use VM on it", async () => {
    const res = await run([
      'create',
      'from the catalogue',
      '--cloud',
      'vivarium-test-cloud',
      '--user',
      'dev',
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const vm = JSON.parse(res.stdout) as {
      config: { os: string; cloudInit: { image: { file: string; mode: string } } };
    };
    expect(vm.config.os).toBe('vivarium-test-cloud');
    expect(vm.config.cloudInit.image.mode).toBe('overlay');
    expect(vm.config.cloudInit.image.file).toContain(join(home.dir, 'cache', 'media'));
    expect(requests).toContain('/cloud/tiny.qcow2');
    const none = await run([
      'create',
      'nothing',
      '--cloud',
      'vivarium-test-guest',
      '--user',
      'dev',
    ]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no cloud image for Vivarium test guest/);
  });
});
