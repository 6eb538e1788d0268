/**
 * The catalogue's data format (assets/catalog/*.json, VIVARIUM_CATALOG_EXTRA files), validated
 * with zod when it is loaded. The API's shapes are the contract's; this is what a file holds.
 */
import { z } from 'zod';
import {
  CLOUD_DISK_FORMATS,
  CLOUD_INIT_AGENTS,
  DISK_BUSES,
  FIRMWARES,
  GUEST_ARCHES,
  MACHINE_TYPES,
  MEDIA_KINDS,
  NIC_MODELS,
  OS_FAMILIES,
  SOUND_MODELS,
  VIDEO_MODELS,
  type CatalogEntry,
  type CatalogFactSource,
  type CatalogVersion,
  type DetectPattern,
  type HardwareProfile,
  type MediaSpec,
  type OsFamily,
  type ResourceSpec,
} from '../../../common/contract';

/** The logo that stands in for an entry without its own: its family's. */
export const FAMILY_LOGO: Record<OsFamily, string> = {
  windows: 'windows',
  linux: 'linux',
  bsd: 'bsd',
  solaris: 'solaris',
  dos: 'dos',
  alternative: 'alternative',
  other: 'generic',
};

const Id = z.string().regex(/^[a-z0-9][a-z0-9._+-]{0,63}$/, 'ids are lowercase: a-z 0-9 . _ + -');

/** A JavaScript regular expression, checked by compiling it. */
export const RegexSource = z
  .string()
  .min(1)
  .refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression');

const Hex = (len: number) =>
  z.string().regex(new RegExp(`^[a-f0-9]{${len}}$`), `${len} lowercase hex digits`);

export const HardwareProfileSchema = z.object({
  machine: z.enum(MACHINE_TYPES),
  firmware: z.enum(FIRMWARES),
  biosSupported: z.boolean().default(true),
  tpm: z.boolean().default(false),
  secureBoot: z.boolean().default(false),
  diskBus: z.enum(DISK_BUSES),
  nicModel: z.enum(NIC_MODELS),
  video: z.enum(VIDEO_MODELS),
  sound: z.enum(SOUND_MODELS),
  input: z.enum(['usb-tablet', 'ps2']),
}) satisfies z.ZodType<HardwareProfile>;

const ResourceSpecSchema = z.object({
  memoryMiB: z
    .number()
    .int()
    .min(16)
    .max(1024 * 1024),
  cpus: z.number().int().min(1).max(64),
  diskGiB: z.number().min(0).max(65536),
}) satisfies z.ZodType<ResourceSpec>;

const UrlTemplate = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL')
  .refine((u) => {
    const placeholders = u.match(/\{[^}]*\}/g) ?? [];
    return placeholders.every((p) => p === '{file}' || p.startsWith('{latest:'));
  }, 'only {file} and {latest:REGEX} placeholders are known');

export const MediaSpecSchema = z
  .object({
    id: Id,
    label: z.string().min(1),
    arch: z.enum(GUEST_ARCHES),
    kind: z.enum(MEDIA_KINDS),
    diskFormat: z.enum(CLOUD_DISK_FORMATS).optional(),
    cloudInit: z.enum(CLOUD_INIT_AGENTS).optional(),
    defaultUser: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name')
      .optional(),
    urls: z.array(UrlTemplate).default([]),
    file: z
      .string()
      .regex(/^[^/\\\0]+$/, 'a file name, not a path')
      .optional(),
    filePattern: RegexSource.optional(),
    sizeBytes: z.number().int().positive().optional(),
    sha256: Hex(64).optional(),
    checksum: z
      .object({
        urls: z.array(z.string().min(1)).min(1),
        algorithm: z.enum(['sha256', 'sha512']).default('sha256'),
        name: z.string().min(1).optional(),
      })
      .optional(),
    checksumReason: z.string().min(10).optional(),
    archive: z
      .discriminatedUnion('format', [
        z.object({ format: z.enum(['zip', '7z']), member: RegexSource }),
        z.object({ format: z.literal('xz') }),
      ])
      .optional(),
    page: z.url().optional(),
  })
  .superRefine((m, ctx) => {
    const sources = [m.sha256, m.checksum, m.checksumReason].filter((x) => x !== undefined).length;
    if (sources !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of sha256, checksum or checksumReason',
        path: ['sha256'],
      });
    }
    if (m.urls.length === 0 && !m.page && !m.checksumReason) {
      ctx.addIssue({
        code: 'custom',
        message: 'give urls, a page, or say why neither',
        path: ['urls'],
      });
    }
    const needsFile = m.urls.some((u) => u.includes('{file}'));
    if (needsFile && !m.file && !m.filePattern) {
      ctx.addIssue({ code: 'custom', message: '{file} needs file or filePattern', path: ['file'] });
    }
    if (m.kind === 'cloud') {
      if (!m.diskFormat || !m.cloudInit) {
        ctx.addIssue({
          code: 'custom',
          message: 'a cloud image says its diskFormat and its cloudInit agent',
          path: ['kind'],
        });
      }
    } else if (m.diskFormat || m.cloudInit || m.defaultUser) {
      ctx.addIssue({
        code: 'custom',
        message: 'diskFormat, cloudInit and defaultUser belong to cloud images only',
        path: ['kind'],
      });
    }
    if (m.archive?.format === 'xz' && m.kind !== 'cloud') {
      ctx.addIssue({
        code: 'custom',
        message: 'xz-compressed downloads are cloud images (install media come as ISOs)',
        path: ['archive'],
      });
    }
  }) satisfies z.ZodType<MediaSpec>;

const VersionSchema = z.object({
  id: Id,
  name: z.string().min(1),
  codename: z.string().optional(),
  released: z.iso.date().optional(),
  eol: z.iso.date().optional(),
  lts: z.boolean().optional(),
  status: z.enum(['current', 'supported', 'rolling', 'legacy']).default('supported'),
  media: z.array(MediaSpecSchema).default([]),
  notes: z.array(z.string()).default([]),
}) satisfies z.ZodType<CatalogVersion>;

export const DetectPatternSchema = z
  .object({
    /** '' leaves the volume id free (then `application` must say something). */
    volumeId: z.union([z.literal(''), RegexSource]),
    publisher: RegexSource.optional(),
    application: RegexSource.optional(),
    system: RegexSource.optional(),
    ignoreCase: z.boolean().optional(),
    version: z.string().optional(),
    arch: z.enum(GUEST_ARCHES).optional(),
  })
  .refine((p) => p.volumeId !== '' || p.application !== undefined, {
    message: 'a pattern needs a volumeId or an application',
    path: ['volumeId'],
  }) satisfies z.ZodType<DetectPattern>;

export const FactSourceSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  what: z.string().min(3),
}) satisfies z.ZodType<CatalogFactSource>;

/** One entry as a file holds it; the loader adds `source` and `logoSvg`. */
export const CatalogEntryFileSchema = z
  .object({
    id: Id,
    name: z.string().min(1),
    vendor: z.string().min(1),
    family: z.enum(OS_FAMILIES),
    description: z.string().min(1),
    homepage: z.url().nullable().default(null),
    logo: z.string().regex(/^[a-z0-9-]+$/),
    architectures: z.array(z.enum(GUEST_ARCHES)).min(1),
    aliases: z.array(z.string().min(1)).default([]),
    /** osinfo short ids (regexes) this entry stands for: their versions and volume ids join it. */
    osinfo: z.array(RegexSource).default([]),
    profile: HardwareProfileSchema,
    resources: z.object({ minimum: ResourceSpecSchema, recommended: ResourceSpecSchema }),
    versions: z.array(VersionSchema).default([]),
    detect: z.array(DetectPatternSchema).default([]),
    notes: z.array(z.string()).default([]),
    /** Pages and listings its facts come from; Vivarium's own entries must name them. */
    sources: z.array(FactSourceSchema).default([]),
    /** The date its facts were last checked against `sources`. */
    checked: z.iso.date().optional(),
  })
  .superRefine((e, ctx) => {
    const ids = new Set<string>();
    e.versions.forEach((v, i) => {
      if (ids.has(v.id))
        ctx.addIssue({
          code: 'custom',
          message: `duplicate version ${v.id}`,
          path: ['versions', i],
        });
      ids.add(v.id);
    });
    const r = e.resources;
    if (r.recommended.memoryMiB < r.minimum.memoryMiB || r.recommended.cpus < r.minimum.cpus) {
      ctx.addIssue({
        code: 'custom',
        message: 'recommended is below minimum',
        path: ['resources'],
      });
    }
    if (e.profile.secureBoot && e.profile.firmware !== 'uefi') {
      ctx.addIssue({ code: 'custom', message: 'Secure Boot needs UEFI', path: ['profile'] });
    }
    if (!e.profile.biosSupported && e.profile.firmware !== 'uefi') {
      ctx.addIssue({
        code: 'custom',
        message: 'no BIOS support but firmware bios',
        path: ['profile'],
      });
    }
  });
export type CatalogEntryFile = z.output<typeof CatalogEntryFileSchema>;

/** A catalogue file holding a list of entries (a file may also hold just one entry). */
export const CatalogFileSchema = z.array(CatalogEntryFileSchema);

/** The loaded entry: what the API returns, plus the osinfo ids it absorbs. */
export type LoadedEntry = CatalogEntry & { osinfoPatterns: string[] };

/** Formats zod issues as "path: message" lines for a load error. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
