/**
 * Install media: ISO detection, verified downloads into the media cache, partial downloads and
 * browser uploads. `media.download` returns a task: progress arrives as `task` events (bytes,
 * speed, ETA); the finished task's `result` is a {@link MediaDownloadResult}.
 */
import { z } from 'zod';
import { GUEST_ARCHES, type GuestArch } from './catalog';
import type { VmArch } from './vocabulary';
import type { TaskInfo } from './tasks';
import { AbsolutePathSchema } from './vm-config';

/** The ISO 9660 primary volume descriptor and El Torito facts of an image. */
export interface IsoInfo {
  volumeId: string;
  /** The Joliet volume id when it differs (it may be longer and mixed case). */
  jolietVolumeId: string | null;
  systemId: string;
  volumeSetId: string;
  publisher: string;
  preparer: string;
  application: string;
  /** ISO 8601, from the descriptor's creation date; null when unset. */
  created: string | null;
  volumeBytes: number;
  elTorito: { bios: boolean; uefi: boolean; entries: number } | null;
  /**
   * The architectures it boots on, told from its boot files (EFI loaders, El Torito's BIOS
   * entry, GRUB's platform folders, PowerPC's and IBM Z's boot files), most telling first; empty
   * when nothing said.
   */
  architectures: VmArch[];
  /** What told each one, e.g. 'EFI boot image holds EFI/BOOT/BOOTAA64.EFI'. */
  archEvidence: IsoArchEvidence[];
}

export interface IsoArchEvidence {
  arch: VmArch;
  reason: string;
}

export interface DetectionCandidate {
  os: string;
  name: string;
  version: string | null;
  versionName: string | null;
  arch: GuestArch | null;
  /** 'exact': the OS and a version it knows; 'family': the OS, version unknown or ambiguous;
   * 'none': nothing matched, the Generic profile. */
  confidence: 'exact' | 'family' | 'none';
  /** The field that matched, e.g. 'volume id "Debian 13.1.0 amd64 n"'. */
  reason: string;
}

export interface MediaDetection {
  file: string;
  sizeBytes: number;
  format: 'iso9660' | 'qcow2' | 'vmdk' | 'vdi' | 'vhdx' | 'unknown';
  iso: IsoInfo | null;
  /** Best first; never empty (the last resort is Generic with confidence 'none'). */
  candidates: DetectionCandidate[];
  best: DetectionCandidate;
  /**
   * The architecture a VM for it gets: the host's own when the image boots on it, else the first
   * its boot files name, else the best candidate's; null when nothing tells.
   */
  arch: VmArch | null;
}

export type CachedMediaFormat = MediaDetection['format'] | 'raw';

export interface CachedMedia {
  sha256: string;
  /** The image to boot (extracted from its archive when it came in one). */
  file: string;
  filename: string;
  bytes: number;
  /** Where it was downloaded from; '' for an image uploaded from a browser (server mode). */
  url: string;
  os: string | null;
  version: string | null;
  mediaId: string | null;
  /**
   * The OS it holds as people name it ("Debian 12"): the catalogue's for a download, what
   * detection recognised for an upload; null when unknown.
   */
  osName: string | null;
  /**
   * The architecture it boots on: the catalogue's for a download, what detection told from its
   * boot files for an upload or a local image; null when unknown (a record from before).
   */
  arch: VmArch | null;
  /**
   * What every front door shows for it (common/media-names.ts): the name the user gave an upload
   * or the download's file name, with the OS beside it, never the cache's sha256 folder.
   */
  displayName: string;
  /** How it was checked: against a published SHA-256/512, a hash the user gave, or not at all. */
  verified: 'published' | 'user' | 'none';
  /**
   * What the image is: an ISO 9660 disc, a disk image (a cloud image is 'qcow2' or 'raw'), or
   * 'unknown' (not an ISO and no disk-image header).
   */
  format: CachedMediaFormat;
  addedAt: string;
  /**
   * VMs whose CD-ROM holds this image now, by real path (a symlink to it counts), sorted by name;
   * they keep it busy: see `media.delete`.
   */
  usedBy: { id: string; name: string }[];
}

/**
 * A download that stopped before its end (cancelled, cut off, the app quit): it resumes where it
 * stopped when the same media (or URL) is downloaded again, or is discarded to free the space.
 */
export interface PartialDownload {
  /** Names it for `media.discardPartial`. */
  key: string;
  url: string;
  /** The file name the URL gives. */
  filename: string;
  bytes: number;
  /** The full size, when the server said. */
  total: number | null;
  /** The SHA-256 it is expected to have, when known (pass it back to `media.download`). */
  sha256: string | null;
  modifiedAt: string;
}

export interface MediaDownloadResult {
  file: string;
  sha256: string;
  bytes: number;
  /** Already in the cache: nothing was downloaded. */
  reused: boolean;
  media: CachedMedia;
}

/**
 * What server mode's `PUT /upload?name=FILE` (the body: the image, with a Content-Length)
 * answers: an image sent from the browser, stored in the media cache like a download (`reused`
 * when the cache already held the same bytes: no second copy), and what `media.detect` makes of
 * it. Errors answer with an {@link ApiErrorBody}.
 */
export interface MediaUploadResult extends MediaDownloadResult {
  detection: MediaDetection;
}

const Sha256Schema = z
  .string()
  .trim()
  .regex(/^[A-Fa-f0-9]{64}$/, 'A SHA-256 is 64 hex digits')
  .transform((s) => s.toLowerCase());

/** Either a catalogue entry's media (`os`, optionally `version`, `media`, `arch`) or a URL. */
export const MediaDownloadRequestSchema = z
  .object({
    os: z.string().min(1).max(200).optional(),
    version: z.string().min(1).max(100).optional(),
    media: z.string().min(1).max(100).optional(),
    arch: z.enum(GUEST_ARCHES).optional(),
    url: z.url({ protocol: /^https?$/, error: 'Give an http:// or https:// URL' }).optional(),
    sha256: Sha256Schema.optional(),
  })
  .refine((r) => (r.os === undefined) !== (r.url === undefined), {
    message: 'Give either an OS from the catalogue or a URL',
    path: ['os'],
  })
  .refine((r) => r.url !== undefined || r.sha256 === undefined, {
    message: 'A SHA-256 goes with a URL; catalogue media carry their own',
    path: ['sha256'],
  });

export const mediaMethods = {
  /** Reads a local image's ISO 9660 descriptors and matches them to the catalogue. */
  'media.detect': z.object({ file: AbsolutePathSchema }),
  /** Downloads (or finds in the cache) and verifies install media. Returns a task. */
  'media.download': MediaDownloadRequestSchema,
  'media.list': z.object({}),
  /**
   * Deletes a cached image. One that is in a VM's CD-ROM is refused (BAD_STATE, naming the VMs)
   * unless `eject`: then it is ejected from those VMs first, which must be stopped.
   */
  'media.delete': z.object({ sha256: Sha256Schema, eject: z.boolean().default(false) }),
  /**
   * Downloads that stopped before their end, newest first. One being written now (by this or
   * another Vivarium process on the same data folder) is left out.
   */
  'media.partials': z.object({}),
  /** Deletes a partial download: NOT_FOUND for an unknown key, BAD_STATE while it downloads. */
  'media.discardPartial': z.object({ key: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/) }),
} as const;

export interface MediaResults {
  'media.detect': MediaDetection;
  'media.download': TaskInfo;
  'media.list': CachedMedia[];
  'media.delete': { deleted: boolean; file: string | null; ejectedFrom: string[] };
  'media.partials': PartialDownload[];
  'media.discardPartial': { discarded: boolean; bytes: number };
}
