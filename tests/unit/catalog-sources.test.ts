/**
 * Every curated catalogue entry, version and media item resolves to concrete download and
 * checksum URLs, pure: the resolver a download uses (resolveMediaSource) runs against made-up
 * folder listings and checksum lists whose names are generated from the entry's own patterns
 * ({latest:REGEX}, filePattern) with a fixed seed. Nothing reaches the network; the URLs must be
 * well-formed https on the hosts the entry's project publishes from. The entries corrected against
 * upstream (Haiku, FreeDOS 1.4, KolibriOS, FreeBSD 15.0, Windows XP, AROS) are checked by name.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry, IsoInfo, MediaSpec } from '../../common/contract';
import { Catalog, loadCurated } from '../../electron/engine/catalog/catalog';
import { findChecksum, parseChecksumList } from '../../electron/engine/catalog/checksums';
import {
  resolveMediaSource,
  type ResolvedMedia,
  type TextFetcher,
} from '../../electron/engine/catalog/media-store';

/** Where each project publishes: every image, listing and checksum URL must be on these. */
const HOSTS: Record<string, string[]> = {
  almalinux: ['repo.almalinux.org'],
  alpine: ['dl-cdn.alpinelinux.org'],
  archlinux: ['geo.mirror.pkgbuild.com', 'mirrors.kernel.org', 'mirror.rackspace.com'],
  aros: ['sourceforge.net'],
  'centos-stream': ['mirror.stream.centos.org'],
  debian: ['cdimage.debian.org', 'mirrors.kernel.org', 'cloud.debian.org'],
  fedora: ['download.fedoraproject.org', 'dl.fedoraproject.org'],
  freebsd: ['download.freebsd.org'],
  freedos: ['www.ibiblio.org', 'download.freedos.org'],
  haiku: [
    'mirrors.rit.edu',
    'ftp.osuosl.org',
    'mirrors.tnonline.net',
    'mirror.aarnet.edu.au',
    'mirror.diyarciftci.xyz',
  ],
  kali: ['cdimage.kali.org', 'kali.download'],
  kolibrios: ['builds.kolibrios.org'],
  linuxmint: ['mirrors.kernel.org', 'mirrors.edge.kernel.org'],
  netbsd: ['cdn.netbsd.org', 'ftp.netbsd.org'],
  openbsd: ['cdn.openbsd.org', 'ftp.openbsd.org'],
  openindiana: ['dlc.openindiana.org'],
  reactos: ['sourceforge.net'],
  rocky: ['download.rockylinux.org', 'dl.rockylinux.org'],
  ubuntu: [
    'releases.ubuntu.com',
    'mirrors.kernel.org',
    'cloud-images.ubuntu.com',
    'cdimage.ubuntu.com',
  ],
};

const entries = loadCurated();
const entry = (id: string): CatalogEntry => entries.find((e) => e.id === id)!;

/**
 * A regex with every unescaped '.' outside a character class made a plain character: names in a
 * folder listing are file names, and '.' would let fast-check put '/' or quotes in them.
 */
function tame(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      out += c + (source[++i] ?? '');
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    out += c === '.' && !inClass ? '[a-z0-9]' : c;
  }
  return out;
}

/** A name `pattern` matches, made up from it with a fixed seed. */
function example(pattern: string): string {
  expect(pattern, 'catalogue patterns are anchored').toMatch(/^\^.*\$$/);
  const [name] = fc.sample(fc.stringMatching(new RegExp(tame(pattern))), { seed: 7, numRuns: 1 });
  expect(name).toMatch(new RegExp(pattern));
  return name!;
}

/** The {latest:REGEX} placeholders of a template (braces inside a REGEX may nest). */
function latestPatterns(template: string): string[] {
  const out: string[] = [];
  let at = template.indexOf('{latest:');
  while (at >= 0) {
    let depth = 0;
    let end = at;
    for (; end < template.length; end++) {
      if (template[end] === '{') depth++;
      else if (template[end] === '}' && --depth === 0) break;
    }
    out.push(template.slice(at + '{latest:'.length, end));
    at = template.indexOf('{latest:', end);
  }
  return out;
}

/**
 * A stand-in for the network: a URL ending in '/' is a folder listing naming every file the
 * media's patterns ask for; anything else is a checksum list with a line for each of them (a
 * SHA-256 and a SHA-512, GNU style). Records what was asked.
 */
function fakeUpstream(spec: MediaSpec): { fetch: TextFetcher; asked: string[] } {
  const names = new Set<string>();
  for (const t of [...spec.urls, ...(spec.checksum?.urls ?? [])])
    for (const p of latestPatterns(t)) names.add(example(p));
  if (spec.filePattern) names.add(example(spec.filePattern));
  if (spec.file) names.add(spec.file);
  if (spec.checksum?.name) names.add(spec.checksum.name);
  const asked: string[] = [];
  const fetch: TextFetcher = (url) => {
    asked.push(url);
    const text = url.endsWith('/')
      ? [...names].map((n) => `<a href="${encodeURIComponent(n)}">${n}</a>`).join('\n')
      : [...names].map((n) => `${'a'.repeat(64)}  ${n}\n${'b'.repeat(128)}  ${n}`).join('\n');
    return Promise.resolve({ text, url });
  };
  return { fetch, asked };
}

function expectHttpsOn(url: string, hosts: string[], what: string): URL {
  const u = new URL(url);
  expect(u.protocol, `${what}: ${url}`).toBe('https:');
  expect(hosts, `${what}: ${url}`).toContain(u.host);
  expect(url, `${what}: no placeholder left`).not.toMatch(/[{}]/);
  expect(u.pathname, `${what}: no empty path segment`).not.toMatch(/\/\//);
  return u;
}

interface Resolution {
  entry: CatalogEntry;
  version: string;
  media: MediaSpec;
  template: string;
  resolved: ResolvedMedia;
  asked: string[];
}

/** Every mirror of every downloadable media of every curated entry, resolved. */
async function resolveAll(): Promise<Resolution[]> {
  const out: Resolution[] = [];
  for (const e of entries) {
    for (const v of e.versions) {
      for (const media of v.media) {
        for (const template of media.urls) {
          const { fetch, asked } = fakeUpstream(media);
          const resolved = await resolveMediaSource(media, template, {
            signal: new AbortController().signal,
            fetchText: fetch,
          });
          out.push({ entry: e, version: v.id, media, template, resolved, asked });
        }
      }
    }
  }
  return out;
}

const all = resolveAll();
const of = async (os: string, version?: string) =>
  (await all).filter((r) => r.entry.id === os && (!version || r.version === version));

describe('every curated media resolves, pure', () => {
  it('knows the hosts of every entry that has downloads', () => {
    for (const e of entries) {
      const downloads = e.versions.some((v) => v.media.some((m) => m.urls.length > 0));
      if (downloads) expect(Object.keys(HOSTS), e.id).toContain(e.id);
    }
  });

  it('gives each mirror an https image URL, its checksum list and its listings on the project hosts', async () => {
    const results = await all;
    expect(results.length).toBeGreaterThan(60);
    for (const r of results) {
      const hosts = HOSTS[r.entry.id]!;
      const what = `${r.entry.id} ${r.version} ${r.media.id} (${r.template})`;
      expectHttpsOn(r.resolved.url, hosts, what);
      expect(r.resolved.name, what).not.toMatch(/[/\\]/);
      if (r.media.filePattern)
        expect(r.resolved.name, what).toMatch(new RegExp(r.media.filePattern));
      for (const url of r.asked) expectHttpsOn(url, hosts, `${what} asked`);
      if (r.media.checksum) {
        expect(r.resolved.checksums, what).not.toBeNull();
        expectHttpsOn(r.resolved.checksums!.url, hosts, `${what} checksums`);
      }
      if (r.media.sha256 || (r.media.checksum && r.media.archive?.format !== 'zip'))
        expect(r.resolved.expected, what).not.toBeNull();
      if (!r.media.sha256 && !r.media.checksum) expect(r.media.checksumReason, what).toBeTruthy();
    }
  });

  it('gives every version a checksum source or a stated reason, and every curated entry its sources and date', () => {
    for (const e of entries) {
      if (e.versions.length === 0) continue;
      expect(e.sources.length, e.id).toBeGreaterThan(0);
      for (const s of e.sources) expect(new URL(s.url).protocol, e.id).toBe('https:');
      expect(e.checked, e.id).toMatch(/^20\d\d-\d\d-\d\d$/);
    }
  });
});

describe('the entries corrected against upstream', () => {
  it('Haiku: the official mirrors with the SHA-256 given inline, no cdn.haiku-os.org', async () => {
    const haiku = entry('haiku');
    expect(haiku.versions.map((v) => v.id).slice(0, 2)).toEqual(['r1beta6', 'r1beta5']);
    for (const v of haiku.versions.filter((x) => x.media.length)) {
      for (const m of v.media) {
        expect(m.sha256).toMatch(/^[a-f0-9]{64}$/);
        expect(m.checksum).toBeUndefined();
        for (const u of m.urls) expect(u).not.toMatch(/cdn\.haiku-os\.org/);
      }
    }
    const beta5 = (await of('haiku', 'r1beta5')).map((r) => new URL(r.resolved.url).host);
    expect(beta5).toEqual(
      expect.arrayContaining([
        'mirrors.rit.edu',
        'ftp.osuosl.org',
        'mirrors.tnonline.net',
        'mirror.aarnet.edu.au',
      ]),
    );
    expect(haiku.versions.find((v) => v.id === 'r1beta5')!.media[0]!.sha256).toBe(
      '22ae312a38e98083718b6984186e753d15806bd6ea44542144fdcef42c4dcb69',
    );
  });

  it('FreeDOS 1.4: no /official/ in the path, checked against verify.txt beside the image', async () => {
    const rs = await of('freedos', '1.4');
    expect(rs.length).toBeGreaterThan(0);
    for (const r of rs) {
      expect(r.resolved.url).not.toMatch(/\/official\//);
      expect(r.media.checksum).toBeDefined();
      expect(r.resolved.checksums!.url).toBe(r.resolved.dir + 'verify.txt');
    }
    expect(rs[0]!.resolved.url).toBe(
      'https://www.ibiblio.org/pub/micro/pc-stuff/freedos/files/distributions/1.4/FD14-LiveCD.zip',
    );
  });

  it("FreeDOS's verify.txt sections are read: the SHA-256 line of the archive is found", () => {
    const verify = [
      'FreeDOS 1.4 verification',
      '',
      'md5sum',
      '0123456789abcdef0123456789abcdef  FD14-LiveCD.zip',
      '',
      'sha256sum',
      `${'2'.repeat(64)}  FD14-BonusCD.zip`,
      `${'3'.repeat(64)}  FD14-LiveCD.zip`,
      '',
      'sha512sum',
      `${'5'.repeat(128)}  FD14-LiveCD.zip`,
    ].join('\n');
    const lines = parseChecksumList(verify);
    expect(findChecksum(lines, 'FD14-LiveCD.zip', 'sha256')).toBe('3'.repeat(64));
    expect(findChecksum(lines, 'FD14-LiveCD.zip', 'sha512')).toBe('5'.repeat(128));
  });

  it('KolibriOS: en_US/ (not the obsolete eng/) and en_US/sha256sums.txt', async () => {
    const rs = await of('kolibrios');
    expect(rs.length).toBeGreaterThan(0);
    for (const r of rs) {
      expect(r.template).not.toMatch(/\/eng\//);
      expect(r.resolved.url).toBe('https://builds.kolibrios.org/en_US/latest-iso.7z');
      expect(r.resolved.checksums!.url).toBe('https://builds.kolibrios.org/en_US/sha256sums.txt');
      expect(r.resolved.expected).not.toBeNull();
    }
  });

  it('FreeBSD 15.0: the flat releases/ISO-IMAGES/15.0/ location comes first', async () => {
    const disc1 = (await of('freebsd', '15.0')).filter((r) => r.media.id === 'disc1');
    expect(disc1[0]!.resolved.url).toBe(
      'https://download.freebsd.org/releases/ISO-IMAGES/15.0/FreeBSD-15.0-RELEASE-amd64-disc1.iso',
    );
    expect(disc1[0]!.resolved.checksums!.url).toBe(
      'https://download.freebsd.org/releases/ISO-IMAGES/15.0/CHECKSUM.SHA256-FreeBSD-15.0-RELEASE-amd64',
    );
    const flat = (await of('freebsd', '15.1')).find((r) => r.media.id === 'disc1');
    expect(flat!.resolved.url).toBe(
      'https://download.freebsd.org/releases/ISO-IMAGES/15.1/FreeBSD-15.1-RELEASE-amd64-disc1.iso',
    );
  });

  it('Windows XP: every volume id osinfo-db lists is recognised, x64 included', () => {
    const catalog = Catalog.build(entries, [], null);
    const disc = (volumeId: string): IsoInfo => ({
      volumeId,
      jolietVolumeId: null,
      systemId: '',
      volumeSetId: '',
      publisher: 'MICROSOFT CORPORATION',
      preparer: '',
      application: '',
      created: null,
      volumeBytes: 0,
      elTorito: { bios: true, uefi: false, entries: 1 },
      architectures: [],
      archEvidence: [],
    });
    const i686 = ['GRTMUPD_EN', 'XRMSD2_EN', 'VRMSD2_EN', 'MRMSD2_EN', 'MX2PFPP_EN', 'WXPFPP_EN'];
    const x64 = ['ARMPXFPP_EN', 'ARMPXVOL_EN', 'AX2PXCFPP_EN', 'AX2PXFPP_EN'];
    for (const id of i686)
      expect(catalog.detect(disc(id))[0], id).toMatchObject({ os: 'windows-xp', arch: 'i686' });
    for (const id of x64)
      expect(catalog.detect(disc(id))[0], id).toMatchObject({ os: 'windows-xp', arch: 'x86_64' });
  });

  it('AROS: nightly rebuilds named -YYYYMMDD-N- are found, in dated folders that may carry -N too', async () => {
    const m = entry('aros').versions[0]!.media[0]!;
    const file = new RegExp(m.filePattern!);
    expect(file.test('AROS-20261205-pc-i386-boot-iso.zip')).toBe(true);
    expect(file.test('AROS-20261205-2-pc-i386-boot-iso.zip')).toBe(true);
    expect(file.test('AROS-20261205-2-pc-x86_64-boot-iso.zip')).toBe(false);
    const folder = new RegExp(latestPatterns(m.urls[0]!)[0]!);
    expect(folder.test('20261205')).toBe(true);
    expect(folder.test('20261205-1')).toBe(true);
    const [r] = await of('aros');
    expect(r!.resolved.url).toMatch(
      /^https:\/\/sourceforge\.net\/projects\/aros\/files\/nightly2\/\d{8}(-\d+)?\/Binaries\/AROS-\d{8}(-\d+)?-pc-i386-boot-iso\.zip\/download$/,
    );
  });

  it('moves versions forward and keeps the previous one', () => {
    const ids = (os: string) => entry(os).versions.map((v) => v.id);
    expect(ids('alpine').slice(0, 2)).toEqual(['3.24', '3.23']);
    expect(ids('linuxmint').slice(0, 2)).toEqual(['22.3', '22.2']);
    expect(ids('fedora').slice(0, 2)).toEqual(['44', '43']);
    expect(ids('openbsd').slice(0, 2)).toEqual(['7.9', '7.8']);
    expect(ids('haiku').slice(0, 2)).toEqual(['r1beta6', 'r1beta5']);
    expect(ids('freebsd').slice(0, 4)).toEqual(['15.1', '15.0', '14.4', '14.3']);
  });
});

describe('cloud images', () => {
  const CLOUD: Record<string, { user: string; agent: string; format: string }> = {
    debian: { user: 'debian', agent: 'cloud-init', format: 'qcow2' },
    ubuntu: { user: 'ubuntu', agent: 'cloud-init', format: 'qcow2' },
    fedora: { user: 'fedora', agent: 'cloud-init', format: 'qcow2' },
    almalinux: { user: 'almalinux', agent: 'cloud-init', format: 'qcow2' },
    rocky: { user: 'rocky', agent: 'cloud-init', format: 'qcow2' },
    alpine: { user: 'alpine', agent: 'cloud-init', format: 'qcow2' },
    freebsd: { user: 'freebsd', agent: 'nuageinit', format: 'qcow2' },
  };

  it('are offered by the entries that publish them, with a checksum list each', async () => {
    for (const [os, want] of Object.entries(CLOUD)) {
      const cloud = (await of(os)).filter((r) => r.media.kind === 'cloud');
      expect(cloud.length, os).toBeGreaterThan(0);
      for (const r of cloud) {
        expect(r.media.checksum, os).toBeDefined();
        expect(r.resolved.expected, os).not.toBeNull();
      }
      const first = cloud[0]!.media;
      expect(first, os).toMatchObject({
        defaultUser: want.user,
        cloudInit: want.agent,
        diskFormat: want.format,
      });
    }
    const alpineTiny = (await of('alpine')).find((r) => r.media.cloudInit === 'tiny-cloud');
    expect(alpineTiny?.resolved.name).toMatch(/-tiny-r\d+\.qcow2$/);
  });

  it("FreeBSD's BASIC-CLOUDINIT image is an xz download checked before it is unpacked", async () => {
    const [r] = (await of('freebsd', '15.0')).filter((x) => x.media.kind === 'cloud');
    expect(r!.media.archive).toEqual({ format: 'xz' });
    expect(r!.resolved.url).toBe(
      'https://download.freebsd.org/releases/VM-IMAGES/15.0-RELEASE/amd64/Latest/FreeBSD-15.0-RELEASE-amd64-BASIC-CLOUDINIT-ufs.qcow2.xz',
    );
    expect(r!.resolved.checksums!.url).toBe(
      'https://download.freebsd.org/releases/VM-IMAGES/15.0-RELEASE/amd64/Latest/CHECKSUM.SHA256',
    );
  });

  it('come after the install media, so a plain download still gets an installer', () => {
    for (const e of entries) {
      for (const v of e.versions) {
        const kinds = v.media.map((m) => m.kind);
        const firstCloud = kinds.indexOf('cloud');
        if (firstCloud >= 0) expect(kinds.slice(firstCloud).every((k) => k === 'cloud')).toBe(true);
      }
    }
  });
});
