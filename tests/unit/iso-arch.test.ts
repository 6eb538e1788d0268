/**
 * An ISO's architectures told from its boot files, on images built here the way distributions
 * build theirs: xorriso (El Torito BIOS and EFI entries, Rock Ridge or plain ISO 9660 names),
 * EFI boot images made by mtools (FAT12, FAT16, FAT32, long names) and GRUB's grub-mkrescue.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../../electron/engine/catalog/byte-source';
import { listFatDir, nextCluster, parseFatBootSector } from '../../electron/engine/catalog/fat';
import { preferredArch } from '../../electron/engine/catalog/iso-arch';
import { readImageInfo } from '../../electron/engine/catalog/iso9660';

const work = mkdtempSync(join(tmpdir(), 'iso-arch-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});
let runs = 0;

/** A FAT image of `sectors` 512-byte sectors holding `files` (paths, '/'-separated). */
function fatImage(files: string[], opts: { sectors?: number; fat32?: boolean } = {}): string {
  const img = join(work, `esp-${String(runs++)}.img`);
  const sectors = opts.sectors ?? 5760;
  execFileSync('mformat', [
    '-i',
    img,
    ...(opts.fat32 ? ['-F'] : []),
    '-C',
    '-T',
    String(sectors),
    '-h',
    '2',
    '-s',
    '32',
    '::',
  ]);
  const made = new Set<string>();
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!made.has(d)) execFileSync('mmd', ['-i', img, `::/${d}`]);
      made.add(d);
    }
    const local = join(work, `file-${String(runs++)}`);
    writeFileSync(local, `not really ${f}\n`);
    execFileSync('mcopy', ['-i', img, local, `::/${f}`]);
  }
  return img;
}

/** An ISO of `tree` (path -> content; a path ending in '/' is a folder) with the boot images. */
function iso(
  tree: Record<string, string>,
  opts: { esp?: string; bios?: boolean; rockRidge?: boolean } = {},
): string {
  const root = join(work, `tree-${String(runs++)}`);
  mkdirSync(root);
  for (const [path, content] of Object.entries(tree)) {
    if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true });
    else {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
  }
  const args = ['-as', 'mkisofs', '-quiet', '-V', 'ARCH_TEST'];
  if (opts.rockRidge !== false) args.push('-R', '-J');
  else args.push('-iso-level', '3');
  if (opts.bios) {
    // A 4-sector stand-in for a BIOS loader: El Torito only points at it.
    writeFileSync(join(root, 'boot.bin'), Buffer.alloc(2048));
    args.push('-b', 'boot.bin', '-no-emul-boot', '-boot-load-size', '4');
  }
  if (opts.esp) {
    writeFileSync(join(root, 'efi.img'), readFileSync(opts.esp));
    if (opts.bios) args.push('-eltorito-alt-boot');
    args.push('-e', 'efi.img', '-no-emul-boot');
  }
  const out = `${root}.iso`;
  execFileSync('xorriso', [...args, '-o', out, root], { stdio: 'pipe' });
  return out;
}

async function archesOf(file: string) {
  const info = await readImageInfo(file);
  expect(info.format).toBe('iso9660');
  return info.iso!;
}

describe('FAT reader', () => {
  it('lists EFI/BOOT of FAT12, FAT16 and FAT32 images, long names included', async () => {
    for (const [sectors, fat32, kind] of [
      [5760, false, 12],
      [40960, false, 16],
      [70000, true, 32],
    ] as const) {
      const img = readFileSync(
        fatImage(['EFI/BOOT/BOOTAA64.EFI', 'EFI/BOOT/bootriscv64.efi', 'README.TXT'], {
          sectors,
          fat32,
        }),
      );
      expect(parseFatBootSector(img)?.kind).toBe(kind);
      const names = (await listFatDir(bufferSource(img), 'efi/boot'))?.map((e) => e.name);
      expect(names?.sort()).toEqual(['BOOTAA64.EFI', 'bootriscv64.efi']);
      expect(await listFatDir(bufferSource(img), 'efi/nothing')).toBeNull();
    }
  });

  it('follows a directory over several clusters', async () => {
    // 60 long names take 180 entries (5.6 KiB): more than one cluster of this image.
    const files = Array.from(
      { length: 60 },
      (_, i) => `EFI/BOOT/a-long-file-name-${String(i)}.efi`,
    );
    const img = readFileSync(fatImage([...files, 'EFI/BOOT/BOOTX64.EFI']));
    const names = (await listFatDir(bufferSource(img), 'EFI/BOOT'))!.map((e) => e.name);
    expect(names).toHaveLength(61);
    expect(names).toContain('BOOTX64.EFI');
    expect(names).toContain('a-long-file-name-59.efi');
  });

  it('ends a FAT12 chain at its end mark and refuses what is not FAT', () => {
    // Clusters 2 -> 3 -> end, packed 12 bits each.
    const fat = Buffer.from([0xf8, 0xff, 0xff, 0x03, 0xf0, 0xff]);
    expect(nextCluster(fat, 12, 2)).toBe(3);
    expect(nextCluster(fat, 12, 3)).toBeNull();
    expect(parseFatBootSector(Buffer.alloc(512))).toBeNull();
  });
});

describe('ISO architecture', () => {
  it('tells aarch64 from BOOTAA64.EFI in the EFI boot image (no BIOS entry)', async () => {
    const info = await archesOf(
      iso({ 'README.TXT': 'hi' }, { esp: fatImage(['EFI/BOOT/BOOTAA64.EFI']) }),
    );
    expect(info.architectures).toEqual(['aarch64']);
    expect(info.archEvidence).toEqual([
      { arch: 'aarch64', reason: 'EFI boot image holds EFI/BOOT/BOOTAA64.EFI' },
    ]);
    expect(info.elTorito).toEqual({ bios: false, uefi: true, entries: 1 });
  });

  it('tells riscv64 from a long-named loader on a FAT32 ESP', async () => {
    const esp = fatImage(['EFI/BOOT/bootriscv64.efi'], { sectors: 70000, fat32: true });
    expect((await archesOf(iso({}, { esp }))).architectures).toEqual(['riscv64']);
  });

  it('reads the EFI loader from the ISO tree, with Rock Ridge names and with plain ISO 9660 ones', async () => {
    for (const rockRidge of [true, false]) {
      const info = await archesOf(
        iso({ 'EFI/BOOT/BOOTAA64.EFI': 'x', 'EFI/BOOT/grubaa64.efi': 'x' }, { rockRidge }),
      );
      expect(info.architectures).toEqual(['aarch64']);
      expect(info.archEvidence[0]?.reason).toMatch(/EFI\/BOOT\/BOOTAA64\.EFI/i);
    }
  });

  it('lists every architecture of a multi-arch disc; the host picks its own', async () => {
    const esp = fatImage(['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/BOOTAA64.EFI']);
    const info = await archesOf(iso({}, { esp, bios: true }));
    expect(new Set(info.architectures)).toEqual(new Set(['x86_64', 'aarch64']));
    expect(info.archEvidence.map((e) => e.reason)).toContain('El Torito BIOS (x86) boot entry');
    expect(preferredArch(info.architectures, 'aarch64')).toBe('aarch64');
    expect(preferredArch(info.architectures, 'x86_64')).toBe('x86_64');
    expect(preferredArch(info.architectures, 's390x')).toBe(info.architectures[0]);
    expect(preferredArch([], 'x86_64')).toBeNull();
  });

  it('tells PowerPC from ppc/bootinfo.txt and GRUB for powerpc-ieee1275', async () => {
    const info = await archesOf(
      iso({ 'ppc/bootinfo.txt': '<chrp-boot></chrp-boot>', 'boot/grub/powerpc-ieee1275/': '' }),
    );
    expect(info.architectures).toEqual(['ppc64le']);
    expect(info.archEvidence.map((e) => e.reason).sort()).toEqual([
      'GRUB for powerpc-ieee1275 (boot/grub/powerpc-ieee1275)',
      'PowerPC Open Firmware boot file ppc/bootinfo.txt',
    ]);
  });

  it('tells IBM Z from its .ins boot list and boot/s390x', async () => {
    expect((await archesOf(iso({ 'generic.ins': '* kernel\n' }))).architectures).toEqual(['s390x']);
    expect((await archesOf(iso({ 'boot/s390x/': '' }))).architectures).toEqual(['s390x']);
  });

  it('says nothing of a data disc, and survives an EFI entry that is not FAT', async () => {
    expect((await archesOf(iso({ 'README.TXT': 'hi' }))).architectures).toEqual([]);
    const junk = join(work, 'junk.img');
    writeFileSync(junk, Buffer.alloc(64 * 1024, 0x5a));
    const info = await archesOf(iso({}, { esp: junk }));
    expect(info.architectures).toEqual([]);
    expect(info.elTorito?.uefi).toBe(true);
  });

  it("tells x86_64 from grub-mkrescue's BIOS + UEFI disc", async () => {
    const tree = join(work, 'grub-tree');
    mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
    writeFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), 'set timeout=1\n');
    const out = join(work, 'grub-x86.iso');
    execFileSync('grub-mkrescue', ['-o', out, tree], { stdio: 'pipe' });
    const info = await archesOf(out);
    expect(info.architectures).toEqual(['x86_64']);
    expect(info.archEvidence.map((e) => e.reason)).toEqual(
      expect.arrayContaining([
        'EFI boot image holds EFI/BOOT/BOOTX64.EFI',
        'El Torito BIOS (x86) boot entry',
        'GRUB for i386-pc (boot/grub/i386-pc)',
        'GRUB for x86_64-efi (boot/grub/x86_64-efi)',
      ]),
    );
  });
});
