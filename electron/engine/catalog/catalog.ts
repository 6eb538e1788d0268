/**
 * The guest-OS catalogue: curated entries (assets/catalog), extra files (VIVARIUM_CATALOG_EXTRA,
 * an engine option) and the host's osinfo-db, merged with curated entries winning. Lookup by id,
 * alias, osinfo short id or "id + version" ('debian-13', 'debian12', 'ubuntu@24.04'); search;
 * ISO detection against every entry's volume-id patterns.
 */
import { readFile } from 'node:fs/promises';
import { delimiter } from 'node:path';
import type {
  CatalogEntry,
  CatalogSummary,
  CatalogVersion,
  DetectionCandidate,
  DetectPattern,
  GuestArch,
  IsoInfo,
  MediaSpec,
  OsFamily,
  VmArch,
} from '../../../common/contract';
import { vmArchOf } from '../../../common/arch';
import { VivariumError } from '../errors';
import { CURATED_FILES, LOGOS } from './curated';
import {
  DEFAULT_OSINFO_DIR,
  osinfoEntries,
  osinfoPatterns,
  osinfoVersion,
  type OsinfoOs,
} from './osinfo';
import {
  CatalogEntryFileSchema,
  CatalogFileSchema,
  describeIssues,
  FAMILY_LOGO,
  type CatalogEntryFile,
  type LoadedEntry,
} from './schema';

export interface CatalogOptions {
  /** Extra catalogue files (an entry or a list of entries each); they override curated ones.
   * Default: VIVARIUM_CATALOG_EXTRA, a list separated like PATH. */
  extraFiles?: string[];
  /** osinfo-db folder, or null to leave osinfo out. Default VIVARIUM_OSINFO_DIR or /usr/share/osinfo. */
  osinfoDir?: string | null;
}

export function catalogOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Required<CatalogOptions> {
  return {
    extraFiles: (env.VIVARIUM_CATALOG_EXTRA ?? '').split(delimiter).filter(Boolean),
    osinfoDir:
      env.VIVARIUM_OSINFO_DIR === '' ? null : (env.VIVARIUM_OSINFO_DIR ?? DEFAULT_OSINFO_DIR),
  };
}

export function logoSvg(logo: string, family: OsFamily): string {
  return LOGOS[logo] ?? LOGOS[FAMILY_LOGO[family]] ?? LOGOS['generic'] ?? '';
}

/** '13' and '13.0', '14_3' and '14.3' compare equal; dots stay (Debian 1.1 is not 11). */
export function normalizeVersion(v: string): string {
  return v
    .toLowerCase()
    .replace(/[\s_~-]+/g, '.')
    .replace(/(\.0)+$/, '');
}

/** Looser still: 'R1~beta5' and 'r1beta5', 'NETBSD_101' and '10.1'; used only when unambiguous. */
export function looseVersion(v: string): string {
  return normalizeVersion(v).replace(/[^a-z0-9]/g, '');
}

function fromFile(file: CatalogEntryFile, source: 'curated' | 'extra'): LoadedEntry {
  const { osinfo, checked, ...rest } = file;
  return {
    ...rest,
    checked: checked ?? null,
    source,
    logoSvg: logoSvg(file.logo, file.family),
    osinfoPatterns: osinfo,
  };
}

/** The curated entries, validated. Throws on a bad file: that is a bug in Vivarium's data. */
export function loadCurated(): LoadedEntry[] {
  return Object.entries(CURATED_FILES).map(([name, raw]) => {
    const parsed = CatalogEntryFileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new VivariumError(
        'INTERNAL',
        `assets/catalog/${name}.json is invalid: ${describeIssues(parsed.error)}`,
      );
    }
    if (parsed.data.id !== name) {
      throw new VivariumError(
        'INTERNAL',
        `assets/catalog/${name}.json holds id "${parsed.data.id}"`,
      );
    }
    // Vivarium's own facts must say where they come from and when they were last true (an entry
    // with no versions, Generic, states no facts about any project).
    const states = parsed.data.versions.length > 0;
    if (states && (parsed.data.sources.length === 0 || parsed.data.checked === undefined)) {
      throw new VivariumError(
        'INTERNAL',
        `assets/catalog/${name}.json must give its sources and the date they were checked`,
      );
    }
    return fromFile(parsed.data, 'curated');
  });
}

export async function loadExtraFiles(files: string[]): Promise<LoadedEntry[]> {
  const out: LoadedEntry[] = [];
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The catalogue file ${file} could not be read: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    // One entry or a list: parse with the matching schema so errors name the field.
    const parsed = Array.isArray(raw)
      ? CatalogFileSchema.safeParse(raw)
      : CatalogEntryFileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The catalogue file ${file} is invalid: ${describeIssues(parsed.error)}`,
      );
    }
    for (const e of Array.isArray(parsed.data) ? parsed.data : [parsed.data])
      out.push(fromFile(e, 'extra'));
  }
  return out;
}

function compileAll(sources: string[]): RegExp[] {
  return sources.flatMap((s) => {
    try {
      return [new RegExp(s)];
    } catch {
      return [];
    }
  });
}

/**
 * Folds osinfo OSes claimed by a curated entry into it: their volume ids join its detection
 * patterns, their short ids its aliases, and versions it does not have become 'legacy' versions
 * (known, not downloadable). Returns a new entry and the alias -> version map. Pure.
 */
export function absorbOsinfo(
  entry: LoadedEntry,
  claimed: OsinfoOs[],
): { entry: LoadedEntry; aliasVersions: Map<string, string> } {
  const aliasVersions = new Map<string, string>();
  if (claimed.length === 0) return { entry, aliasVersions };
  const versions = [...entry.versions];
  const known = new Map(versions.map((v) => [normalizeVersion(v.id), v.id]));
  // A curated entry standing for exactly one osinfo OS (Windows 11 = win11) maps it onto its
  // own default version instead of listing "11.0" beside "11".
  const oneToOne = claimed.length === 1 && versions.length === 1 ? versions[0]!.id : null;
  const detect: DetectPattern[] = [...entry.detect];
  const aliases = new Set(entry.aliases);
  for (const o of claimed) {
    const v = osinfoVersion(o);
    let id = oneToOne ?? known.get(normalizeVersion(v.id));
    if (!id) {
      versions.push(v);
      known.set(normalizeVersion(v.id), v.id);
      id = v.id;
    }
    for (const p of osinfoPatterns(o)) detect.push({ ...p, version: id });
    for (const s of o.shortIds) {
      aliases.add(s);
      aliasVersions.set(s.toLowerCase(), id);
    }
  }
  const curatedIds = new Set(entry.versions.map((v) => v.id));
  const legacy = versions.filter((v) => !curatedIds.has(v.id));
  legacy.sort(
    (a, b) =>
      (b.released ?? '').localeCompare(a.released ?? '') ||
      b.id.localeCompare(a.id, 'en', { numeric: true }),
  );
  return {
    entry: { ...entry, versions: [...entry.versions, ...legacy], detect, aliases: [...aliases] },
    aliasVersions,
  };
}

export interface Resolved {
  entry: LoadedEntry;
  version: CatalogVersion | null;
  /** The reference named the version itself ('debian-12', 'debian12'), not only the entry. */
  versionGiven: boolean;
}

/** The version a new VM gets when none is named: the first one that is not legacy. */
export function defaultVersion(entry: CatalogEntry): CatalogVersion | null {
  return entry.versions.find((v) => v.status !== 'legacy') ?? entry.versions[0] ?? null;
}

export function findVersion(entry: CatalogEntry, ref: string): CatalogVersion | null {
  const n = normalizeVersion(ref);
  if (!n) return null;
  const exact =
    entry.versions.find((v) => v.id === ref) ??
    entry.versions.find((v) => normalizeVersion(v.id) === n) ??
    entry.versions.find(
      (v) => v.codename !== undefined && v.codename.toLowerCase() === ref.toLowerCase(),
    );
  if (exact) return exact;
  const loose = looseVersion(ref);
  const hits = entry.versions.filter((v) => looseVersion(v.id) === loose);
  return hits.length === 1 ? hits[0]! : null;
}

export function summarize(e: CatalogEntry): CatalogSummary {
  const latest = defaultVersion(e);
  return {
    id: e.id,
    name: e.name,
    family: e.family,
    description: e.description,
    logo: e.logo,
    source: e.source,
    architectures: e.architectures,
    latest: latest ? { id: latest.id, name: latest.name } : null,
    versions: e.versions.map((v) => ({ id: v.id, name: v.name, status: v.status })),
    minimum: e.resources.minimum,
    recommended: e.resources.recommended,
    downloadable: e.versions.some((v) =>
      v.media.some((m) => m.kind !== 'cloud' && m.urls.length > 0),
    ),
    cloudReady: cloudMediaOf(e).length > 0,
  };
}

/** A cloud image of the catalogue, with the version it belongs to. */
export interface CloudMediaChoice {
  version: CatalogVersion;
  media: MediaSpec;
}

/** Cloud images Vivarium can download by itself (not install media). */
export function isCloudMedia(m: MediaSpec): boolean {
  return m.kind === 'cloud' && m.urls.length > 0;
}

/**
 * The cloud images a "Ready to use" VM of `entry` can start from, the first the default: those
 * of the version named (by id, name or codename, as `findVersion` reads it), else those of the
 * newest offered (non-legacy) version that has any. x86_64 images come before the others; with
 * `arch`, only the images a VM of that architecture runs. Empty when there is none. Pure.
 */
export function cloudMediaOf(
  entry: CatalogEntry,
  versionRef?: string,
  arch?: VmArch,
): CloudMediaChoice[] {
  const pick = (v: CatalogVersion): CloudMediaChoice[] =>
    v.media
      .filter((m) => isCloudMedia(m) && (arch === undefined || vmArchOf(m.arch) === arch))
      .sort((a, b) => (a.arch === b.arch ? 0 : a.arch === 'x86_64' ? -1 : 1))
      .map((media) => ({ version: v, media }));
  if (versionRef !== undefined) {
    const v = findVersion(entry, versionRef);
    return v ? pick(v) : [];
  }
  for (const v of entry.versions) {
    if (v.status === 'legacy') continue;
    const found = pick(v);
    if (found.length) return found;
  }
  return [];
}

/** Strips the loader's bookkeeping: what `catalog.get` returns. */
export function publicEntry(e: LoadedEntry): CatalogEntry {
  const { osinfoPatterns: _omit, ...entry } = e;
  return entry;
}

// ---------------------------------------------------------------------------------------------
// Detection

interface CompiledPattern {
  pattern: DetectPattern;
  volumeId: RegExp | null;
  publisher: RegExp | null;
  application: RegExp | null;
  system: RegExp | null;
}

function compilePattern(p: DetectPattern): CompiledPattern | null {
  try {
    const flags = p.ignoreCase ? 'i' : '';
    const re = (s: string | undefined) => (s ? new RegExp(s, flags) : null);
    const c = {
      pattern: p,
      volumeId: re(p.volumeId),
      publisher: re(p.publisher),
      application: re(p.application),
      system: re(p.system),
    };
    return c.volumeId || c.application ? c : null;
  } catch {
    return null;
  }
}

function guessArch(text: string): GuestArch | null {
  if (/amd64|x86_64|x64|x86-64/i.test(text)) return 'x86_64';
  if (/arm64|aarch64/i.test(text)) return 'aarch64';
  if (/ppc64el|ppc64le/i.test(text)) return 'ppc64le';
  if (/s390x/i.test(text)) return 's390x';
  if (/riscv64/i.test(text)) return 'riscv64';
  if (/i[3-6]86|x86(?!_64)|\b32-?bit/i.test(text)) return 'i686';
  return null;
}

const CONFIDENCE_RANK = { exact: 0, family: 1, none: 2 } as const;
const SOURCE_RANK = { extra: 0, curated: 1, osinfo: 2 } as const;

export const GENERIC_ID = 'generic';

// ---------------------------------------------------------------------------------------------

export class Catalog {
  private readonly byId = new Map<string, LoadedEntry>();
  private readonly aliases = new Map<string, { id: string; version: string | null }>();
  private compiled: Array<{ entry: LoadedEntry; patterns: CompiledPattern[] }> | null = null;

  constructor(
    readonly entries: readonly LoadedEntry[],
    aliasVersions: ReadonlyMap<string, { id: string; version: string | null }> = new Map(),
  ) {
    for (const e of entries) this.byId.set(e.id, e);
    for (const e of entries) {
      for (const a of e.aliases) {
        const key = a.toLowerCase();
        if (!this.byId.has(key) && !this.aliases.has(key))
          this.aliases.set(key, { id: e.id, version: null });
      }
    }
    for (const [alias, target] of aliasVersions)
      if (!this.byId.has(alias)) this.aliases.set(alias, target);
  }

  /**
   * Curated and extra entries (extra ones replace curated ones with the same id), then osinfo's
   * OSes: those a curated entry claims join it, the others become entries of their own.
   */
  static build(curated: LoadedEntry[], extra: LoadedEntry[], osinfo: OsinfoOs[] | null): Catalog {
    const own = new Map<string, LoadedEntry>();
    for (const e of [...curated, ...extra]) own.set(e.id, e);
    const aliasVersions = new Map<string, { id: string; version: string | null }>();
    const claimedBy = new Map<string, LoadedEntry>();
    if (osinfo) {
      const claims = [...own.values()].map((e) => ({ e, res: compileAll(e.osinfoPatterns) }));
      for (const o of osinfo) {
        const owner = claims.find(
          ({ res }) => res.length > 0 && o.shortIds.some((s) => res.some((r) => r.test(s))),
        );
        if (owner) claimedBy.set(o.id, owner.e);
      }
      for (const [id, e] of own) {
        const mine = osinfo.filter((o) => claimedBy.get(o.id) === e);
        const { entry, aliasVersions: av } = absorbOsinfo(e, mine);
        own.set(id, entry);
        for (const [alias, version] of av) aliasVersions.set(alias, { id, version });
      }
    }
    const entries = [...own.values()];
    if (osinfo) {
      for (const e of osinfoEntries(osinfo, (o) => claimedBy.has(o.id))) {
        if (own.has(e.id)) continue;
        entries.push({ ...e, logoSvg: logoSvg(e.logo, e.family) });
      }
    }
    return new Catalog(entries, aliasVersions);
  }

  get(id: string): LoadedEntry | null {
    return this.byId.get(id) ?? null;
  }

  /**
   * Finds the entry (and version) a reference names: an id, an alias or osinfo short id, or an
   * id joined to a version by '-', '@', ':', ' ' or nothing ('debian-12', 'debian12').
   */
  resolve(ref: string): Resolved | null {
    const key = ref.trim().toLowerCase();
    if (!key) return null;
    const direct = this.byId.get(key);
    if (direct) return { entry: direct, version: null, versionGiven: false };
    const alias = this.aliases.get(key);
    if (alias) {
      const entry = this.byId.get(alias.id);
      if (entry) {
        const version = alias.version ? findVersion(entry, alias.version) : null;
        return { entry, version, versionGiven: version !== null };
      }
    }
    // The longest id that prefixes the reference, the rest being one of its versions.
    let best: Resolved | null = null;
    let bestLen = 0;
    const candidates: Array<[string, LoadedEntry]> = [
      ...[...this.byId.entries()],
      ...[...this.aliases.entries()].flatMap(([a, t]) => {
        const e = this.byId.get(t.id);
        return e && t.version === null ? [[a, e] as [string, LoadedEntry]] : [];
      }),
    ];
    for (const [prefix, entry] of candidates) {
      if (!key.startsWith(prefix) || prefix.length <= bestLen) continue;
      const rest = key.slice(prefix.length).replace(/^[-@: _]/, '');
      if (!rest) continue;
      const version = findVersion(entry, rest);
      if (version) {
        best = { entry, version, versionGiven: true };
        bestLen = prefix.length;
      }
    }
    return best;
  }

  /** Like `resolve`, but an unknown reference is an error a user can act on. */
  require(ref: string, version?: string): Resolved {
    const found = this.resolve(ref);
    if (!found) {
      throw new VivariumError(
        'NOT_FOUND',
        `"${ref}" is not in the OS catalogue: see \`vivarium catalog\` for the ids, or use "generic".`,
        { os: 'Unknown OS' },
      );
    }
    if (version === undefined) return found;
    const v = findVersion(found.entry, version);
    if (!v) {
      const known = found.entry.versions.map((x) => x.id).join(', ') || 'none';
      throw new VivariumError(
        'NOT_FOUND',
        `${found.entry.name} has no version "${version}" (known: ${known}).`,
        {
          version: 'Unknown version',
        },
      );
    }
    return { entry: found.entry, version: v, versionGiven: true };
  }

  /**
   * The cloud images of the entry a reference names ('debian', 'debian-12', 'ubuntu@24.04'), the
   * first the default: see `cloudMediaOf`. An explicit `version` wins over one in the reference.
   * Empty for an unknown reference or an entry without cloud images. Pure.
   */
  cloudMediaFor(ref: string, version?: string, arch?: VmArch): CloudMediaChoice[] {
    const found = this.resolve(ref);
    if (!found) return [];
    return cloudMediaOf(found.entry, version ?? found.version?.id, arch);
  }

  list(
    opts: {
      query?: string | undefined;
      family?: OsFamily | undefined;
      includeOsinfo?: boolean;
    } = {},
  ): LoadedEntry[] {
    const words = (opts.query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const out = this.entries.filter((e) => {
      if (opts.family && e.family !== opts.family) return false;
      if (opts.includeOsinfo === false && e.source === 'osinfo') return false;
      if (!words.length) return true;
      const hay = [
        e.id,
        e.name,
        e.vendor,
        e.family,
        e.description,
        ...e.aliases,
        ...e.versions.flatMap((v) => [v.id, v.name, v.codename ?? '']),
      ]
        .join('\n')
        .toLowerCase();
      return words.every((w) => hay.includes(w));
    });
    return out.sort((a, b) => {
      if (a.id === GENERIC_ID || b.id === GENERIC_ID) return a.id === GENERIC_ID ? 1 : -1;
      const s = (a.source === 'osinfo' ? 1 : 0) - (b.source === 'osinfo' ? 1 : 0);
      return s || a.name.localeCompare(b.name);
    });
  }

  /**
   * Candidates for an image, best first, always ending with Generic ('none'). Exact: a pattern
   * matched and named a version the entry knows; family: the OS matched but its version is new,
   * unnamed, or shared by several entries (Windows 10 and 11 images look alike). Pure.
   */
  detect(iso: IsoInfo | null): DetectionCandidate[] {
    const results: Array<DetectionCandidate & { source: LoadedEntry['source'] }> = [];
    if (iso) {
      this.compiled ??= this.entries.map((entry) => ({
        entry,
        patterns: entry.detect.map(compilePattern).filter((c): c is CompiledPattern => c !== null),
      }));
      for (const { entry, patterns } of this.compiled) {
        let best: DetectionCandidate | null = null;
        for (const c of patterns) {
          const hit = matchPattern(c, iso);
          if (!hit) continue;
          const cand = candidateFor(entry, c.pattern, hit, iso);
          if (!best || CONFIDENCE_RANK[cand.confidence] < CONFIDENCE_RANK[best.confidence])
            best = cand;
          if (best.confidence === 'exact') break;
        }
        if (best) results.push({ ...best, source: entry.source });
      }
    }
    // The same image claimed by several of our own entries with a version each: ambiguous.
    const exactOwn = results.filter((r) => r.confidence === 'exact' && r.source !== 'osinfo');
    if (exactOwn.length > 1) {
      const names = exactOwn.map((r) => r.name).join(' or ');
      for (const r of exactOwn) {
        r.confidence = 'family';
        r.reason = `${r.reason}; it could be ${names}: pick one`;
      }
    }
    results.sort(
      (a, b) =>
        CONFIDENCE_RANK[a.confidence] - CONFIDENCE_RANK[b.confidence] ||
        SOURCE_RANK[a.source] - SOURCE_RANK[b.source],
    );
    const out: DetectionCandidate[] = results.map(({ source: _s, ...c }) => c);
    const generic = this.byId.get(GENERIC_ID);
    out.push({
      os: GENERIC_ID,
      name: generic?.name ?? 'Generic / other OS',
      version: null,
      versionName: null,
      arch: iso ? guessArch(`${iso.volumeId} ${iso.jolietVolumeId ?? ''}`) : null,
      confidence: 'none',
      reason: !iso
        ? 'not an ISO 9660 image: using the Generic profile'
        : results.length
          ? 'the fallback'
          : `volume id "${iso.volumeId}" matches no catalogue entry: using the Generic profile`,
    });
    return out;
  }
}

interface Hit {
  field: string;
  value: string;
  version: string | null;
}

function matchPattern(c: CompiledPattern, iso: IsoInfo): Hit | null {
  let field = '';
  let value = '';
  let version: string | null = null;
  if (c.volumeId) {
    const ids = [iso.volumeId, iso.jolietVolumeId].filter((v): v is string => !!v);
    const m = ids.map((id) => ({ id, m: c.volumeId!.exec(id) })).find((x) => x.m);
    if (!m?.m) return null;
    field = 'volume id';
    value = m.id;
    version = m.m.groups?.['version'] ?? null;
  }
  if (c.application) {
    const m = c.application.exec(iso.application);
    if (!m) return null;
    if (!field) {
      field = 'application id';
      value = iso.application;
    }
    version ??= m.groups?.['version'] ?? null;
  }
  if (c.publisher && !c.publisher.test(iso.publisher)) return null;
  if (c.system && !c.system.test(iso.systemId)) return null;
  return { field, value, version };
}

function candidateFor(
  entry: LoadedEntry,
  p: DetectPattern,
  hit: Hit,
  iso: IsoInfo,
): DetectionCandidate {
  const raw = p.version ?? hit.version;
  const version = raw ? findVersion(entry, raw) : null;
  const arch = p.arch ?? guessArch(`${iso.volumeId} ${iso.application}`);
  const base = { os: entry.id, name: entry.name, arch };
  const why = `${hit.field} "${hit.value}"`;
  if (version) {
    return {
      ...base,
      version: version.id,
      versionName: version.name,
      confidence: 'exact',
      reason: `${why} is ${version.name}`,
    };
  }
  const shown = raw ? raw.replace(/_/g, '.') : null;
  return {
    ...base,
    version: shown,
    versionName: shown ? `${entry.name} ${shown}` : null,
    confidence: 'family',
    reason: shown
      ? `${why} is ${entry.name} ${shown}, a version the catalogue does not list: using the ${entry.name} profile`
      : `${why} is ${entry.name}; the version is not in the volume id`,
  };
}
