/**
 * Which CPU architectures an ISO boots on, told from what its firmware would load: El Torito's
 * platform ids, the removable-media EFI loaders (`EFI/BOOT/BOOTAA64.EFI`) in the EFI boot image or
 * the ISO tree, GRUB's platform folders, PowerPC's `ppc/bootinfo.txt` and IBM Z's `*.ins` files.
 * Volume ids are not used: they are free text, and the catalogue's patterns read them already.
 */
import type { IsoArchEvidence, VmArch } from '../../../common/contract';
import { sliceSource, type ByteSource } from './byte-source';
import { listFatDir } from './fat';
import { findIsoEntry, listIsoDir, type IsoDirEntry } from './iso-tree';

const SECTOR = 2048;
const PLATFORM_X86 = 0x00;
const PLATFORM_EFI = 0xef;
/** An ESP larger than this is not read (they are a few MiB; the FAT reader reads little anyway). */
const MAX_ESP_BYTES = 512 * 1024 * 1024;

/** UEFI's removable-media loader names (UEFI 2.10, 3.5.1.1) for the architectures Vivarium runs. */
export const EFI_LOADERS: Readonly<Record<string, VmArch>> = {
  'bootx64.efi': 'x86_64',
  'bootaa64.efi': 'aarch64',
  'bootriscv64.efi': 'riscv64',
};

/** GRUB's platform folders (`boot/grub/<platform>`) that name an architecture Vivarium runs. */
export const GRUB_PLATFORMS: Readonly<Record<string, VmArch>> = {
  'x86_64-efi': 'x86_64',
  'i386-pc': 'x86_64',
  'arm64-efi': 'aarch64',
  'riscv64-efi': 'riscv64',
  'powerpc-ieee1275': 'ppc64le',
};

/** Where each piece of evidence was found, so the user sees why ("EFI/BOOT/BOOTAA64.EFI"). */
export async function isoArchEvidence(
  src: ByteSource,
  root: IsoDirEntry,
  /** El Torito's boot entries (iso9660.ts parses them), null without a boot catalog. */
  boot: ReadonlyArray<{ platform: number; bootable: boolean; loadRba: number }> | null,
): Promise<IsoArchEvidence[]> {
  const out: IsoArchEvidence[] = [];
  const add = (arch: VmArch, reason: string) => out.push({ arch, reason });

  for (const entry of (boot ?? []).filter((e) => e.bootable && e.platform === PLATFORM_EFI)) {
    const image = sliceSource(src, entry.loadRba * SECTOR, MAX_ESP_BYTES);
    const files = await listFatDir(image, 'EFI/BOOT').catch(() => null);
    for (const f of files ?? []) {
      const arch = EFI_LOADERS[f.name.toLowerCase()];
      if (arch && !f.dir) add(arch, `EFI boot image holds EFI/BOOT/${f.name}`);
    }
  }
  const efiDir = await findIsoEntry(src, root, 'efi/boot');
  for (const f of efiDir?.dir ? await listIsoDir(src, efiDir) : []) {
    const arch = EFI_LOADERS[f.name.toLowerCase()];
    if (arch && !f.dir) add(arch, `the disc holds EFI/BOOT/${f.name}`);
  }
  if ((boot ?? []).some((e) => e.bootable && e.platform === PLATFORM_X86)) {
    add('x86_64', 'El Torito BIOS (x86) boot entry');
  }
  const grub = await findIsoEntry(src, root, 'boot/grub');
  for (const d of grub?.dir ? await listIsoDir(src, grub) : []) {
    const arch = GRUB_PLATFORMS[d.name.toLowerCase()];
    if (arch && d.dir) add(arch, `GRUB for ${d.name} (boot/grub/${d.name})`);
  }
  const rootFiles = await listIsoDir(src, root);
  if (await findIsoEntry(src, root, 'ppc/bootinfo.txt')) {
    add('ppc64le', 'PowerPC Open Firmware boot file ppc/bootinfo.txt');
  }
  const s390 = await findIsoEntry(src, root, 'boot/s390x');
  if (s390) add('s390x', 'IBM Z boot folder boot/s390x');
  for (const f of rootFiles.filter((e) => !e.dir && /\.ins$/i.test(e.name))) {
    add('s390x', `IBM Z boot list ${f.name}`);
  }
  return out;
}

/** The architectures evidence names, most telling first (EFI loaders, then the rest), once each. */
export function archesOf(evidence: IsoArchEvidence[]): VmArch[] {
  return [...new Set(evidence.map((e) => e.arch))];
}

/**
 * The architecture to preselect: the host's own when the image boots on it (a multi-arch disc
 * runs without emulation), else the first found; null when nothing said.
 */
export function preferredArch(arches: readonly VmArch[], host: VmArch | null): VmArch | null {
  if (host && arches.includes(host)) return host;
  return arches[0] ?? null;
}
