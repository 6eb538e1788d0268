/**
 * A cache entry's folder, `media/<sha256>/`, holds the image and its record (`meta.json`). The
 * image keeps the name it came with (the user's upload, the download's URL), except the one name
 * that would overwrite its own record (an upload called `meta.json` destroyed itself): that image
 * is stored as `image-meta.json`, its record still says the name the user gave.
 */

/** The record's file name in an entry's folder. */
export const RECORD_FILE = 'meta.json';

/** The name an image is stored under in its entry's folder: never the record's. */
export function imageFileName(name: string): string {
  // Case-insensitive: on macOS and Windows `META.JSON` is the same file.
  return name.toLowerCase() === RECORD_FILE ? `image-${name}` : name;
}
