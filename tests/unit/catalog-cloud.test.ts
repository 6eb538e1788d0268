/**
 * Cloud images in the catalogue: the schema's rules for kind 'cloud' (disk format and first-boot
 * agent required, xz only for cloud images), `cloudMediaOf` (which images a "Ready to use" VM can
 * start from, the first the default; `Catalog.cloudMediaFor` from a reference) and the summary's
 * `cloudReady`.
 */
import { describe, expect, it } from 'vitest';
import {
  Catalog,
  cloudMediaOf,
  loadCurated,
  summarize,
} from '../../electron/engine/catalog/catalog';
import { MediaSpecSchema } from '../../electron/engine/catalog/schema';

const entries = loadCurated();
const entry = (id: string) => entries.find((e) => e.id === id)!;

const cloud = {
  id: 'genericcloud',
  label: 'Cloud image',
  arch: 'x86_64',
  kind: 'cloud',
  urls: ['https://cloud.example.org/{file}'],
  file: 'example.qcow2',
  checksum: { urls: ['SHA256SUMS'], algorithm: 'sha256' },
  diskFormat: 'qcow2',
  cloudInit: 'cloud-init',
  defaultUser: 'example',
};

describe('the schema of cloud media', () => {
  it('takes a cloud image with its disk format and agent, and xz for it', () => {
    expect(MediaSpecSchema.safeParse(cloud).success).toBe(true);
    const xz = { ...cloud, file: 'example.qcow2.xz', archive: { format: 'xz' } };
    expect(MediaSpecSchema.parse(xz).archive).toEqual({ format: 'xz' });
  });

  it('refuses a cloud image that does not say its format or agent', () => {
    const { diskFormat: _f, ...noFormat } = cloud;
    const { cloudInit: _a, ...noAgent } = cloud;
    expect(MediaSpecSchema.safeParse(noFormat).success).toBe(false);
    expect(MediaSpecSchema.safeParse(noAgent).success).toBe(false);
    expect(MediaSpecSchema.safeParse({ ...cloud, cloudInit: 'ignition' }).success).toBe(false);
    expect(MediaSpecSchema.safeParse({ ...cloud, diskFormat: 'vmdk' }).success).toBe(false);
  });

  it('keeps cloud fields and xz off install media', () => {
    const iso = { ...cloud, kind: 'installer', file: 'x.iso' };
    expect(MediaSpecSchema.safeParse(iso).success).toBe(false);
    const { diskFormat: _f, cloudInit: _a, defaultUser: _u, ...plain } = iso;
    expect(MediaSpecSchema.safeParse(plain).success).toBe(true);
    expect(MediaSpecSchema.safeParse({ ...plain, archive: { format: 'xz' } }).success).toBe(false);
    expect(
      MediaSpecSchema.safeParse({ ...plain, archive: { format: 'zip', member: '\\.iso$' } })
        .success,
    ).toBe(true);
  });
});

describe('cloudMediaOf', () => {
  it("gives the default version's cloud images, the first being the default", () => {
    const [first, ...rest] = cloudMediaOf(entry('debian'));
    expect(first!.version.id).toBe('13');
    expect(first!.media).toMatchObject({ id: 'genericcloud', kind: 'cloud', diskFormat: 'qcow2' });
    // The other architectures' images come after the x86_64 one.
    expect(rest.map((c) => c.media.id)).toEqual(['genericcloud-arm64']);
    const alpine = cloudMediaOf(entry('alpine'), undefined, 'x86_64').map((c) => c.media.cloudInit);
    expect(alpine).toEqual(['cloud-init', 'tiny-cloud']);
  });

  it('gives the images of one architecture when asked', () => {
    const arm = cloudMediaOf(entry('debian'), undefined, 'aarch64');
    expect(arm.map((c) => [c.version.id, c.media.file])).toEqual([
      ['13', 'debian-13-genericcloud-arm64.qcow2'],
    ]);
    expect(cloudMediaOf(entry('ubuntu'), '24.04', 'aarch64')[0]!.media.file).toBe(
      'ubuntu-24.04-server-cloudimg-arm64.img',
    );
    expect(cloudMediaOf(entry('fedora'), undefined, 'aarch64')[0]!.media.filePattern).toMatch(
      /aarch64/,
    );
    expect(cloudMediaOf(entry('debian'), undefined, 's390x')).toEqual([]);
  });

  it('takes a version by id, codename or loose form', () => {
    expect(cloudMediaOf(entry('debian'), '12')[0]!.media.file).toBe(
      'debian-12-genericcloud-amd64.qcow2',
    );
    expect(cloudMediaOf(entry('debian'), 'bookworm')[0]!.version.id).toBe('12');
    expect(cloudMediaOf(entry('ubuntu'), '24.04')[0]!.media.file).toBe(
      'ubuntu-24.04-server-cloudimg-amd64.img',
    );
    expect(cloudMediaOf(entry('freebsd'), '14.4')[0]!.media.archive).toEqual({ format: 'xz' });
  });

  it('is empty for entries, versions and unknown versions without cloud images', () => {
    expect(cloudMediaOf(entry('windows-11'))).toEqual([]);
    expect(cloudMediaOf(entry('haiku'))).toEqual([]);
    expect(cloudMediaOf(entry('debian'), '99')).toEqual([]);
    expect(cloudMediaOf(entry('fedora'), '42')).toEqual([]);
  });
});

describe('the summary', () => {
  it('says which entries are ready to use, and keeps downloadable about install media', () => {
    const ready = entries.filter((e) => summarize(e).cloudReady).map((e) => e.id);
    expect(ready.sort()).toEqual([
      'almalinux',
      'alpine',
      'debian',
      'fedora',
      'freebsd',
      'rocky',
      'ubuntu',
    ]);
    expect(summarize(entry('debian')).downloadable).toBe(true);
    const cloudOnly = {
      ...entry('debian'),
      versions: entry('debian').versions.map((v) => ({
        ...v,
        media: v.media.filter((m) => m.kind === 'cloud'),
      })),
    };
    expect(summarize(cloudOnly)).toMatchObject({ downloadable: false, cloudReady: true });
  });
});

describe('Catalog.cloudMediaFor', () => {
  const catalog = Catalog.build(entries, [], null);

  it('resolves a reference with or without its version', () => {
    expect(catalog.cloudMediaFor('debian')[0]!.version.id).toBe('13');
    expect(catalog.cloudMediaFor('debian-12')[0]!.version.id).toBe('12');
    expect(catalog.cloudMediaFor('ubuntu', '24.04')[0]!.media.id).toBe('cloudimg');
    expect(catalog.cloudMediaFor('freebsd')[0]!.media).toMatchObject({
      cloudInit: 'nuageinit',
      archive: { format: 'xz' },
    });
    expect(catalog.cloudMediaFor('no-such-os')).toEqual([]);
    expect(catalog.cloudMediaFor('windows-11')).toEqual([]);
  });
});
