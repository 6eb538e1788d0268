/**
 * What an image brought in from elsewhere may contain before Vivarium copies it. A disk image can
 * name other files (a qcow2 backing file, VMDK extents): pointed at /etc/shadow or ~/.ssh, the
 * "disk" would hand that file's bytes to the guest. So only files in the image's own folder are
 * followed, never protocols (nbd:, http:, json:), and only formats QEMU reads safely.
 */
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { ImageInfo } from './qemu-img';

/** qemu-img format names we import: qcow2, raw/img, VMDK, VDI, VHDX and VHD ('vpc'). */
export const IMPORT_FORMATS: ReadonlyMap<string, string> = new Map([
  ['qcow2', 'qcow2'],
  ['raw', 'raw'],
  ['vmdk', 'VMDK (VMware)'],
  ['vdi', 'VDI (VirtualBox)'],
  ['vhdx', 'VHDX (Hyper-V)'],
  ['vpc', 'VHD (Virtual PC, Hyper-V)'],
]);

const PROTOCOL = /^[a-z][a-z0-9+.-]*:/i;

function inside(folder: string, file: string): boolean {
  const rel = relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(sep));
}

/**
 * Why the chain (top first, as `qemu-img info --backing-chain` lists it) may not be imported, or
 * null when it may. `folder` is the (real) folder of the top image. Pure.
 */
export function importProblem(chain: ImageInfo[], folder: string): string | null {
  const top = chain[0];
  if (!top) return 'qemu-img could not read the image.';
  if (!IMPORT_FORMATS.has(top.format)) {
    return (
      `This is a ${top.format || 'unknown'} image; Vivarium imports ${[...IMPORT_FORMATS.values()].join(', ')}. ` +
      `Convert it first (qemu-img convert -O qcow2 ...).`
    );
  }
  for (const layer of chain) {
    const here = dirname(resolve(folder, layer.filename));
    for (const extent of layer.extents) {
      if (PROTOCOL.test(extent))
        return `The image reads its data from ${extent}, which Vivarium does not follow.`;
      const full = resolve(here, extent);
      if (!inside(folder, full)) {
        return `The image reads its data from ${full}, outside its own folder: Vivarium only follows files next to the image.`;
      }
    }
    if (!layer.backingFilename) continue;
    if (PROTOCOL.test(layer.backingFilename)) {
      return `The image is backed by ${layer.backingFilename}, which Vivarium does not follow.`;
    }
    const full = layer.fullBackingFilename ?? resolve(here, layer.backingFilename);
    if (!inside(folder, full)) {
      return (
        `The image is an overlay on ${full}, outside its own folder. A backing file can make a disk ` +
        'show any file on this computer, so Vivarium only follows backing files next to the image: ' +
        'move them together, or flatten it first (qemu-img convert -O qcow2 ...).'
      );
    }
    if (!IMPORT_FORMATS.has(layer.backingFormat ?? '') && layer.backingFormat !== null) {
      return `The image's backing file is a ${layer.backingFormat} image, which Vivarium does not import.`;
    }
  }
  return null;
}
