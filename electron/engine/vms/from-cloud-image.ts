/**
 * A VM made from a cloud image: its system disk (a thin overlay on the image, or a copy) grown to
 * the size asked, and the NoCloud seed its first boot reads (the login, keys, host name, the
 * host's regional settings, the guest agent).
 */
import { open } from 'node:fs/promises';
import { VivariumError } from '../errors';
import { imageInfo, convertImage, createSizedOverlay, resizeImage } from '../storage/qemu-img';
import { checkReadableFile } from './file-checks';

export interface CloudDiskPlan {
  image: string;
  format: 'qcow2' | 'raw';
  /** The disk's size: what was asked, and never less than the image itself. */
  sizeBytes: number;
  mode: 'overlay' | 'copy';
}

/** ISO 9660's signature sits at byte 32769: an install ISO probes as a raw disk image. */
async function isIso9660(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(5);
    const { bytesRead } = await handle.read(buf, 0, 5, 32769);
    return bytesRead === 5 && buf.toString('latin1') === 'CD001';
  } finally {
    await handle.close();
  }
}

/** Checks the image and works out the disk; nothing is written yet. */
export async function planCloudDisk(
  imgPath: string,
  image: string,
  askedBytes: number,
  mode: 'overlay' | 'copy',
): Promise<CloudDiskPlan> {
  await checkReadableFile(image, 'cloud image');
  if (await isIso9660(image)) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `${image} is an install ISO, not a cloud image: install from it instead (create with --iso).`,
    );
  }
  const info = await imageInfo(imgPath, image).catch((err: unknown) => {
    throw new VivariumError(
      'INVALID_REQUEST',
      `Could not read ${image} as a disk image: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  if (info.format !== 'qcow2' && info.format !== 'raw') {
    throw new VivariumError(
      'INVALID_REQUEST',
      `${image} is a ${info.format} image; cloud guests are made from qcow2 or raw images ` +
        `(convert it first: qemu-img convert -O qcow2 ${image} image.qcow2).`,
    );
  }
  return { image, format: info.format, sizeBytes: Math.max(askedBytes, info.virtualSize), mode };
}

/** Writes the system disk into `target`; on failure nothing half-written is left (the caller's folder goes). */
export async function makeCloudDisk(
  imgPath: string,
  plan: CloudDiskPlan,
  target: string,
): Promise<void> {
  if (plan.mode === 'overlay') {
    await createSizedOverlay(imgPath, target, plan.image, plan.format, plan.sizeBytes);
    return;
  }
  await convertImage(imgPath, {
    source: plan.image,
    sourceFormat: plan.format,
    target,
    targetFormat: 'qcow2',
  });
  await resizeImage(imgPath, target, 'qcow2', plan.sizeBytes, false);
}
