/**
 * What a cached image is, told from its first bytes (iso9660.ts reads them): an ISO, a disk
 * image with a header (qcow2, vmdk, vdi, vhdx) or 'unknown'. A raw disk image has no header of
 * its own, so only the catalogue can call one 'raw' (a cloud image's diskFormat).
 */
import type { CachedMediaFormat, CloudDiskFormat, VmArch } from '../../../../common/contract';
import { VivariumError } from '../../errors';
import { readImageInfo } from '../iso9660';

/** The format of an image in the cache; 'unknown' when it cannot be read. */
export async function sniffImageFormat(file: string): Promise<CachedMediaFormat> {
  try {
    return (await readImageInfo(file)).format;
  } catch {
    return 'unknown';
  }
}

/**
 * The format of a cached image and the architecture its boot files name (the first, for a disc
 * that boots on several; null for a disk image or a disc that says nothing).
 */
export async function sniffImage(
  file: string,
): Promise<{ format: CachedMediaFormat; arch: VmArch | null }> {
  try {
    const info = await readImageInfo(file);
    return { format: info.format, arch: info.iso?.architectures[0] ?? null };
  } catch {
    return { format: 'unknown', arch: null };
  }
}

/**
 * The format of a cloud image the catalogue says is `declared`: a qcow2 must carry its header,
 * and a raw disk must not carry another format's (it would boot as garbage). Throws a
 * FILE_UNREADABLE error naming what was found instead.
 */
export async function cloudImageFormat(
  file: string,
  declared: CloudDiskFormat,
  label: string,
): Promise<CachedMediaFormat> {
  const found = await sniffImageFormat(file);
  if (declared === 'qcow2' && found !== 'qcow2') {
    throw new VivariumError(
      'FILE_UNREADABLE',
      `${label} should be a qcow2 disk image but is ${found === 'unknown' ? 'not one' : `a ${found} image`}: the download was deleted; report this catalogue entry.`,
    );
  }
  if (declared === 'raw' && found !== 'unknown') {
    throw new VivariumError(
      'FILE_UNREADABLE',
      `${label} should be a raw disk image but is a ${found} image: the download was deleted; report this catalogue entry.`,
    );
  }
  return declared;
}
