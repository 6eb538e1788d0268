/**
 * The seed volume read back by xorriso (libisofs, an independent reader) through each of its three
 * trees, and by the engine's own descriptor parser.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseVolumeDescriptors, SECTOR } from '../../electron/engine/catalog/iso9660';
import { buildSeedIso, type SeedFile } from '../../electron/engine/cloud-init/seed-iso';

const work = mkdtempSync(join(tmpdir(), 'seed-iso-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

type Tree = 'any' | 'norock' | 'ecma119';
let runs = 0;

/** Extracts the image with xorriso reading the given tree; returns name -> bytes. */
function extract(image: Buffer, tree: Tree = 'any'): Map<string, Buffer> {
  const dir = join(work, `run-${String(runs++)}`);
  const iso = `${dir}.iso`;
  writeFileSync(iso, image);
  execFileSync(
    'xorriso',
    ['-read_fs', tree, '-indev', iso, '-osirrox', 'on', '-extract', '/', dir],
    { stdio: 'pipe' },
  );
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) out.set(name, readFileSync(join(dir, name)));
  rmSync(dir, { recursive: true, force: true });
  rmSync(iso);
  return out;
}

function asMap(files: SeedFile[]): Map<string, Buffer> {
  return new Map(
    files.map((f) => [f.name, typeof f.data === 'string' ? Buffer.from(f.data) : f.data]),
  );
}

const nocloud: SeedFile[] = [
  { name: 'user-data', data: '#cloud-config\nhostname: box\n' },
  { name: 'meta-data', data: 'instance-id: i-1\nlocal-hostname: box\n' },
  { name: 'network-config', data: 'version: 2\n' },
  { name: 'vendor-data', data: '' },
];

describe('buildSeedIso', () => {
  it('reads back exact lower-case names with dashes through Rock Ridge and through Joliet', () => {
    const image = buildSeedIso(nocloud);
    expect(extract(image, 'any')).toEqual(asMap(nocloud));
    expect(extract(image, 'norock')).toEqual(asMap(nocloud));
  });

  it('has primary names in d-characters (what a reader without extensions sees)', () => {
    const names = [...extract(buildSeedIso(nocloud), 'ecma119').keys()].sort();
    expect(names).toEqual(['META_DATA', 'NETWORK_CONFIG', 'USER_DATA', 'VENDOR_DATA']);
  });

  it('labels the volume cidata in the primary and the Joliet descriptors', () => {
    const image = buildSeedIso(nocloud);
    const vd = parseVolumeDescriptors(image.subarray(16 * SECTOR));
    expect(vd.primary?.volumeId).toBe('cidata');
    expect(vd.jolietVolumeId).toBe('cidata');
    expect(vd.primary?.volumeBytes).toBe(image.length);
    expect(image.length % SECTOR).toBe(0);
    const iso = join(work, 'label.iso');
    writeFileSync(iso, image);
    const listing = execFileSync('xorriso', ['-indev', iso, '-toc'], { stdio: 'pipe' }).toString();
    expect(listing).toMatch(/^ISO session .*, cidata$/m);
  });

  it('takes another volume id', () => {
    const vd = parseVolumeDescriptors(buildSeedIso(nocloud, 'CIDATA').subarray(16 * SECTOR));
    expect(vd.primary?.volumeId).toBe('CIDATA');
  });

  it('is the same bytes for the same input and date', () => {
    const date = new Date('2026-05-01T12:00:00Z');
    expect(buildSeedIso(nocloud, 'cidata', { date })).toEqual(
      buildSeedIso(nocloud, 'cidata', { date }),
    );
  });

  it('refuses names a reader could mangle, duplicates and bad volume ids', () => {
    expect(() => buildSeedIso([{ name: 'a/b', data: '' }])).toThrow(/letters, digits/);
    expect(() => buildSeedIso([{ name: 'x'.repeat(65), data: '' }])).toThrow(/1-64/);
    expect(() =>
      buildSeedIso([
        { name: 'a', data: '' },
        { name: 'a', data: '' },
      ]),
    ).toThrow(/twice/);
    expect(() => buildSeedIso([], 'ci data')).toThrow(/Volume id/);
  });

  it('keeps primary names apart when upper-casing makes them collide', () => {
    const files: SeedFile[] = [
      { name: 'user-data', data: 'a' },
      { name: 'user_data', data: 'b' },
      { name: 'USER-DATA', data: 'c' },
    ];
    expect(extract(buildSeedIso(files))).toEqual(asMap(files));
    expect(extract(buildSeedIso(files), 'ecma119').size).toBe(3);
  });

  it('holds any contents and sizes, across sector boundaries and multi-sector directories', () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,40}$/);
    const data = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 64 }),
      fc.uint8Array({ minLength: SECTOR - 2, maxLength: SECTOR + 2 }),
      fc.uint8Array({ minLength: 0, maxLength: 3 * SECTOR + 100 }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ name, data }), {
          minLength: 0,
          maxLength: 40,
          selector: (f) => f.name,
        }),
        (entries) => {
          const files = entries.map((e) => ({ name: e.name, data: Buffer.from(e.data) }));
          const image = buildSeedIso(files);
          expect(extract(image, 'any')).toEqual(asMap(files));
          expect(extract(image, 'norock')).toEqual(asMap(files));
        },
      ),
      { numRuns: 30 },
    );
  });
});
