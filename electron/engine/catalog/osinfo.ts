/**
 * osinfo-db (libosinfo's OS database, Debian's `osinfo-db` package at /usr/share/osinfo): parsed
 * with a real XML parser into plain records, then turned into catalogue entries for the OSes the
 * curated catalogue does not have. Parsing is pure (`parseOsinfoXml`); `readOsinfoDb` reads the
 * folder.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type {
  CatalogVersion,
  DetectPattern,
  GuestArch,
  HardwareProfile,
  OsFamily,
  ResourceSpec,
} from '../../../common/contract';
import { FAMILY_LOGO, type LoadedEntry } from './schema';

export const DEFAULT_OSINFO_DIR = '/usr/share/osinfo';

export interface OsinfoResources {
  memoryMiB?: number;
  cpus?: number;
  diskGiB?: number;
}

export interface OsinfoMedia {
  arch: string;
  live: boolean;
  volumeId?: string;
  systemId?: string;
  publisherId?: string;
  applicationId?: string;
}

/** One `<os>` element, flattened. */
export interface OsinfoOs {
  /** The URI id, e.g. http://haiku-os.org/haiku/r1beta3 */
  id: string;
  shortIds: string[];
  name: string;
  version: string | null;
  vendor: string | null;
  family: string | null;
  distro: string | null;
  codename: string | null;
  releaseDate: string | null;
  eolDate: string | null;
  releaseStatus: string | null;
  derivesFrom: string | null;
  /** Resources for x86 (arch x86_64, else 'all'); inherited ones are filled in by `resolveInheritance`. */
  minimum: OsinfoResources | null;
  recommended: OsinfoResources | null;
  media: OsinfoMedia[];
  /** Device ids the OS has drivers for, e.g. http://pcisig.com/pci/1af4/1041 */
  devices: string[];
  /** Firmware types it boots with, and whether BIOS is explicitly unsupported. */
  efi: boolean;
  biosUnsupported: boolean;
}

const ARRAY_TAGS = new Set([
  'os',
  'short-id',
  'name',
  'vendor',
  'media',
  'iso',
  'resources',
  'device',
  'firmware',
  'volume-id',
  'system-id',
  'publisher-id',
  'application-id',
  'variant',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ARRAY_TAGS.has(name),
});

type Node = Record<string, unknown>;

function asNode(v: unknown): Node | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : null;
}

function list(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** Text of an element that may carry attributes; localized (`xml:lang`) variants are skipped. */
function text(v: unknown): string | null {
  for (const item of list(v)) {
    if (typeof item === 'string') return item;
    if (typeof item === 'number') return String(item);
    const node = asNode(item);
    if (node && node['@_xml:lang'] === undefined && typeof node['#text'] === 'string') {
      return node['#text'];
    }
  }
  return null;
}

function attr(node: Node, name: string): string | null {
  const v = node[`@_${name}`];
  return typeof v === 'string' ? v : null;
}

function num(v: unknown): number | undefined {
  const t = text(v);
  if (t === null) return undefined;
  const n = Number(t);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function resources(node: Node | null): OsinfoResources | null {
  if (!node) return null;
  const out: OsinfoResources = {};
  const ram = num(node['ram']);
  if (ram) out.memoryMiB = Math.round(ram / 2 ** 20);
  const cpus = num(node['n-cpus']);
  if (cpus) out.cpus = Math.round(cpus);
  const storage = num(node['storage']);
  if (storage) out.diskGiB = Math.round((storage / 2 ** 30) * 10) / 10;
  return Object.keys(out).length ? out : null;
}

const X86 = new Set(['x86_64', 'i386', 'i486', 'i586', 'i686', 'all']);

function parseOs(node: Node): OsinfoOs | null {
  const id = attr(node, 'id');
  const name = text(node['name']);
  if (!id || !name) return null;
  const shortIds = list(node['short-id'])
    .map((s) => (typeof s === 'string' ? s : text(s)))
    .filter((s): s is string => !!s);

  // Resources: x86_64 first, then 'all', then any x86 flavour.
  const resList = list(node['resources'])
    .map(asNode)
    .filter((n): n is Node => !!n);
  const pick = (kind: 'minimum' | 'recommended') => {
    const order = ['x86_64', 'all', 'i686', 'i386'];
    for (const arch of order) {
      const r = resList.find((n) => (attr(n, 'arch') ?? 'all') === arch);
      const got = r ? resources(asNode(r[kind])) : null;
      if (got) return got;
    }
    return null;
  };

  const media: OsinfoMedia[] = [];
  for (const m of list(node['media']).map(asNode)) {
    if (!m) continue;
    const arch = attr(m, 'arch') ?? 'all';
    if (!X86.has(arch)) continue;
    for (const iso of list(m['iso']).map(asNode)) {
      if (!iso) continue;
      const entry: OsinfoMedia = { arch, live: attr(m, 'live') === 'true' };
      const volumeId = text(iso['volume-id']);
      if (volumeId) entry.volumeId = volumeId;
      const systemId = text(iso['system-id']);
      if (systemId) entry.systemId = systemId;
      const publisherId = text(iso['publisher-id']);
      if (publisherId) entry.publisherId = publisherId;
      const applicationId = text(iso['application-id']);
      if (applicationId) entry.applicationId = applicationId;
      if (entry.volumeId || entry.applicationId) media.push(entry);
    }
  }

  const devicesNode = asNode(node['devices']);
  const devices = devicesNode
    ? list(devicesNode['device'])
        .map((d) => {
          const n = asNode(d);
          return n ? attr(n, 'id') : null;
        })
        .filter((d): d is string => !!d)
    : [];

  let efi = false;
  let biosUnsupported = false;
  for (const f of list(node['firmware']).map(asNode)) {
    if (!f) continue;
    const arch = attr(f, 'arch') ?? 'x86_64';
    if (arch !== 'x86_64' && arch !== 'i686') continue;
    const type = attr(f, 'type');
    const supported = attr(f, 'supported') !== 'false';
    if (type === 'efi' && supported) efi = true;
    if (type === 'bios' && !supported) biosUnsupported = true;
  }

  const derives = asNode(list(node['derives-from'])[0]);
  return {
    id,
    shortIds,
    name,
    version: text(node['version']),
    vendor: text(node['vendor']),
    family: text(node['family']),
    distro: text(node['distro']),
    codename: text(node['codename']),
    releaseDate: text(node['release-date']),
    eolDate: text(node['eol-date']),
    releaseStatus: text(node['release-status']),
    derivesFrom: derives ? attr(derives, 'id') : null,
    minimum: pick('minimum'),
    recommended: pick('recommended'),
    media,
    devices,
    efi,
    biosUnsupported,
  };
}

/** Every `<os>` in one osinfo XML document. Pure. */
export function parseOsinfoXml(xml: string): OsinfoOs[] {
  const doc = asNode(parser.parse(xml));
  const root = doc ? asNode(doc['libosinfo']) : null;
  if (!root) return [];
  return list(root['os'])
    .map(asNode)
    .filter((n): n is Node => !!n)
    .map(parseOs)
    .filter((o): o is OsinfoOs => !!o);
}

/**
 * Fills what an OS leaves out (resources, devices, firmware) from the OS it derives from, as
 * libosinfo does. Pure; returns new records.
 */
export function resolveInheritance(all: OsinfoOs[]): OsinfoOs[] {
  const byId = new Map(all.map((o) => [o.id, o]));
  const resolved = new Map<string, OsinfoOs>();
  const resolve = (o: OsinfoOs, depth: number): OsinfoOs => {
    const done = resolved.get(o.id);
    if (done) return done;
    const parent = o.derivesFrom && depth < 20 ? byId.get(o.derivesFrom) : undefined;
    const base = parent ? resolve(parent, depth + 1) : null;
    const out: OsinfoOs = {
      ...o,
      minimum: o.minimum ?? base?.minimum ?? null,
      recommended: o.recommended ?? base?.recommended ?? null,
      devices: o.devices.length ? o.devices : (base?.devices ?? []),
      efi: o.efi || (base?.efi ?? false),
      biosUnsupported: o.biosUnsupported || (base?.biosUnsupported ?? false),
      family: o.family ?? base?.family ?? null,
      distro: o.distro ?? base?.distro ?? null,
    };
    resolved.set(o.id, out);
    return out;
  };
  return all.map((o) => resolve(o, 0));
}

/**
 * Reads `<dir>/os/<vendor>/*.xml` (not the `*.d` driver add-ons). Null when the folder is
 * missing; unreadable or malformed files are skipped.
 */
export async function readOsinfoDb(dir = DEFAULT_OSINFO_DIR): Promise<OsinfoOs[] | null> {
  const osDir = join(dir, 'os');
  let vendors: string[];
  try {
    vendors = await readdir(osDir);
  } catch {
    return null;
  }
  const files: string[] = [];
  await Promise.all(
    vendors.map(async (v) => {
      try {
        for (const f of await readdir(join(osDir, v))) {
          if (f.endsWith('.xml')) files.push(join(osDir, v, f));
        }
      } catch {
        // Not a folder.
      }
    }),
  );
  files.sort();
  const out: OsinfoOs[] = [];
  const BATCH = 64;
  for (let i = 0; i < files.length; i += BATCH) {
    const parsed = await Promise.all(
      files.slice(i, i + BATCH).map(async (f) => {
        try {
          return parseOsinfoXml(await readFile(f, 'utf8'));
        } catch {
          return [];
        }
      }),
    );
    for (const p of parsed) out.push(...p);
  }
  return resolveInheritance(out);
}

// ---------------------------------------------------------------------------------------------
// osinfo records -> catalogue entries

export function osinfoFamily(o: Pick<OsinfoOs, 'family' | 'distro'>): OsFamily {
  switch (o.family) {
    case 'winnt':
    case 'win9x':
    case 'win16':
      return 'windows';
    case 'msdos':
      return 'dos';
    case 'freebsd':
    case 'openbsd':
    case 'netbsd':
    case 'dragonflybsd':
      return 'bsd';
    case 'solaris':
      return 'solaris';
    case 'linux':
      return o.distro === 'freedos' ? 'dos' : 'linux';
    case 'haiku':
      return 'alternative';
    default:
      return 'other';
  }
}

const PCI = 'http://pcisig.com/pci/';
const DEV = {
  virtioNet: [`${PCI}1af4/1000`, `${PCI}1af4/1041`],
  virtioBlk: [`${PCI}1af4/1001`, `${PCI}1af4/1042`],
  virtioGpu: [`${PCI}1af4/1050`],
  e1000e: [`${PCI}8086/10d3`],
  e1000: [`${PCI}8086/100e`],
  rtl8139: [`${PCI}10ec/8139`],
  pcnet: [`${PCI}1022/2000`],
  ne2k: [`${PCI}10ec/8029`],
  ahci: [`${PCI}8086/2922`],
  hda: [`${PCI}8086/293e`, `${PCI}8086/2668`],
  ac97: [`${PCI}8086/2415`],
  xhci: [`${PCI}1b36/000d`, `${PCI}8086/1e31`],
};

function has(devices: Set<string>, ids: string[]): boolean {
  return ids.some((i) => devices.has(i));
}

/** The hardware an osinfo OS has drivers for, from its device list and family. Pure. */
export function osinfoProfile(o: OsinfoOs): HardwareProfile {
  const d = new Set(o.devices);
  const family = osinfoFamily(o);
  const legacy = o.family === 'win9x' || o.family === 'win16' || o.family === 'msdos';
  const modernDefault = family === 'linux' || family === 'bsd';
  const diskBus = has(d, DEV.virtioBlk)
    ? 'virtio'
    : has(d, DEV.ahci) || family === 'windows' || modernDefault
      ? legacy
        ? 'ide'
        : 'sata'
      : 'ide';
  const nicModel = has(d, DEV.virtioNet)
    ? 'virtio-net-pci'
    : has(d, DEV.e1000e)
      ? 'e1000e'
      : has(d, DEV.e1000)
        ? 'e1000'
        : has(d, DEV.rtl8139)
          ? 'rtl8139'
          : has(d, DEV.pcnet) || legacy
            ? 'pcnet'
            : has(d, DEV.ne2k)
              ? 'ne2k_pci'
              : 'e1000';
  const firmware = o.biosUnsupported ? 'uefi' : 'bios';
  return {
    machine: diskBus === 'ide' ? 'pc' : 'q35',
    firmware,
    biosSupported: !o.biosUnsupported,
    tpm: false,
    secureBoot: false,
    diskBus,
    nicModel,
    video: legacy ? 'cirrus' : 'std',
    sound: has(d, DEV.hda) ? 'hda' : has(d, DEV.ac97) ? 'ac97' : legacy ? 'sb16' : 'none',
    input: has(d, DEV.xhci) || modernDefault ? 'usb-tablet' : 'ps2',
  };
}

const FAMILY_RESOURCES: Record<OsFamily, { minimum: ResourceSpec; recommended: ResourceSpec }> = {
  windows: {
    minimum: { memoryMiB: 1024, cpus: 1, diskGiB: 16 },
    recommended: { memoryMiB: 4096, cpus: 2, diskGiB: 64 },
  },
  linux: {
    minimum: { memoryMiB: 1024, cpus: 1, diskGiB: 10 },
    recommended: { memoryMiB: 2048, cpus: 2, diskGiB: 20 },
  },
  bsd: {
    minimum: { memoryMiB: 512, cpus: 1, diskGiB: 4 },
    recommended: { memoryMiB: 1024, cpus: 2, diskGiB: 16 },
  },
  solaris: {
    minimum: { memoryMiB: 1024, cpus: 1, diskGiB: 10 },
    recommended: { memoryMiB: 2048, cpus: 2, diskGiB: 20 },
  },
  dos: {
    minimum: { memoryMiB: 32, cpus: 1, diskGiB: 0.5 },
    recommended: { memoryMiB: 64, cpus: 1, diskGiB: 2 },
  },
  alternative: {
    minimum: { memoryMiB: 256, cpus: 1, diskGiB: 2 },
    recommended: { memoryMiB: 1024, cpus: 1, diskGiB: 8 },
  },
  other: {
    minimum: { memoryMiB: 512, cpus: 1, diskGiB: 4 },
    recommended: { memoryMiB: 2048, cpus: 2, diskGiB: 20 },
  },
};

/** Minimum and recommended resources of an osinfo OS, completed from family defaults. Pure. */
export function osinfoResources(o: OsinfoOs): { minimum: ResourceSpec; recommended: ResourceSpec } {
  const def = FAMILY_RESOURCES[osinfoFamily(o)];
  const minimum: ResourceSpec = {
    memoryMiB: Math.max(16, o.minimum?.memoryMiB ?? def.minimum.memoryMiB),
    cpus: Math.max(1, o.minimum?.cpus ?? def.minimum.cpus),
    diskGiB: o.minimum?.diskGiB ?? def.minimum.diskGiB,
  };
  const recommended: ResourceSpec = {
    memoryMiB: Math.max(
      minimum.memoryMiB,
      o.recommended?.memoryMiB ?? Math.max(def.recommended.memoryMiB, minimum.memoryMiB),
    ),
    cpus: Math.max(minimum.cpus, o.recommended?.cpus ?? def.recommended.cpus),
    diskGiB: Math.max(minimum.diskGiB, o.recommended?.diskGiB ?? def.recommended.diskGiB),
  };
  return { minimum, recommended };
}

function archOf(a: string): GuestArch {
  return a === 'x86_64' ? 'x86_64' : 'i686';
}

/** osinfo's regexes are GRegex (PCRE), matched from the start: anchored here the same way. */
export function osinfoPatterns(o: OsinfoOs): DetectPattern[] {
  const out: DetectPattern[] = [];
  for (const m of o.media) {
    const anchor = (s: string) => (s.startsWith('^') ? s : `^(?:${s})`);
    const p: DetectPattern = {
      volumeId: m.volumeId ? anchor(m.volumeId) : '',
      ...(m.publisherId ? { publisher: anchor(m.publisherId) } : {}),
      ...(m.applicationId ? { application: anchor(m.applicationId) } : {}),
      ...(m.systemId ? { system: anchor(m.systemId) } : {}),
      ...(o.version ? { version: o.version } : {}),
      ...(m.arch !== 'all' ? { arch: archOf(m.arch) } : {}),
    };
    // Each must compile as a JavaScript regex, else the pattern is left out.
    try {
      for (const r of [p.volumeId, p.publisher, p.application, p.system]) if (r) new RegExp(r);
    } catch {
      continue;
    }
    out.push(p);
  }
  return out;
}

export function osinfoVersion(o: OsinfoOs): CatalogVersion {
  const id = (o.version ?? o.shortIds[0] ?? o.id.split('/').pop() ?? 'unknown')
    .toLowerCase()
    .replace(/[^a-z0-9._+-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
  return {
    id: id || 'unknown',
    name: o.name,
    ...(o.codename ? { codename: o.codename } : {}),
    ...(o.releaseDate ? { released: o.releaseDate } : {}),
    ...(o.eolDate ? { eol: o.eolDate } : {}),
    status: 'legacy',
    media: [],
    notes: [],
  };
}

/** Newest first: by release date, then by version number. */
export function compareOsinfoNewestFirst(a: OsinfoOs, b: OsinfoOs): number {
  const da = a.releaseDate ?? '';
  const db = b.releaseDate ?? '';
  if (da !== db) return da < db ? 1 : -1;
  return (b.version ?? '').localeCompare(a.version ?? '', 'en', { numeric: true });
}

/** "Microsoft Windows 10" + "Microsoft Windows XP" -> "Microsoft Windows". */
function commonName(names: string[]): string {
  const split = names.map((n) => n.split(/\s+/));
  const first = split[0] ?? [];
  let n = first.length;
  for (const words of split) {
    let i = 0;
    while (i < n && i < words.length && words[i] === first[i]) i++;
    n = i;
  }
  const common = first.slice(0, n).join(' ').trim();
  if (common && names.length > 1) return common;
  // One version: drop the version number from its name.
  return (names[0] ?? '').replace(/\s+[\d.]+(\s.*)?$/, '').trim() || (names[0] ?? '');
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

/**
 * Groups osinfo OSes by distro into catalogue entries (one entry, many versions). OSes that
 * `claimed` returns true for belong to curated entries and are left out. Pure.
 */
export function osinfoEntries(all: OsinfoOs[], claimed: (o: OsinfoOs) => boolean): LoadedEntry[] {
  const groups = new Map<string, OsinfoOs[]>();
  for (const o of all) {
    if (claimed(o)) continue;
    // Only OSes that run on x86 (or say nothing about media).
    if (o.media.length === 0 && o.family === null) continue;
    const key = slug(o.distro ?? o.family ?? o.shortIds[0] ?? 'other');
    if (!key) continue;
    const g = groups.get(key);
    if (g) g.push(o);
    else groups.set(key, [o]);
  }
  const entries: LoadedEntry[] = [];
  for (const [key, members] of groups) {
    members.sort(compareOsinfoNewestFirst);
    const latest = members[0]!;
    const family = osinfoFamily(latest);
    const versions: CatalogVersion[] = [];
    const seen = new Set<string>();
    for (const m of members) {
      const v = osinfoVersion(m);
      if (seen.has(v.id)) continue;
      seen.add(v.id);
      versions.push(v);
    }
    const arches = new Set<GuestArch>();
    for (const m of members)
      for (const media of m.media) if (media.arch !== 'all') arches.add(archOf(media.arch));
    if (arches.size === 0) arches.add('x86_64');
    const name = commonName(members.map((m) => m.name));
    entries.push({
      id: key,
      name,
      vendor: latest.vendor ?? name,
      family,
      description: `${name}, as described by osinfo-db (${members.length} version${members.length === 1 ? '' : 's'}).`,
      homepage: null,
      logo: FAMILY_LOGO[family],
      logoSvg: '',
      source: 'osinfo',
      architectures: [...arches].sort(),
      aliases: [...new Set(members.flatMap((m) => m.shortIds))],
      profile: osinfoProfile(latest),
      resources: osinfoResources(latest),
      versions,
      detect: members.flatMap(osinfoPatterns),
      notes: [
        'From osinfo-db on this computer: the hardware is chosen from the devices osinfo says this OS has drivers for. Bring your own install media.',
      ],
      // The host's osinfo-db is the source; it has no date of its own to give.
      sources: [],
      checked: null,
      osinfoPatterns: [],
    });
  }
  return entries;
}
