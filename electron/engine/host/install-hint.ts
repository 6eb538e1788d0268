/**
 * What to tell a user whose QEMU is missing or too old: the install command for their OS, picked
 * on Linux from /etc/os-release. Pure apart from {@link readOsRelease}.
 */
import { readFile } from 'node:fs/promises';
import { MIN_QEMU_VERSION } from './version';

export type OsRelease = Readonly<Record<string, string>>;

/** Parses os-release(5): `KEY=value` lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): OsRelease {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    let value = m[2]!.trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\([\\$"`])/g, '$1');
    }
    out[key] = value;
  }
  return out;
}

/** /etc/os-release, else /usr/lib/os-release; null when neither is readable (not Linux). */
export async function readOsRelease(): Promise<OsRelease | null> {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return parseOsRelease(await readFile(file, 'utf8'));
    } catch {
      // try the next one
    }
  }
  return null;
}

export type LinuxFamily = 'debian' | 'fedora' | 'arch' | 'suse' | 'alpine' | 'unknown';

const FAMILY_IDS: ReadonlyArray<[LinuxFamily, readonly string[]]> = [
  ['debian', ['debian', 'ubuntu', 'linuxmint', 'pop', 'raspbian', 'elementary', 'kali', 'zorin']],
  ['fedora', ['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'ol', 'nobara']],
  ['arch', ['arch', 'manjaro', 'endeavouros', 'garuda', 'artix', 'cachyos']],
  ['suse', ['opensuse', 'opensuse-leap', 'opensuse-tumbleweed', 'sles', 'suse']],
  ['alpine', ['alpine', 'postmarketos']],
];

/** The package family of a Linux distribution, from ID first, then ID_LIKE. */
export function linuxFamily(osRelease: OsRelease | null): LinuxFamily {
  if (!osRelease) return 'unknown';
  const id = (osRelease.ID ?? '').toLowerCase();
  const like = (osRelease.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  for (const candidates of [[id], like]) {
    for (const c of candidates) {
      for (const [family, ids] of FAMILY_IDS) {
        if (ids.includes(c) || (family === 'suse' && c.startsWith('opensuse'))) return family;
      }
    }
  }
  return 'unknown';
}

export interface InstallHint {
  /** How to install QEMU's x86_64 system emulator together with qemu-img. */
  qemu: string;
  /** How to install qemu-img alone. */
  qemuImg: string;
}

export function installHint(platform: NodeJS.Platform, osRelease: OsRelease | null): InstallHint {
  switch (platform) {
    case 'darwin':
      return { qemu: 'brew install qemu', qemuImg: 'brew install qemu' };
    case 'win32': {
      const cmd =
        'winget install SoftwareFreedomConservancy.QEMU (or the installer linked from https://www.qemu.org/download/#windows)';
      return { qemu: cmd, qemuImg: cmd };
    }
    case 'freebsd':
      return { qemu: 'sudo pkg install qemu', qemuImg: 'sudo pkg install qemu' };
    case 'openbsd':
      return { qemu: 'doas pkg_add qemu', qemuImg: 'doas pkg_add qemu' };
    case 'linux':
      switch (linuxFamily(osRelease)) {
        case 'debian':
          return {
            qemu: 'sudo apt install qemu-system-x86 qemu-utils',
            qemuImg: 'sudo apt install qemu-utils',
          };
        case 'fedora':
          return {
            qemu: 'sudo dnf install qemu-kvm qemu-img',
            qemuImg: 'sudo dnf install qemu-img',
          };
        case 'arch':
          return { qemu: 'sudo pacman -S qemu-full', qemuImg: 'sudo pacman -S qemu-img' };
        case 'suse':
          return {
            qemu: 'sudo zypper install qemu-x86 qemu-tools',
            qemuImg: 'sudo zypper install qemu-tools',
          };
        case 'alpine':
          return {
            qemu: 'sudo apk add qemu-system-x86_64 qemu-img',
            qemuImg: 'sudo apk add qemu-img',
          };
        case 'unknown':
          break;
      }
      break;
    default:
      break;
  }
  const generic = `install QEMU ${MIN_QEMU_VERSION.major}.${MIN_QEMU_VERSION.minor} or newer (qemu-system-x86_64 and qemu-img) with your system's package manager`;
  return { qemu: generic, qemuImg: generic };
}

const ELSEWHERE =
  'if QEMU is installed somewhere else, set VIVARIUM_QEMU_DIR to the folder that holds ' +
  'qemu-system-x86_64. Then restart Vivarium.';

function osName(platform: NodeJS.Platform, osRelease: OsRelease | null): string {
  if (platform === 'darwin') return 'macOS';
  if (platform === 'win32') return 'Windows';
  if (platform === 'linux') return osRelease?.NAME ?? 'Linux';
  return platform;
}

/** The `qemuMissing` text when no x86_64 system emulator was found. */
export function qemuMissingMessage(platform: NodeJS.Platform, osRelease: OsRelease | null): string {
  return (
    `QEMU is not installed (no qemu-system-x86_64 found). On ${osName(platform, osRelease)}, ` +
    `install it with: ${installHint(platform, osRelease).qemu} — ${ELSEWHERE}`
  );
}

/** The `qemuMissing` text when the x86_64 emulator found is older than {@link MIN_QEMU_VERSION}. */
export function qemuTooOldMessage(
  path: string,
  version: string,
  platform: NodeJS.Platform,
  osRelease: OsRelease | null,
): string {
  const min = `${MIN_QEMU_VERSION.major}.${MIN_QEMU_VERSION.minor}`;
  return (
    `QEMU ${version} (${path}) is too old: Vivarium needs QEMU ${min} or newer. Update it with: ` +
    `${installHint(platform, osRelease).qemu} ; if your system offers nothing newer than ` +
    `${version}, install a newer QEMU from its project or a backport — ${ELSEWHERE}`
  );
}

/** The `qemuMissing` text when the emulator exists but `--version` does not run. */
export function qemuBrokenMessage(
  path: string,
  detail: string,
  platform: NodeJS.Platform,
  osRelease: OsRelease | null,
): string {
  return (
    `QEMU at ${path} does not run (${detail}). Reinstall it with: ` +
    `${installHint(platform, osRelease).qemu} — ${ELSEWHERE}`
  );
}

/** A notice (not fatal) when qemu-img is missing: VMs run, but disks can't be made. */
export function qemuImgMissingNotice(
  platform: NodeJS.Platform,
  osRelease: OsRelease | null,
): string {
  return (
    'qemu-img was not found, so Vivarium cannot create, convert or snapshot disk images. ' +
    `Install it with: ${installHint(platform, osRelease).qemuImg}`
  );
}
