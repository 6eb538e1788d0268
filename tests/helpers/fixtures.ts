import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CACHE = join(import.meta.dirname, '..', 'fixtures', '.cache');

/** The tiny test guest built by tests/fixtures/build-guest.sh (npm test builds it first). */
export const guest = {
  /**
   * The kernel uncompressed (an ELF QEMU boots through its PVH entry point): the bzImage's xz
   * decompressor costs seconds per boot under TCG. BIOS firmware only; UEFI takes `bzImage`.
   * A PVH boot leaves the VGA screen blank (no text console is handed over): tests that look
   * at the display take `bzImage` too.
   */
  kernel: join(CACHE, 'vmlinux'),
  /** The same kernel as Debian ships it (what the ISO's GRUB boots). */
  bzImage: join(CACHE, 'vmlinuz'),
  initrd: join(CACHE, 'initrd.img'),
  iso: join(CACHE, 'guest.iso'),
  append: 'console=ttyS0,115200 quiet',
  banner: 'VIVARIUM-TEST-GUEST READY',
};

const ARCH_CACHE = join(CACHE, 'arch');

/** What a guest of another architecture boots from, and what it prints on its serial port. */
export interface ArchGuest {
  kernel: string;
  /** Absent: the kernel is the whole guest (riscv64's U-Boot). */
  initrd?: string;
  append: string;
  /** A GRUB EFI ISO booting the same kernel and initrd (aarch64). */
  iso?: string;
  /** The first line the guest prints on its serial console once it is up. */
  banner: string;
}

/**
 * The tiny guests of tests/fixtures/build-arch-guests.sh: Debian's kernels with a busybox
 * initramfs (arm64, ppc64el, s390x) whose init prints the banner and runs a shell ('guest# ')
 * on the console; riscv64 (not a Debian bookworm architecture) is U-Boot from u-boot-qemu, booted
 * by OpenSBI, up to its banner only.
 */
export const archGuests = {
  aarch64: {
    kernel: join(ARCH_CACHE, 'arm64', 'kernel'),
    initrd: join(ARCH_CACHE, 'arm64', 'initrd.img'),
    iso: join(ARCH_CACHE, 'arm64', 'grub.iso'),
    append: 'console=ttyAMA0 quiet',
    banner: 'VIVARIUM-ARCH-GUEST READY aarch64',
  },
  ppc64le: {
    kernel: join(ARCH_CACHE, 'ppc64el', 'kernel'),
    initrd: join(ARCH_CACHE, 'ppc64el', 'initrd.img'),
    append: 'console=hvc0 quiet',
    banner: 'VIVARIUM-ARCH-GUEST READY ppc64le',
  },
  s390x: {
    kernel: join(ARCH_CACHE, 's390x', 'kernel'),
    initrd: join(ARCH_CACHE, 's390x', 'initrd.img'),
    append: 'console=ttysclp0 quiet',
    banner: 'VIVARIUM-ARCH-GUEST READY s390x',
  },
  riscv64: {
    kernel: '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin',
    append: '',
    banner: 'U-Boot 20',
  },
} satisfies Record<string, ArchGuest>;

/** Why tests that boot an architecture's guest cannot run here, or null when it is built. */
export function archGuestMissingReason(arch: keyof typeof archGuests): string | null {
  const g: ArchGuest = archGuests[arch];
  const missing = [g.kernel, g.initrd, g.iso].find((f) => f !== undefined && !existsSync(f));
  if (!missing) return null;
  return arch === 'riscv64'
    ? `${missing} is missing: install u-boot-qemu (sudo apt install u-boot-qemu opensbi)`
    : `${missing} is missing: run "npm run fixtures" (bash tests/fixtures/build-arch-guests.sh)`;
}

/** Why tests that boot the fixture guest cannot run here, or null when it is built. */
export function guestMissingReason(): string | null {
  const missing = [guest.kernel, guest.initrd, guest.iso].find((file) => !existsSync(file));
  return missing
    ? `${missing} is missing: run "npm run fixtures" (bash tests/fixtures/build-guest.sh)`
    : null;
}

export function requireGuest(): void {
  const why = guestMissingReason();
  if (why) throw new Error(why);
}

export async function tempHome(
  prefix = 'viv-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls a file until it contains `text` (the guest's serial log, say). */
export async function waitForText(file: string, text: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let content = '';
  while (Date.now() < deadline) {
    content = await readFile(file, 'utf8').catch(() => '');
    if (content.includes(text)) return content;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for "${text}" in ${file}; it holds:\n${content.slice(-2000)}`);
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The error a call that must fail rejects with (an engine error: code and message). */
export async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected the call to fail');
}
