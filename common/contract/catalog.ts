/**
 * The guest-OS catalogue: curated entries, extended by osinfo-db where the host has it; what a
 * profile means on this host (`catalog.defaults`, also applied by `vm.create` when `os` is given);
 * and the maintainers' check that every catalogue download is still there.
 */
import { z } from 'zod';
import type { TaskInfo } from './tasks';
import type {
  DISK_BUSES,
  FIRMWARES,
  MACHINE_TYPES,
  NIC_MODELS,
  SoundModel,
  VIDEO_MODELS,
} from './vm-config';

export const OS_FAMILIES = [
  'windows',
  'linux',
  'bsd',
  'solaris',
  'dos',
  'alternative',
  'other',
] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];
/**
 * The architectures a catalogue entry's media are for: every VM architecture (common/arch.ts),
 * and i686, 32-bit x86, which runs as an x86_64 VM (vmArchOf in common/arch.ts).
 */
export const GUEST_ARCHES = ['x86_64', 'i686', 'aarch64', 'ppc64le', 's390x', 'riscv64'] as const;
export type GuestArch = (typeof GUEST_ARCHES)[number];
/** 'usb-tablet': absolute pointer (the mouse follows the viewer's); 'ps2': relative PS/2 mouse. */
export type PointerInput = 'usb-tablet' | 'ps2';
/** Where an entry comes from: Vivarium's own data, the host's osinfo-db, or an extra file. */
export type CatalogSource = 'curated' | 'osinfo' | 'extra';

/** A page or folder listing an entry's facts (versions, URLs, checksums, volume ids) come from. */
export interface CatalogFactSource {
  url: string;
  /** What it tells, e.g. 'release mirrors and SHA-256'. */
  what: string;
}

/** The virtual hardware an OS has drivers for, out of the box. */
export interface HardwareProfile {
  machine: (typeof MACHINE_TYPES)[number];
  firmware: (typeof FIRMWARES)[number];
  /** false: the OS cannot boot with BIOS (Windows 11), so there is no fallback without OVMF. */
  biosSupported: boolean;
  tpm: boolean;
  secureBoot: boolean;
  diskBus: (typeof DISK_BUSES)[number];
  nicModel: (typeof NIC_MODELS)[number];
  video: (typeof VIDEO_MODELS)[number];
  sound: SoundModel;
  input: PointerInput;
}

export interface ResourceSpec {
  memoryMiB: number;
  cpus: number;
  /** 0: the OS runs without a disk (a live system). */
  diskGiB: number;
}

/** The first-boot agent a cloud image runs: it reads the NoCloud seed (`cidata`). */
export const CLOUD_INIT_AGENTS = ['cloud-init', 'tiny-cloud', 'nuageinit'] as const;
export type CloudInitAgent = (typeof CLOUD_INIT_AGENTS)[number];
/** A cloud image's disk format once downloaded (and decompressed). */
export const CLOUD_DISK_FORMATS = ['qcow2', 'raw'] as const;
export type CloudDiskFormat = (typeof CLOUD_DISK_FORMATS)[number];

export const MEDIA_KINDS = ['installer', 'netinst', 'live', 'bootonly', 'cloud'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** How a download is packed: the image is a member of an archive, or the whole file compressed. */
export type MediaArchive = { format: 'zip' | '7z'; member: string } | { format: 'xz' };

export interface MediaSpec {
  /** Unique within its version, e.g. 'netinst', 'desktop', 'genericcloud'. */
  id: string;
  label: string;
  arch: GuestArch;
  /**
   * 'cloud': a ready-installed disk image that configures itself on first boot from a NoCloud
   * seed (it becomes the VM's disk, not its CD-ROM); the others are install or live media.
   */
  kind: MediaKind;
  /** kind 'cloud' only: the disk format of the image as cached (after any decompression). */
  diskFormat?: CloudDiskFormat;
  /** kind 'cloud' only: the first-boot agent the image runs. */
  cloudInit?: CloudInitAgent;
  /** kind 'cloud' only: the user the image's own configuration creates (informative). */
  defaultUser?: string;
  /**
   * Download URLs, the first the primary and the rest mirrors, tried in order. They may hold
   * `{file}` (the file name, fixed or found with `filePattern`) and `{latest:REGEX}` (the greatest
   * entry of that folder's listing matching REGEX, e.g. a dated snapshot folder). Empty for media
   * a person has to fetch from `page` (Windows).
   */
  urls: string[];
  file?: string;
  /** Finds the file name in the checksum list (or the folder listing): the greatest match wins. */
  filePattern?: string;
  /** Roughly, for the free-space check before the server says. */
  sizeBytes?: number;
  sha256?: string;
  /** A checksum list (SHA256SUMS, CHECKSUM, *.sha256...): URLs relative to the media's folder or
   * absolute, `{file}` allowed; the first that loads is used. */
  checksum?: { urls: string[]; algorithm: 'sha256' | 'sha512'; name?: string };
  /** Why there is no checksum to verify against (nightly builds, manual downloads). */
  checksumReason?: string;
  /**
   * The download is an archive holding the image (`member`, a regex, picks it) or the image
   * compressed with xz; the checksum is the download's, checked before unpacking.
   */
  archive?: MediaArchive;
  /** A page where a person downloads it. */
  page?: string;
}

export interface CatalogVersion {
  id: string;
  name: string;
  codename?: string;
  released?: string;
  /** End of the project's support (ISO date), when known. */
  eol?: string;
  lts?: boolean;
  /** 'legacy' versions are known (for detection) but not offered as a download. */
  status: 'current' | 'supported' | 'rolling' | 'legacy';
  media: MediaSpec[];
  notes: string[];
}

/** One ISO 9660 signature. Every regex given must match (osinfo's are anchored at the start). */
export interface DetectPattern {
  /** A regex for the volume id; '' leaves it free (then `application` says what to match). */
  volumeId: string;
  publisher?: string;
  application?: string;
  system?: string;
  ignoreCase?: boolean;
  /** The version the pattern means; a named group `version` in `volumeId` or `application`
   * takes it from the image instead. */
  version?: string;
  arch?: GuestArch;
}

export interface CatalogEntry {
  id: string;
  name: string;
  vendor: string;
  family: OsFamily;
  description: string;
  homepage: string | null;
  /** A file name in assets/logos without `.svg`; `logoSvg` holds the image itself. */
  logo: string;
  logoSvg: string;
  source: CatalogSource;
  architectures: GuestArch[];
  /** Other ids that select this entry ('win11', 'debian12' style osinfo short ids match too). */
  aliases: string[];
  profile: HardwareProfile;
  resources: { minimum: ResourceSpec; recommended: ResourceSpec };
  /** Newest first; the first non-legacy one is the default. */
  versions: CatalogVersion[];
  detect: DetectPattern[];
  /** What a beginner needs to know: drivers, quirks, workarounds. */
  notes: string[];
  /** Where its facts come from (required of curated entries; empty for osinfo-db's). */
  sources: CatalogFactSource[];
  /** When its facts were last checked against those sources (ISO date), when known. */
  checked: string | null;
}

export interface CatalogSummary {
  id: string;
  name: string;
  family: OsFamily;
  description: string;
  logo: string;
  source: CatalogSource;
  architectures: GuestArch[];
  /** The default version's id and name. */
  latest: { id: string; name: string } | null;
  versions: Array<{ id: string; name: string; status: CatalogVersion['status'] }>;
  minimum: ResourceSpec;
  recommended: ResourceSpec;
  /** At least one version has install media Vivarium can download by itself. */
  downloadable: boolean;
  /** At least one offered version has a cloud image: the entry can be "Ready to use". */
  cloudReady: boolean;
}

export interface CatalogRequirement {
  id: 'uefi' | 'tpm' | 'secure-boot' | 'memory' | 'disk-space';
  met: boolean;
  message: string;
}

/** A profile applied to this host: what `vm.create` would use, and what the wizard prefills. */
export interface CreateDefaults {
  /** What the VM's config stores: the entry id, with the version when one was chosen. */
  os: string;
  entry: string;
  version: string | null;
  machine: (typeof MACHINE_TYPES)[number];
  firmware: (typeof FIRMWARES)[number];
  diskBus: (typeof DISK_BUSES)[number];
  nicModel: (typeof NIC_MODELS)[number];
  video: (typeof VIDEO_MODELS)[number];
  sound: SoundModel;
  usbTablet: boolean;
  /** A memory balloon: on where the OS has a driver (common/rules/balloon.ts). */
  balloon: boolean;
  /** What the guest needs for it (Windows: virtio-win), or null when it has the driver. */
  balloonNote: string | null;
  memoryMiB: number;
  cpus: number;
  /** For `vm.create`'s diskSize: '32G', or '0' for none. */
  diskSize: string;
  /** What the VM gets: false where the host cannot provide it yet (see requirements). */
  tpm: boolean;
  secureBoot: boolean;
  /** Bounds for the wizard's fields: min from the OS, max from the host. */
  limits: {
    memoryMiB: { min: number; recommended: number; max: number };
    cpus: { min: number; recommended: number; max: number };
    diskGiB: { min: number; recommended: number; free: number | null };
  };
  /** Things the user should know before going on ("4 GiB is below Windows 11's minimum"). */
  warnings: string[];
  requirements: CatalogRequirement[];
  /** What the VM gets, derived from these defaults (common/profile-notes.ts), never written apart. */
  hardwareNote: string;
  /** The catalogue's own notes (and the version's): what is not hardware. */
  notes: string[];
}

/** One mirror (URL template) of a media item, as `catalog.check` resolved and probed it. */
export interface CatalogCheckMirror {
  template: string;
  status: 'ok' | 'broken';
  /** broken: what failed, where (404, no checksum line for NAME in URL, DNS failure...). */
  reason: string | null;
  /** The image's concrete URL, once resolved. */
  url: string | null;
  file: string | null;
  /** The size the server gave for the image. */
  bytes: number | null;
  /** The checksum list holding the image's line, when the media has one. */
  checksumUrl: string | null;
}

/** One media item of a catalogue entry's version (or an entry without media, skipped). */
export interface CatalogCheckItem {
  os: string;
  osName: string;
  version: string | null;
  media: string | null;
  /** One of the entry's fact sources (media null): the page must still answer. */
  source: CatalogFactSource | null;
  /** When the entry's facts were last checked by a maintainer (ISO date), when known. */
  checked: string | null;
  arch: GuestArch | null;
  /** ok: every mirror resolves and answers; broken: one does not; skipped: nothing to check. */
  status: 'ok' | 'broken' | 'skipped';
  /** broken: the first mirror's failure (all of them when several fail); skipped: why. */
  reason: string | null;
  /** Why the image cannot be verified after download, when the catalogue says so. */
  note: string | null;
  mirrors: CatalogCheckMirror[];
  ms: number;
}

export interface CatalogCheckReport {
  items: CatalogCheckItem[];
  counts: { ok: number; broken: number; skipped: number };
  seconds: number;
}

export const catalogMethods = {
  /** Summaries, curated first; `query` matches names, ids, aliases and versions. */
  'catalog.list': z.object({
    query: z.string().max(200).optional(),
    family: z.enum(OS_FAMILIES).optional(),
    includeOsinfo: z.boolean().default(true),
  }),
  'catalog.get': z.object({ id: z.string().min(1).max(200) }),
  /** The profile of `os` on this host: what `vm.create` with that `os` would use. */
  'catalog.defaults': z.object({
    os: z.string().min(1).max(200),
    version: z.string().min(1).max(100).optional(),
  }),
  /**
   * For maintainers: resolves every media of the named entries (default: the curated and extra
   * ones) as a download would and checks, without downloading an image, that it is there. A task
   * (progress: media checked so far; cancellable) whose result is a CatalogCheckReport; an unknown
   * OS fails the call itself.
   */
  'catalog.check': z.object({
    os: z.array(z.string().min(1).max(200)).max(200).default([]),
    /** Per request, in seconds. */
    timeoutSeconds: z.number().positive().max(600).default(15),
    concurrency: z.number().int().min(1).max(16).default(4),
  }),
} as const;

export interface CatalogResults {
  'catalog.list': CatalogSummary[];
  'catalog.get': CatalogEntry;
  'catalog.defaults': CreateDefaults;
  'catalog.check': TaskInfo;
}
