/** QEMU version strings: `QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`. */

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
  /** `major.minor.micro`, e.g. `7.2.22`. */
  text: string;
}

/** The oldest QEMU Vivarium drives (QMP snapshot-save/load, JSON -blockdev/-device). */
export const MIN_QEMU_VERSION: QemuVersion = { major: 7, minor: 0, micro: 0, text: '7.0.0' };

/**
 * Reads the version from `qemu-system-* --version` or `qemu-img --version` output; null when the
 * text has none (not a QEMU binary).
 */
export function parseQemuVersion(output: string): QemuVersion | null {
  const m = /\bversion\s+v?(\d+)\.(\d+)(?:\.(\d+))?/i.exec(output);
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const micro = m[3] === undefined ? 0 : Number(m[3]);
  return { major, minor, micro, text: `${major}.${minor}.${micro}` };
}

export function compareVersions(a: QemuVersion, b: QemuVersion): number {
  return a.major - b.major || a.minor - b.minor || a.micro - b.micro;
}

export function isSupportedVersion(v: QemuVersion): boolean {
  return compareVersions(v, MIN_QEMU_VERSION) >= 0;
}
