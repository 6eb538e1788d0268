/**
 * How install media are named to people: by the name the user gave an upload (or the download's
 * file name) and the OS they hold, never by the cache's `media/<sha256>/` folder. The renderer
 * and the CLI both turn a VM's CD-ROM path into this name with the media list in hand.
 */
import type { CachedMedia } from './contract/media';

/** "Debian 12 “bookworm”" and 'Debian 12 "bookworm"' become "Debian 12": the codename is noise here. */
export function plainOsName(name: string): string {
  return name.replace(/\s+["“][^"”]*["”]\s*$/, '').trim();
}

/** An image that came from a browser upload (it has no URL to download it again from). */
export function isUploaded(m: Pick<CachedMedia, 'url'>): boolean {
  return m.url === '';
}

/** "debian-12.5.0-amd64-netinst.iso (Debian 12)", or the file name alone when the OS is unknown. */
export function mediaDisplayName(m: Pick<CachedMedia, 'filename' | 'osName'>): string {
  return m.osName ? `${m.filename} (${m.osName})` : m.filename;
}

/** The last segment of a path, either slash. */
export function baseName(path: string): string {
  return path.split(/[/\\]/).filter(Boolean).pop() ?? path;
}

const CACHE_IMAGE_RE = /[/\\]media[/\\]([a-f0-9]{64})[/\\][^/\\]+$/;

/**
 * What a CD-ROM path is called: a cached image by its display name (found in `media` by path, or
 * by the sha256 folder when the list has it under another path); the user's own file by its
 * file name. Null for an empty drive.
 */
export function cdromDisplayName(
  path: string | null,
  media: ReadonlyArray<Pick<CachedMedia, 'file' | 'sha256' | 'displayName'>>,
): string | null {
  if (!path) return null;
  const byPath = media.find((m) => m.file === path);
  if (byPath) return byPath.displayName;
  const sha = CACHE_IMAGE_RE.exec(path)?.[1];
  const bySha = sha ? media.find((m) => m.sha256 === sha) : undefined;
  return bySha ? bySha.displayName : baseName(path);
}
