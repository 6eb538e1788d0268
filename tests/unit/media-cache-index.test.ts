/**
 * The media cache alone, in a temp folder (no network, no QEMU): the index of cached images (what
 * is complete, how verified, which VMs use it), the partial downloads (listing, discarding, one
 * writer per part, also across processes), and the free-space rule.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CachedMedia } from '../../common/contract';
import {
  MediaCacheIndex,
  type MediaUser,
  type StoredMedia,
} from '../../electron/engine/catalog/media/cache-index';
import { assertRoom } from '../../electron/engine/catalog/media/disk-space';
import {
  fileNameOfUrl,
  keyFor,
  PartialDownloads,
} from '../../electron/engine/catalog/media/partials';
import { MediaStore } from '../../electron/engine/catalog/media-store';

let root: string;
let mediaDir: string;
let users: Map<string, MediaUser[]>;

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Puts an image and its meta.json in the cache, as a download would leave them. */
async function addEntry(
  content: string,
  over: Partial<StoredMedia> = {},
): Promise<StoredMedia & { dir: string }> {
  const sha256 = sha(content);
  const dir = join(mediaDir, sha256);
  await mkdir(dir, { recursive: true });
  const file = join(dir, over.filename ?? 'image.iso');
  await writeFile(file, content);
  const record: StoredMedia = {
    sha256,
    file,
    filename: 'image.iso',
    bytes: Buffer.byteLength(content),
    url: `https://example.org/${sha256.slice(0, 8)}.iso`,
    os: null,
    version: null,
    mediaId: null,
    osName: null,
    arch: null,
    verified: 'none',
    format: 'unknown',
    addedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
  await writeFile(join(dir, 'meta.json'), JSON.stringify({ ...record, usedBy: ['stale'] }));
  return { ...record, dir };
}

function index(): MediaCacheIndex {
  return new MediaCacheIndex(mediaDir, () => Promise.resolve(users));
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vivarium-media-index-'));
  mediaDir = join(root, 'media');
  await mkdir(mediaDir, { recursive: true });
  users = new Map();
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('MediaCacheIndex', () => {
  it('lists complete entries newest first, with how each was verified', async () => {
    const a = await addEntry('alpha', { addedAt: '2026-01-01T00:00:00.000Z', verified: 'user' });
    const b = await addEntry('bravo', {
      addedAt: '2026-02-01T00:00:00.000Z',
      verified: 'published',
      os: 'debian13',
    });
    // Not entries: a folder that is no SHA-256, and an entry whose image lost bytes.
    await mkdir(join(mediaDir, 'not-a-hash'));
    const cut = await addEntry('charlie');
    await writeFile(cut.file, 'char');
    const list = await index().list();
    expect(list.map((m) => m.sha256)).toEqual([b.sha256, a.sha256]);
    expect(list[0]).toMatchObject({ verified: 'published', os: 'debian13', usedBy: [] });
    expect(list[1]?.verified).toBe('user');
    expect(await index().get(cut.sha256)).toBeNull();
    expect(await index().get(a.sha256)).toMatchObject({ sha256: a.sha256, usedBy: [] });
    expect(await index().find((m) => m.os === 'debian13')).toMatchObject({ sha256: b.sha256 });
  });

  it('an empty or missing cache lists nothing', async () => {
    await rm(mediaDir, { recursive: true });
    expect(await index().list()).toEqual([]);
    expect(await index().get(sha('x'))).toBeNull();
  });

  it('fills usedBy from the users hook, by real path (symlinks resolved), never from meta.json', async () => {
    const a = await addEntry('alpha');
    // The record names the image through a symlinked folder; the engine answers by real path.
    const linked = join(root, 'linked');
    await symlink(a.dir, linked);
    const { dir: _dir, ...record } = a;
    await writeFile(
      join(a.dir, 'meta.json'),
      JSON.stringify({ ...record, file: join(linked, 'image.iso') }),
    );
    const vm: MediaUser = { id: 'vm1', name: 'One' };
    users.set(a.file, [vm]);
    expect((await index().get(a.sha256))?.usedBy).toEqual([vm]);
    expect(await index().usersOf(a.sha256)).toEqual([vm]);
    // An entry whose meta.json is gone: any file in its folder counts.
    await rm(join(a.dir, 'meta.json'));
    users = new Map([[join(a.dir, 'other.iso'), [vm]]]);
    expect(await index().usersOf(a.sha256)).toEqual([vm]);
    expect(await index().usersOf(sha('nobody'))).toEqual([]);
  });

  it('record writes meta.json without usedBy and answers as get would', async () => {
    const a = await addEntry('alpha');
    await rm(join(a.dir, 'meta.json'));
    const vm: MediaUser = { id: 'vm2', name: 'Two' };
    users.set(a.file, [vm]);
    const { dir: _dir, ...record } = a;
    const media: CachedMedia = await index().record(record);
    expect(media).toEqual({ ...record, displayName: 'image.iso', usedBy: [vm] });
    const stored = JSON.parse(await readFile(join(a.dir, 'meta.json'), 'utf8')) as object;
    expect(stored).toEqual(record);
  });

  it('keeps the architecture; an image recorded without one (or before there was one) says it', async () => {
    // An arm64 disc as distributions lay theirs out: the removable-media loader in EFI/BOOT.
    const tree = join(root, 'tree');
    await mkdir(join(tree, 'EFI', 'BOOT'), { recursive: true });
    await writeFile(join(tree, 'EFI', 'BOOT', 'BOOTAA64.EFI'), 'loader');
    const iso = join(root, 'arm64.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-o', iso, tree], { stdio: 'pipe' });
    const bytes = await readFile(iso);
    const a = await addEntry(bytes.toString('latin1'));
    await writeFile(a.file, bytes);
    const { dir: _dir, arch: _arch, ...old } = a;
    const fresh = { ...old, sha256: a.sha256, bytes: bytes.length };
    // A record from before architectures were kept: the image's boot files tell.
    await writeFile(join(a.dir, 'meta.json'), JSON.stringify(fresh));
    expect((await index().get(a.sha256))?.arch).toBe('aarch64');
    // Recorded without one: detected and written.
    expect((await index().record(fresh)).arch).toBe('aarch64');
    const stored = JSON.parse(await readFile(join(a.dir, 'meta.json'), 'utf8')) as StoredMedia;
    expect(stored.arch).toBe('aarch64');
    // The catalogue's word wins over detection; a disk image says nothing.
    expect((await index().record({ ...fresh, arch: 's390x' })).arch).toBe('s390x');
    const disk = await addEntry('not a disc');
    const { dir: _d, arch: _a, ...plain } = disk;
    expect((await index().record(plain)).arch).toBeNull();
  });

  it('keeps the OS name and shows the media by their name, never the sha256 folder', async () => {
    const a = await addEntry('debian', { filename: 'debian-12.iso', url: '' });
    const { dir: _dir, ...record } = a;
    const media = await index().record({ ...record, os: 'debian', osName: 'Debian 12' });
    expect(media.displayName).toBe('debian-12.iso (Debian 12)');
    const listed = await index().get(a.sha256);
    expect(listed).toMatchObject({ osName: 'Debian 12', displayName: 'debian-12.iso (Debian 12)' });
    // A record written before OS names were kept still loads, named by its file.
    const { osName: _o, ...old } = record;
    await writeFile(join(a.dir, 'meta.json'), JSON.stringify(old));
    expect(await index().get(a.sha256)).toMatchObject({
      osName: null,
      displayName: 'debian-12.iso',
    });
  });

  it("knows each image's format: recorded, else read from its first bytes (older records too)", async () => {
    const disk = await addEntry('x'.repeat(512), { filename: 'disk.qcow2' });
    // The qcow2 magic in place of the first bytes (same size, as recorded).
    const image = await readFile(disk.file);
    Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(image);
    await writeFile(disk.file, image);
    // An entry recorded before formats were kept: its meta.json has none.
    const meta = JSON.parse(await readFile(join(disk.dir, 'meta.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    delete meta['format'];
    await writeFile(join(disk.dir, 'meta.json'), JSON.stringify(meta));
    expect((await index().get(disk.sha256))?.format).toBe('qcow2');
    // A record written without a format gets one; a cloud image's 'raw' is kept as given.
    const { format: _f, dir: _d, ...plain } = await addEntry('plain text, no header');
    expect((await index().record(plain)).format).toBe('unknown');
    const raw = await addEntry('raw disk bytes');
    expect((await index().record({ ...raw, format: 'raw' })).format).toBe('raw');
    expect((await index().get(raw.sha256))?.format).toBe('raw');
  });

  it('remove deletes the entry, and refuses while it is being stored', async () => {
    const a = await addEntry('alpha');
    const idx = index();
    await idx.storingImage(a.sha256, async () => {
      await expect(idx.remove(a.sha256)).rejects.toMatchObject({ code: 'BAD_STATE' });
      // Another store on the same home sees it too (one process, one set of holds).
      expect(() => new MediaStore({ cacheDir: root }).assertNotStoring(a.sha256)).toThrow(
        /being stored/,
      );
    });
    expect(await idx.remove(a.sha256)).toEqual({ deleted: true, file: a.file });
    expect(await idx.remove(a.sha256)).toEqual({ deleted: false, file: null });
    expect(await idx.list()).toEqual([]);
  });
});

describe('images a killed transfer left unrecorded', () => {
  async function unrecorded(content: string, ageMs: number): Promise<string> {
    const dir = join(mediaDir, sha(content));
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'image.iso');
    await writeFile(file, content);
    const when = new Date(Date.now() - ageMs);
    await utimes(file, when, when);
    await utimes(dir, when, when);
    return dir;
  }
  const exists = (p: string) =>
    stat(p).then(
      () => true,
      () => false,
    );

  it('frees an old folder without a record, and keeps recorded and recent ones', async () => {
    const old = await unrecorded('killed between move and record', 2 * 3_600_000);
    const fresh = await unrecorded('an admit still unpacking', 60_000);
    const kept = await addEntry('a recorded image');
    const when = new Date(Date.now() - 2 * 3_600_000);
    await utimes(kept.dir, when, when);

    const freed = await index().removeUnrecorded();

    expect(freed).toEqual([Buffer.byteLength('killed between move and record')]);
    expect(await exists(old)).toBe(false);
    expect(await exists(fresh)).toBe(true);
    expect(await exists(kept.dir)).toBe(true);
    expect((await index().list()).map((m) => m.sha256)).toEqual([kept.sha256]);
  });

  it('keeps a folder this process is storing, however old', async () => {
    const dir = await unrecorded('being stored right now', 2 * 3_600_000);
    const idx = index();
    const freed = await idx.storingImage(sha('being stored right now'), () =>
      idx.removeUnrecorded(),
    );
    expect(freed).toEqual([]);
    expect(await exists(dir)).toBe(true);
  });
});

describe('PartialDownloads', () => {
  let parts: PartialDownloads;
  const url = 'https://example.org/pub/debian%2013.iso';
  const expected = {
    algorithm: 'sha256' as const,
    hex: sha('whole'),
    source: 'published' as const,
  };

  beforeEach(async () => {
    parts = new PartialDownloads(join(mediaDir, '.partial'));
    await mkdir(parts.dir, { recursive: true });
  });

  async function addPart(key: string, bytes: string, sidecar: object | null): Promise<void> {
    const f = parts.files(key);
    await writeFile(f.part, bytes);
    if (sidecar) await writeFile(f.sidecar, JSON.stringify(sidecar));
  }

  it('names parts by the expected hash, else by URL', () => {
    expect(keyFor(url, expected)).toBe(`sha256-${expected.hex.slice(0, 32)}`);
    expect(keyFor(url, null)).toMatch(/^url-[0-9a-f]{32}$/);
    expect(keyFor(url, null)).not.toBe(keyFor(`${url}?x`, null));
    expect(fileNameOfUrl(url)).toBe('debian 13.iso');
    expect(fileNameOfUrl('not a url')).toBe('not a url');
  });

  it('lists resumable parts with their sidecar, and nothing else', async () => {
    const key = keyFor(url, expected);
    await addPart(key, 'half', { url, etag: '"e"', lastModified: null, total: 10, expected });
    // A part without a sidecar, an upload's part and a stray file are not resumable downloads.
    await addPart(keyFor('https://example.org/b.iso', null), 'xx', null);
    await writeFile(join(parts.dir, 'upload-0123.part'), 'up');
    await writeFile(join(parts.dir, 'notes.txt'), 'n');
    const list = await parts.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      key,
      url,
      filename: 'debian 13.iso',
      bytes: 4,
      total: 10,
      sha256: expected.hex,
    });
  });

  it('discards a part and its files, saying how many bytes that freed', async () => {
    const key = keyFor(url, null);
    await addPart(key, 'abcdef', { url, total: null });
    await writeFile(parts.files(key).pid, '999999999\n');
    expect(await parts.discard(key)).toEqual({ discarded: true, bytes: 6 });
    for (const f of [parts.files(key).part, parts.files(key).sidecar, parts.files(key).pid]) {
      await expect(stat(f)).rejects.toMatchObject({ code: 'ENOENT' });
    }
    await expect(parts.discard(key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(parts.discard('../../etc')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('one writer per part: busy here while written, refused twice, pid file removed after', async () => {
    const key = keyFor(url, expected);
    await addPart(key, 'half', { url, total: 10, expected });
    await parts.asWriter(key, 'Debian', async () => {
      expect(await parts.busy(key)).toBe('here');
      expect(await parts.list()).toEqual([]);
      expect((await readFile(parts.files(key).pid, 'utf8')).trim()).toBe(String(process.pid));
      await expect(parts.asWriter(key, 'Debian', () => Promise.resolve())).rejects.toThrow(
        /Debian is already being downloaded \(see its task\)/,
      );
      await expect(parts.discard(key)).rejects.toMatchObject({ code: 'BAD_STATE' });
    });
    expect(await parts.busy(key)).toBeNull();
    await expect(stat(parts.files(key).pid)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await parts.list()).toHaveLength(1);
  });

  it('a live other process with a fresh .pid file holds the part; a stale one does not', async () => {
    const key = keyFor(url, null);
    await addPart(key, 'half', { url, total: 10 });
    const other = process.ppid;
    await writeFile(parts.files(key).pid, `${other}\n`);
    expect(await parts.busy(key)).toBe(other);
    expect(await parts.list()).toEqual([]);
    await expect(parts.discard(key)).rejects.toThrow(`(by process ${other})`);
    await expect(parts.asWriter(key, 'X', () => Promise.resolve())).rejects.toThrow(
      `by another Vivarium process (pid ${other})`,
    );
    // Untouched for long: a pid a crash left behind (and the OS may have reused) locks nothing.
    const old = new Date(Date.now() - 60 * 60_000);
    await utimes(parts.files(key).pid, old, old);
    await utimes(parts.files(key).part, old, old);
    expect(await parts.busy(key)).toBeNull();
    expect(await parts.list()).toHaveLength(1);
  });
});

describe('free space', () => {
  it('refuses with DISK_FULL unless the margin is left, and says where', () => {
    const GiB = 2 ** 30;
    expect(() => assertRoom(null, 10 * GiB, 'the upload', '/cache/media')).not.toThrow();
    expect(() => assertRoom(11 * GiB, 10 * GiB, 'the upload', '/cache/media')).not.toThrow();
    expect(() => assertRoom(10 * GiB, 10 * GiB, 'the upload', '/cache/media')).toThrow(
      'Not enough free disk space for the upload: it needs 10.0 GiB and 10.0 GiB are free in /cache/media. Free some space and try again.',
    );
  });
});
