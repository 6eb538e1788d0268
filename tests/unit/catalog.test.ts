/**
 * The guest-OS catalogue: curated data validated, osinfo-db parsed and merged, lookups, ISO
 * detection on descriptor facts, profiles applied to hosts, checksum lists, folder listings and
 * zip extraction. Pure code; osinfo-db tests read /usr/share/osinfo (Debian's osinfo-db, in CI).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostInfo, IsoInfo } from '../../common/contract';
import {
  Catalog,
  loadCurated,
  loadExtraFiles,
  looseVersion,
  normalizeVersion,
  summarize,
} from '../../electron/engine/catalog/catalog';
import { findChecksum, parseChecksumList } from '../../electron/engine/catalog/checksums';
import { CURATED_FILES, LOGOS } from '../../electron/engine/catalog/curated';
import { listingNames, pickLatest } from '../../electron/engine/catalog/http';
import { extractZipMember, listZip } from '../../electron/engine/catalog/archive';
import {
  parseBootCatalog,
  parseDecDateTime,
  parseVolumeDescriptors,
  summarizeElTorito,
  SECTOR,
} from '../../electron/engine/catalog/iso9660';
import {
  parseOsinfoXml,
  readOsinfoDb,
  resolveInheritance,
  type OsinfoOs,
} from '../../electron/engine/catalog/osinfo';
import {
  applyCreateDefaults,
  profileToCreateDefaults,
} from '../../electron/engine/catalog/profile';

const ROOT = join(import.meta.dirname, '..', '..');
const OSINFO_DIR = '/usr/share/osinfo';
const HAVE_OSINFO = existsSync(join(OSINFO_DIR, 'os'));
if (!HAVE_OSINFO)
  console.warn('osinfo-db tests skipped: /usr/share/osinfo is missing (apt install osinfo-db)');

function host(overrides: Partial<HostInfo> = {}): HostInfo {
  return {
    platform: 'linux',
    arch: 'x64',
    cpus: 8,
    totalMemoryMiB: 32768,
    freeDiskBytes: 500 * 2 ** 30,
    dataDir: '/tmp/v',
    qemu: { binaries: [], img: null },
    qemuMissing: null,
    accelerators: [],
    bestAccelerator: 'tcg',
    notices: [],
    firmware: {
      seabios: '/usr/share/seabios/bios-256k.bin',
      ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      ovmfVars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
    },
    ...overrides,
  };
}

function iso(volumeId: string, more: Partial<IsoInfo> = {}): IsoInfo {
  return {
    volumeId,
    jolietVolumeId: null,
    systemId: '',
    volumeSetId: '',
    publisher: '',
    preparer: '',
    application: '',
    created: null,
    volumeBytes: 0,
    elTorito: { bios: true, uefi: true, entries: 2 },
    architectures: [],
    archEvidence: [],
    ...more,
  };
}

let osinfo: OsinfoOs[] | null = null;
let curatedOnly: Catalog;
let full: Catalog;

beforeAll(async () => {
  osinfo = HAVE_OSINFO ? await readOsinfoDb(OSINFO_DIR) : null;
  curatedOnly = Catalog.build(loadCurated(), [], null);
  full = Catalog.build(loadCurated(), [], osinfo);
});

describe('curated catalogue', () => {
  const REQUIRED = [
    'windows-11',
    'windows-10',
    'windows-xp',
    'debian',
    'ubuntu',
    'fedora',
    'centos-stream',
    'almalinux',
    'rocky',
    'linuxmint',
    'kali',
    'archlinux',
    'alpine',
    'freedos',
    'reactos',
    'haiku',
    'aros',
    'kolibrios',
    'freebsd',
    'openbsd',
    'netbsd',
    'openindiana',
    'generic',
  ];

  it('lists every file in assets/catalog, and every file validates', () => {
    const files = readdirSync(join(ROOT, 'assets/catalog'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
    expect(Object.keys(CURATED_FILES).sort()).toEqual(files);
    const entries = loadCurated();
    expect(entries.map((e) => e.id).sort()).toEqual(files);
  });

  it('has the entries the issue asks for, an older 32-bit Windows among them', () => {
    const ids = new Set(loadCurated().map((e) => e.id));
    for (const id of REQUIRED) expect(ids, id).toContain(id);
    const xp = loadCurated().find((e) => e.id === 'windows-xp')!;
    expect(xp.architectures).toEqual(['i686', 'x86_64']);
  });

  it('gives every entry a logo file, notes, and resources with minimum <= recommended', () => {
    const logos = new Set(
      readdirSync(join(ROOT, 'assets/logos')).map((f) => f.replace(/\.svg$/, '')),
    );
    for (const e of loadCurated()) {
      expect(logos, `${e.id} logo`).toContain(e.logo);
      expect(e.logoSvg).toContain('<svg');
      expect(e.notes.length, `${e.id} notes`).toBeGreaterThan(0);
      expect(e.resources.recommended.memoryMiB).toBeGreaterThanOrEqual(
        e.resources.minimum.memoryMiB,
      );
    }
    expect(Object.keys(LOGOS).sort()).toEqual([...logos].sort());
  });

  it('gives every entry but Generic media, each with a checksum source or a stated reason', () => {
    for (const e of loadCurated()) {
      if (e.id === 'generic') continue;
      const media = e.versions.flatMap((v) => v.media);
      expect(media.length, `${e.id} has media`).toBeGreaterThan(0);
      for (const m of media) {
        const sources = [m.sha256, m.checksum, m.checksumReason].filter((x) => x !== undefined);
        expect(sources.length, `${e.id}/${m.id}`).toBe(1);
        if (m.sha256) expect(m.sha256).toMatch(/^[a-f0-9]{64}$/);
        if (m.checksum) expect(m.checksum.urls.length).toBeGreaterThan(0);
        for (const u of m.urls) expect(u).toMatch(/^https:\/\//);
        if (m.urls.length === 0)
          expect(m.page ?? m.checksumReason, `${e.id}/${m.id} says where to get it`).toBeTruthy();
      }
    }
  });

  it('knows current releases', () => {
    const versions = (id: string) => curatedOnly.get(id)!.versions.map((v) => v.id);
    expect(versions('debian')).toEqual(expect.arrayContaining(['13', '12']));
    expect(versions('ubuntu')).toEqual(expect.arrayContaining(['26.04', '24.04']));
    expect(versions('fedora')).toEqual(expect.arrayContaining(['44', '43', '42', '41']));
  });

  it('rejects an extra file that does not validate, naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'viv-cat-'));
    try {
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ id: 'x', name: 'X' }));
      await expect(loadExtraFiles([bad])).rejects.toThrow(/bad\.json is invalid: vendor/);
      const good = join(dir, 'good.json');
      const entry = { ...(CURATED_FILES['alpine'] as object), id: 'my-alpine', name: 'My Alpine' };
      await writeFile(good, JSON.stringify([entry]));
      const extra = await loadExtraFiles([good]);
      expect(extra[0]).toMatchObject({ id: 'my-alpine', source: 'extra' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('osinfo-db', () => {
  it('parses an os element: names without xml:lang, media, resources, firmware', () => {
    const [os] = parseOsinfoXml(`<?xml version="1.0"?>
      <libosinfo version="0.0.1"><os id="http://example.org/demo/2">
        <short-id>demo2</short-id><name>Demo 2</name><name xml:lang="de">Demo Zwei</name>
        <version>2</version><vendor>Demo &amp; Co</vendor><family>linux</family><distro>demo</distro>
        <derives-from id="http://example.org/demo/1"/>
        <firmware arch="x86_64" type="efi"/><firmware arch="x86_64" type="bios" supported="false"/>
        <media arch="x86_64"><iso><volume-id>DEMO_2_X64</volume-id><publisher-id>DEMO</publisher-id></iso></media>
        <media arch="aarch64"><iso><volume-id>DEMO_2_ARM</volume-id></iso></media>
        <resources arch="all"><minimum><n-cpus>1</n-cpus><ram>536870912</ram><storage>2147483648</storage></minimum></resources>
        <devices><device id="http://pcisig.com/pci/1af4/1041"/></devices>
      </os></libosinfo>`);
    expect(os).toMatchObject({
      id: 'http://example.org/demo/2',
      shortIds: ['demo2'],
      name: 'Demo 2',
      vendor: 'Demo & Co',
      minimum: { memoryMiB: 512, cpus: 1, diskGiB: 2 },
      media: [{ arch: 'x86_64', volumeId: 'DEMO_2_X64', publisherId: 'DEMO' }],
      devices: ['http://pcisig.com/pci/1af4/1041'],
      efi: true,
      biosUnsupported: true,
      derivesFrom: 'http://example.org/demo/1',
    });
    const [parent] =
      parseOsinfoXml(`<libosinfo><os id="http://example.org/demo/1"><name>Demo 1</name>
      <resources arch="x86_64"><recommended><ram>1073741824</ram></recommended></resources></os></libosinfo>`);
    const resolved = resolveInheritance([os!, parent!]);
    expect(resolved[0]!.recommended).toEqual({ memoryMiB: 1024 });
  });

  it.skipIf(!HAVE_OSINFO)('reads Haiku and FreeDOS with their minimum resources', () => {
    const haiku = osinfo!.find((o) => o.shortIds.includes('haikur1beta3'));
    expect(haiku).toMatchObject({
      family: 'haiku',
      minimum: { memoryMiB: 512, cpus: 1, diskGiB: 2 },
    });
    expect(haiku!.recommended).toMatchObject({ memoryMiB: 1024, diskGiB: 4 });
    expect(haiku!.media.map((m) => m.volumeId)).toContain('haiku-r1~beta3-x86_64');
    const freedos = osinfo!.find((o) => o.shortIds.includes('freedos1.2'));
    expect(freedos).toMatchObject({
      distro: 'freedos',
      minimum: { memoryMiB: 32, cpus: 1, diskGiB: 0.2 },
    });
    expect(freedos!.recommended).toMatchObject({ memoryMiB: 64 });
    expect(freedos!.media.map((m) => m.volumeId)).toEqual(['FD-SETUP', 'FDI-CD']);
    expect(osinfo!.length).toBeGreaterThan(300);
  });

  it.skipIf(!HAVE_OSINFO)(
    'joins claimed OSes to curated entries and adds the rest as entries of their own',
    () => {
      const haiku = full.get('haiku')!;
      expect(haiku.source).toBe('curated');
      expect(haiku.versions[0]!.id).toBe('r1beta6');
      expect(haiku.versions.map((v) => v.id)).toContain('r1beta3');
      expect(haiku.aliases).toContain('haikur1beta3');
      // Curated resources win over osinfo's.
      expect(haiku.resources.recommended.memoryMiB).toBe(2048);
      expect(full.get('freedos')!.versions.map((v) => v.id)).toEqual(
        expect.arrayContaining(['1.4', '1.3', '1.2']),
      );

      const ids = full.entries.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      const suse = full.entries.find((e) => e.source === 'osinfo' && /opensuse/i.test(e.id));
      expect(suse).toBeDefined();
      expect(suse!.resources.minimum.memoryMiB).toBeGreaterThan(0);
      expect(suse!.detect.length).toBeGreaterThan(0);
      // No osinfo entry duplicates a curated one.
      expect(full.entries.filter((e) => e.source === 'osinfo').map((e) => e.id)).not.toContain(
        'debian',
      );
      const list = full.list({ includeOsinfo: true });
      expect(list.at(-1)!.id).toBe('generic');
      expect(list.findIndex((e) => e.source === 'osinfo')).toBeGreaterThan(
        list.findIndex((e) => e.id === 'windows-11'),
      );
      expect(summarize(full.get('debian')!)).toMatchObject({
        latest: { id: '13' },
        downloadable: true,
      });
    },
  );
});

describe('lookups', () => {
  it('resolves ids, aliases, osinfo short ids and id+version forms', () => {
    const r = (ref: string, cat = curatedOnly) => {
      const x = cat.resolve(ref);
      return x ? `${x.entry.id}${x.version ? `@${x.version.id}` : ''}` : null;
    };
    expect(r('debian')).toBe('debian');
    expect(r('Debian')).toBe('debian');
    expect(r('debian-12')).toBe('debian@12');
    expect(r('debian12')).toBe('debian@12');
    expect(r('debian@13')).toBe('debian@13');
    expect(r('debian-bookworm')).toBe('debian@12');
    expect(r('ubuntu-24.04')).toBe('ubuntu@24.04');
    expect(r('win11')).toBe('windows-11');
    expect(r('windows-11')).toBe('windows-11');
    expect(r('mint')).toBe('linuxmint');
    expect(r('debian-99')).toBeNull();
    expect(r('nosuchos')).toBeNull();
    if (HAVE_OSINFO) {
      expect(r('debian11', full)).toBe('debian@11');
      expect(r('win7', full)).toBe('windows-7@7');
      expect(r('haikur1beta3', full)).toBe('haiku@r1beta3');
    }
    expect(() => curatedOnly.require('debain')).toThrow(/not in the OS catalogue/);
    expect(() => curatedOnly.require('debian', '99')).toThrow(/no version "99"/);
  });

  it('searches names, aliases and versions, and filters by family', () => {
    expect(curatedOnly.list({ query: 'bookworm' }).map((e) => e.id)).toEqual(['debian']);
    expect(
      curatedOnly
        .list({ query: 'enterprise rebuild' })
        .map((e) => e.id)
        .sort(),
    ).toEqual(['almalinux', 'rocky']);
    expect(curatedOnly.list({ query: 'zzzz' })).toEqual([]);
    expect(
      curatedOnly
        .list({ family: 'bsd' })
        .map((e) => e.id)
        .sort(),
    ).toEqual(['freebsd', 'netbsd', 'openbsd']);
    expect(curatedOnly.list({ family: 'windows' })).toHaveLength(4);
  });

  it('normalizes versions', () => {
    expect(normalizeVersion('11.0')).toBe('11');
    expect(normalizeVersion('14_3')).toBe(normalizeVersion('14.3'));
    expect(normalizeVersion('1.1')).not.toBe(normalizeVersion('11'));
    expect(looseVersion('R1~Beta5')).toBe(looseVersion('r1beta5'));
  });
});

describe('detection', () => {
  const best = (info: IsoInfo | null, cat = curatedOnly) => {
    const c = cat.detect(info)[0]!;
    return `${c.os}${c.version ? `@${c.version}` : ''}:${c.confidence}`;
  };

  it('knows current releases by their volume ids', () => {
    expect(best(iso('Debian 12.8.0 amd64 n'))).toBe('debian@12:exact');
    expect(best(iso('Debian 13.2.0 amd64 1'))).toBe('debian@13:exact');
    expect(best(iso('d-live 13.1.0 gn amd64'))).toBe('debian@13:exact');
    expect(best(iso('Ubuntu 24.04.3 LTS amd64'))).toBe('ubuntu@24.04:exact');
    expect(best(iso('Ubuntu-Server 26.04 LTS amd64'))).toBe('ubuntu@26.04:exact');
    expect(best(iso('Fedora-WS-Live-42-1-1'))).toBe('fedora@42:exact');
    expect(best(iso('Fedora-S-dvd-x86_64-43'))).toBe('fedora@43:exact');
    expect(best(iso('CentOS-Stream-10-BaseOS-x86_64'))).toBe('centos-stream@10:exact');
    expect(best(iso('AlmaLinux-9-5-x86_64-dvd'))).toBe('almalinux@9:exact');
    expect(best(iso('Rocky-10-0-x86_64-dvd'))).toBe('rocky@10:exact');
    expect(best(iso('Linux Mint 22.2 Cinnamon 64-bit'))).toBe('linuxmint@22.2:exact');
    expect(best(iso('ARCH_202511'))).toBe('archlinux@rolling:exact');
    expect(best(iso('alpine-virt 3.23.2 x86_64'))).toBe('alpine@3.23:exact');
    expect(best(iso('14_3_RELEASE_AMD64_CD'))).toBe('freebsd@14.3:exact');
    expect(best(iso('OpenBSD/amd64   7.8 Install CD'))).toBe('openbsd@7.8:exact');
    expect(best(iso('NETBSD_101'))).toBe('netbsd@10.1:exact');
    expect(best(iso('haiku-r1~beta5-x86_64'))).toBe('haiku@r1beta5:exact');
    expect(best(iso('FD14-LIVE'))).toBe('freedos@1.4:exact');
    expect(best(iso('ReactOS'))).toBe('reactos:family');
    expect(best(iso('KolibriOS'))).toBe('kolibrios:family');
  });

  it('names an unknown version of a known OS as a family match, with the version', () => {
    const [c] = curatedOnly.detect(iso('Debian 14.0.0 amd64 n'));
    expect(c).toMatchObject({ os: 'debian', version: '14', confidence: 'family', arch: 'x86_64' });
    expect(c!.reason).toMatch(/Debian 14, a version the catalogue does not list/);
    expect(best(iso('Fedora-KDE-Live-45-1-2'))).toBe('fedora@45:family');
  });

  it('says when an image could be either of two entries', () => {
    const info = iso('CCCOMA_X64FRE_EN-US_DV9', { publisher: 'MICROSOFT CORPORATION' });
    for (const cat of [curatedOnly, full]) {
      const cands = cat.detect(info);
      expect(
        cands
          .slice(0, 2)
          .map((c) => c.os)
          .sort(),
      ).toEqual(['windows-10', 'windows-11']);
      expect(cands.slice(0, 2).every((c) => c.confidence === 'family')).toBe(true);
    }
    // Without Microsoft as publisher it is not Windows.
    expect(best(iso('CCCOMA_X64FRE_EN-US_DV9'))).toBe('generic:none');
  });

  it.skipIf(!HAVE_OSINFO)('uses osinfo volume ids for old releases and uncurated OSes', () => {
    expect(best(iso('Debian 11.5.0 amd64 n'), full)).toBe('debian@11:exact');
    expect(best(iso('GRMCULFRER_EN_DVD', { publisher: 'MICROSOFT CORPORATION' }), full)).toBe(
      'windows-7@7:exact',
    );
    const suse = full.detect(
      iso('openSUSE-Leap-15.4-DVD-x86_64', { systemId: 'LINUX', publisher: 'SUSE LINUX GmbH' }),
    )[0]!;
    expect(suse).toMatchObject({ version: '15.4', confidence: 'exact' });
    expect(full.get(suse.os)!.source).toBe('osinfo');
  });

  it('falls back to Generic for an unknown image and for a non-ISO', () => {
    const cands = curatedOnly.detect(iso('SOMETHING_ELSE'));
    expect(cands).toHaveLength(1);
    expect(cands[0]).toMatchObject({ os: 'generic', confidence: 'none' });
    expect(cands[0]!.reason).toMatch(/SOMETHING_ELSE.*matches no catalogue entry/);
    expect(curatedOnly.detect(null)[0]).toMatchObject({ os: 'generic', confidence: 'none' });
    // Generic always closes the list.
    expect(curatedOnly.detect(iso('Debian 13.1.0 amd64 n')).at(-1)!.os).toBe('generic');
  });
});

describe('ISO 9660 descriptors', () => {
  function descriptorSet(opts: {
    volumeId: string;
    joliet?: string;
    bootCatalog?: number;
  }): Buffer {
    const buf = Buffer.alloc(4 * SECTOR);
    const pvd = buf.subarray(0, SECTOR);
    pvd[0] = 1;
    pvd.write('CD001', 1, 'latin1');
    pvd[6] = 1;
    pvd.fill(0x20, 8, 72);
    pvd.write('LINUX', 8, 'latin1');
    pvd.write(opts.volumeId, 40, 'latin1');
    pvd.writeUInt32LE(1000, 80);
    pvd.writeUInt32BE(1000, 84);
    pvd.writeUInt16LE(2048, 128);
    pvd.fill(0x20, 318, 702);
    pvd.write('THE PUBLISHER', 318, 'latin1');
    pvd.write('MKISOFS', 574, 'latin1');
    pvd.write('2025081012000000', 813, 'latin1');
    pvd.writeInt8(8, 829); // UTC+2
    let next = 1;
    if (opts.bootCatalog !== undefined) {
      const br = buf.subarray(next * SECTOR, (next + 1) * SECTOR);
      br[0] = 0;
      br.write('CD001', 1, 'latin1');
      br[6] = 1;
      br.write('EL TORITO SPECIFICATION', 7, 'latin1');
      br.writeUInt32LE(opts.bootCatalog, 71);
      next++;
    }
    if (opts.joliet) {
      const svd = buf.subarray(next * SECTOR, (next + 1) * SECTOR);
      svd[0] = 2;
      svd.write('CD001', 1, 'latin1');
      svd[6] = 1;
      svd.write('%/E', 88, 'latin1');
      const name = Buffer.from(opts.joliet, 'utf16le');
      name.swap16();
      name.copy(svd, 40);
      next++;
    }
    const term = buf.subarray(next * SECTOR, (next + 1) * SECTOR);
    term[0] = 255;
    term.write('CD001', 1, 'latin1');
    return buf;
  }

  it('reads the primary and Joliet volume ids, dates and the boot record', () => {
    const vd = parseVolumeDescriptors(
      descriptorSet({ volumeId: 'DEBIAN_12', joliet: 'Debian 12 amd64', bootCatalog: 33 }),
    );
    expect(vd.primary).toMatchObject({
      volumeId: 'DEBIAN_12',
      systemId: 'LINUX',
      publisher: 'THE PUBLISHER',
      application: 'MKISOFS',
      volumeBytes: 1000 * 2048,
      created: '2025-08-10T10:00:00.000Z',
    });
    // Joliet volume ids hold 16 UCS-2 characters.
    expect(vd.jolietVolumeId).toBe('Debian 12 amd64');
    expect(vd.bootCatalogSector).toBe(33);
    expect(parseVolumeDescriptors(Buffer.alloc(SECTOR)).primary).toBeNull();
    expect(parseDecDateTime(Buffer.from('0000000000000000\0'), 0)).toBeNull();
  });

  it('reads a BIOS + UEFI El Torito catalog and checks its checksum', () => {
    const cat = Buffer.alloc(SECTOR);
    cat[0] = 1;
    cat[1] = 0;
    cat[30] = 0x55;
    cat[31] = 0xaa;
    let sum = 0;
    for (let i = 0; i < 32; i += 2) sum = (sum + cat.readUInt16LE(i)) & 0xffff;
    cat.writeUInt16LE((0x10000 - sum) & 0xffff, 28);
    cat[32] = 0x88; // default entry: bootable, no emulation
    cat.writeUInt16LE(4, 38);
    cat.writeUInt32LE(2973, 40);
    cat[64] = 0x91; // final section header, EFI, one entry
    cat[65] = 0xef;
    cat.writeUInt16LE(1, 66);
    cat[96] = 0x88;
    cat.writeUInt32LE(72, 104);
    const entries = parseBootCatalog(cat);
    expect(entries).toHaveLength(2);
    expect(summarizeElTorito(entries)).toEqual({ bios: true, uefi: true, entries: 2 });
    cat.writeUInt8(cat.readUInt8(28) ^ 1, 28);
    expect(parseBootCatalog(cat)).toBeNull();
  });
});

describe('profiles on a host', () => {
  it('gives Windows 11 a TPM and Secure Boot when the host has swtpm and the secboot OVMF', () => {
    const win11 = curatedOnly.get('windows-11')!;
    const d = profileToCreateDefaults(
      win11,
      host({
        swtpm: '/usr/bin/swtpm',
        firmware: {
          seabios: null,
          ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
          ovmfVars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
          ovmfSecureBootCode: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
          ovmfSecureBootVars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
        },
      }),
    );
    expect(d).toMatchObject({ firmware: 'uefi', machine: 'q35', tpm: true, secureBoot: true });
    expect(d.requirements.filter((r) => !r.met)).toEqual([]);
  });

  it('recommends, bounded by the host, and warns where it falls short', () => {
    const win11 = curatedOnly.get('windows-11')!;
    const big = profileToCreateDefaults(win11, host());
    expect(big).toMatchObject({
      os: 'windows-11',
      machine: 'q35',
      firmware: 'uefi',
      diskBus: 'sata',
      nicModel: 'e1000e',
      sound: 'hda',
      usbTablet: true,
      memoryMiB: 8192,
      cpus: 4,
      diskSize: '80G',
      tpm: false,
    });
    expect(big.requirements.find((r) => r.id === 'tpm')).toMatchObject({ met: false });
    expect(big.requirements.find((r) => r.id === 'uefi')).toMatchObject({ met: true });

    const small = profileToCreateDefaults(
      win11,
      host({
        cpus: 2,
        totalMemoryMiB: 4096,
        freeDiskBytes: 10 * 2 ** 30,
        firmware: { seabios: null, ovmfCode: null, ovmfVars: null },
      }),
    );
    expect(small.memoryMiB).toBe(3072);
    expect(small.cpus).toBe(2);
    expect(small.requirements.find((r) => r.id === 'memory')).toMatchObject({ met: false });
    expect(small.requirements.find((r) => r.id === 'uefi')).toMatchObject({ met: false });
    expect(small.warnings.join('\n')).toMatch(/needs at least 4 GiB/);
    expect(small.warnings.join('\n')).toMatch(/Only 10 GiB of disk are free/);

    // Windows 10 falls back to BIOS without OVMF.
    const win10 = profileToCreateDefaults(
      curatedOnly.get('windows-10')!,
      host({ firmware: { seabios: null, ovmfCode: null, ovmfVars: null } }),
    );
    expect(win10.firmware).toBe('bios');
    expect(win10.warnings.join('\n')).toMatch(/OVMF\) is not installed/);
  });

  it('gives DOS a DOS machine and keeps the version a user picked', () => {
    const fd = profileToCreateDefaults(curatedOnly.get('freedos')!, host());
    expect(fd).toMatchObject({
      machine: 'pc',
      diskBus: 'ide',
      nicModel: 'pcnet',
      sound: 'sb16',
      usbTablet: false,
      memoryMiB: 64,
      cpus: 1,
      diskSize: '2G',
    });
    const debian = curatedOnly.resolve('debian-12')!;
    const d = profileToCreateDefaults(debian.entry, host(), {
      version: debian.version,
      versionGiven: true,
    });
    expect(d).toMatchObject({
      os: 'debian-12',
      version: '12',
      memoryMiB: 2048,
      cpus: 2,
      diskSize: '20G',
    });
  });

  it('lets explicit request fields win', () => {
    const d = profileToCreateDefaults(curatedOnly.get('freedos')!, host());
    const req = applyCreateDefaults(
      { name: 'x', memoryMiB: 128, machine: 'q35', iso: '/x.iso' },
      d,
    );
    expect(req).toMatchObject({
      os: 'freedos',
      memoryMiB: 128,
      machine: 'q35',
      diskBus: 'ide',
      cpus: 1,
      diskSize: '2G',
    });
    const kernelOnly = applyCreateDefaults({ name: 'k', kernel: '/vmlinuz' }, d);
    expect(kernelOnly.diskSize).toBeUndefined();
  });
});

describe('checksum lists', () => {
  const hexA = 'a'.repeat(64);
  const hexB = 'b'.repeat(64);
  it('reads GNU, BSD and signed lists', () => {
    const gnu = parseChecksumList(
      `${hexA}  debian-13.1.0-amd64-netinst.iso\n${hexB} *ubuntu-24.04.3-desktop-amd64.iso\n`,
    );
    expect(findChecksum(gnu, 'debian-13.1.0-amd64-netinst.iso', 'sha256')).toBe(hexA);
    expect(findChecksum(gnu, 'ubuntu-24.04.3-desktop-amd64.iso', 'sha256')).toBe(hexB);
    expect(findChecksum(gnu, 'other.iso', 'sha256')).toBeNull();
    const signed = parseChecksumList(
      `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n# Fedora-Workstation-Live-43-1.6.x86_64.iso: 2 bytes\nSHA256 (Fedora-Workstation-Live-43-1.6.x86_64.iso) = ${hexA.toUpperCase()}\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n`,
    );
    expect(signed).toEqual([
      { name: 'Fedora-Workstation-Live-43-1.6.x86_64.iso', algorithm: 'sha256', hex: hexA },
    ]);
    const sha512 = parseChecksumList(
      `SHA512 (NetBSD-10.1-amd64.iso) = ${'c'.repeat(128)}\nSHA512 (other) = ${'d'.repeat(128)}`,
    );
    expect(findChecksum(sha512, 'NetBSD-10.1-amd64.iso', 'sha512')).toBe('c'.repeat(128));
    expect(findChecksum(sha512, 'NetBSD-10.1-amd64.iso', 'sha256')).toBeNull();
    // A single bare hash answers for the file it sits beside.
    expect(
      findChecksum(parseChecksumList(`${hexB}\n`), 'alpine-virt-3.22.2-x86_64.iso', 'sha256'),
    ).toBe(hexB);
  });
});

describe('folder listings', () => {
  it('finds names in Apache and SourceForge listings and picks the latest naturally', () => {
    const apache = `<a href="?C=N;O=D">Name</a><a href="../">Parent</a><a href="12.9.0/">12.9.0/</a>
      <a href="12.10.0/">12.10.0/</a><a href='12.11.0-live/'>x</a><a href="debian-12.11.0-amd64-netinst.iso">iso</a>`;
    const names = listingNames(apache);
    expect(names).toEqual(
      expect.arrayContaining([
        '12.9.0',
        '12.10.0',
        '12.11.0-live',
        'debian-12.11.0-amd64-netinst.iso',
      ]),
    );
    expect(pickLatest(names, /^12\.\d+\.\d+$/)).toBe('12.10.0');
    const sf = `<a href="https://sourceforge.net/projects/reactos/files/ReactOS/0.4.15/ReactOS-0.4.15-release-1-gdbb43bbaeb2-x86-iso.zip/download">x</a>
      <a href="/projects/aros/files/nightly2/20251120/">20251120</a><a href="/projects/aros/files/nightly2/20251121/">20251121</a>`;
    const sfNames = listingNames(sf);
    expect(pickLatest(sfNames, /^ReactOS-0\.4\.15.*-iso\.zip$/)).toBe(
      'ReactOS-0.4.15-release-1-gdbb43bbaeb2-x86-iso.zip',
    );
    expect(pickLatest(sfNames, /^\d{8}$/)).toBe('20251121');
  });
});

describe('zip archives', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viv-zip-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A minimal zip writer (stored or deflated members), enough to test the reader. */
  function zip(members: Array<{ name: string; data: Buffer; deflate: boolean }>): Buffer {
    const locals: Buffer[] = [];
    const centrals: Buffer[] = [];
    let offset = 0;
    for (const m of members) {
      const body = m.deflate ? deflateRawSync(m.data) : m.data;
      const name = Buffer.from(m.name);
      const crc = crc32(m.data);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(m.deflate ? 8 : 0, 8);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(m.data.length, 22);
      local.writeUInt16LE(name.length, 26);
      const central = Buffer.alloc(46);
      central.writeUInt32LE(0x02014b50, 0);
      central.writeUInt16LE(20, 4);
      central.writeUInt16LE(20, 6);
      central.writeUInt16LE(m.deflate ? 8 : 0, 10);
      central.writeUInt32LE(crc, 16);
      central.writeUInt32LE(body.length, 20);
      central.writeUInt32LE(m.data.length, 24);
      central.writeUInt16LE(name.length, 28);
      central.writeUInt32LE(offset, 42);
      locals.push(local, name, body);
      centrals.push(central, name);
      offset += 30 + name.length + body.length;
    }
    const cd = Buffer.concat(centrals);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(members.length, 8);
    eocd.writeUInt16LE(members.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, cd, eocd]);
  }

  it('extracts the member that matches, deflated or stored, and checks its CRC', async () => {
    const image = Buffer.alloc(300_000, 7);
    image.write('CD001', 32769);
    const archive = join(dir, 'FD14-LiveCD.zip');
    await writeFile(
      archive,
      zip([
        { name: 'readme.txt', data: Buffer.from('hello'), deflate: false },
        { name: 'FD14LIVE.iso', data: image, deflate: true },
      ]),
    );
    expect((await listZip(archive)).map((m) => m.name)).toEqual(['readme.txt', 'FD14LIVE.iso']);
    const out = await extractZipMember(archive, /\.iso$/i, dir);
    expect(out).toBe(join(dir, 'FD14LIVE.iso'));
    expect((await readFile(out)).equals(image)).toBe(true);
    await expect(extractZipMember(archive, /\.img$/, dir)).rejects.toThrow(
      /holds no file matching/,
    );

    const corrupt = zip([{ name: 'x.iso', data: Buffer.from('abcdef'), deflate: false }]);
    corrupt.write('X', 30 + 'x.iso'.length); // flip the data, keep the CRC
    await writeFile(join(dir, 'bad.zip'), corrupt);
    await expect(extractZipMember(join(dir, 'bad.zip'), /\.iso$/, dir)).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
  });
});
