/**
 * Firmware files for x86_64 guests: SeaBIOS (bios-256k.bin) and a split OVMF pair (CODE read-only,
 * VARS copied per VM). OVMF comes first from QEMU's firmware descriptors (docs/interop/
 * firmware.json: /etc/qemu/firmware, <datadir>/firmware), skipping Secure Boot and SMM-only builds,
 * then from the paths distributions and installers use.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export interface FirmwarePaths {
  seabios: string | null;
  ovmfCode: string | null;
  ovmfVars: string | null;
  /** OVMF's Secure Boot build (needs SMM) and a vars template with Microsoft's keys enrolled. */
  ovmfSecureBootCode: string | null;
  ovmfSecureBootVars: string | null;
}

export interface FirmwareSearch {
  platform: NodeJS.Platform;
  /** The x86_64 emulator, to find its data folder (`<bin>/../share/qemu`, `<bin>\share`). */
  qemuPath: string | null;
  /** Data folders QEMU itself reported (`-L help`), searched first. */
  qemuDataDirs?: readonly string[];
}

/** QEMU's data folders for a binary, most specific first, without duplicates. Pure. */
export function qemuDataDirs(opts: FirmwareSearch): string[] {
  const p = opts.platform === 'win32' ? path.win32 : path.posix;
  const dirs = [...(opts.qemuDataDirs ?? [])];
  if (opts.qemuPath) {
    const bin = p.dirname(opts.qemuPath);
    if (opts.platform === 'win32') dirs.push(p.join(bin, 'share'));
    dirs.push(p.join(bin, '..', 'share', 'qemu'));
  }
  switch (opts.platform) {
    case 'darwin':
      dirs.push('/opt/homebrew/share/qemu', '/usr/local/share/qemu', '/opt/local/share/qemu');
      break;
    case 'win32':
      dirs.push('C:\\Program Files\\qemu\\share');
      break;
    default:
      dirs.push('/usr/share/qemu', '/usr/local/share/qemu');
  }
  const seen = new Set<string>();
  return dirs
    .map((d) => p.normalize(d))
    .filter((d) => {
      const k = opts.platform === 'win32' ? d.toLowerCase() : d;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}

/** Where to look for bios-256k.bin, in order. Pure. */
export function seabiosCandidates(opts: FirmwareSearch): string[] {
  const p = opts.platform === 'win32' ? path.win32 : path.posix;
  const dirs = qemuDataDirs(opts);
  if (opts.platform !== 'win32' && opts.platform !== 'darwin') dirs.push('/usr/share/seabios');
  return dirs.map((d) => p.join(d, 'bios-256k.bin'));
}

/** Known split OVMF (code, vars) pairs, in order. Pure. */
export function ovmfCandidates(opts: FirmwareSearch): Array<[string, string]> {
  const p = opts.platform === 'win32' ? path.win32 : path.posix;
  const pairs: Array<[string, string]> = [];
  if (opts.platform !== 'win32' && opts.platform !== 'darwin') {
    pairs.push(
      // Debian, Ubuntu
      ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
      ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
      // Fedora, RHEL
      ['/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/ovmf/OVMF_VARS.fd'],
      // Arch
      ['/usr/share/edk2/x64/OVMF_CODE.4m.fd', '/usr/share/edk2/x64/OVMF_VARS.4m.fd'],
      ['/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd'],
      // openSUSE
      ['/usr/share/qemu/ovmf-x86_64-code.bin', '/usr/share/qemu/ovmf-x86_64-vars.bin'],
    );
  }
  // QEMU's own builds (Homebrew, the Windows installer, source installs)
  for (const d of qemuDataDirs(opts)) {
    pairs.push([p.join(d, 'edk2-x86_64-code.fd'), p.join(d, 'edk2-i386-vars.fd')]);
  }
  return pairs;
}

/** Known Secure Boot (code with SMM, vars with Microsoft's keys enrolled) pairs, in order. Pure. */
export function ovmfSecureBootCandidates(opts: FirmwareSearch): Array<[string, string]> {
  if (opts.platform === 'win32' || opts.platform === 'darwin') return [];
  return [
    // Debian, Ubuntu (package ovmf)
    ['/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', '/usr/share/OVMF/OVMF_VARS_4M.ms.fd'],
    ['/usr/share/OVMF/OVMF_CODE.secboot.fd', '/usr/share/OVMF/OVMF_VARS.ms.fd'],
    // Fedora, RHEL
    ['/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd', '/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd'],
    // Arch
    ['/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd', '/usr/share/edk2/x64/OVMF_VARS.4m.fd'],
  ];
}

interface Descriptor {
  'interface-types'?: unknown;
  mapping?: {
    device?: unknown;
    executable?: { filename?: unknown; format?: unknown };
    'nvram-template'?: { filename?: unknown; format?: unknown };
  };
  targets?: Array<{ architecture?: unknown; machines?: unknown }>;
  features?: unknown;
}

const UNWANTED_FEATURES = [
  'secure-boot',
  'requires-smm',
  'enrolled-keys',
  'amd-sev-es',
  'intel-tdx',
];

/**
 * A split, raw-format, x86_64 UEFI build without Secure Boot or SMM from one firmware
 * descriptor; null when the descriptor describes anything else. Pure.
 */
export function ovmfFromDescriptor(json: unknown): [string, string] | null {
  if (typeof json !== 'object' || json === null) return null;
  const d = json as Descriptor;
  if (!Array.isArray(d['interface-types']) || !d['interface-types'].includes('uefi')) return null;
  const m = d.mapping;
  if (!m || m.device !== 'flash') return null;
  const code = m.executable?.filename;
  const vars = m['nvram-template']?.filename;
  if (typeof code !== 'string' || typeof vars !== 'string') return null;
  for (const f of [m.executable?.format, m['nvram-template']?.format]) {
    if (f !== undefined && f !== 'raw') return null;
  }
  const x86 = (d.targets ?? []).some(
    (t) =>
      t.architecture === 'x86_64' &&
      Array.isArray(t.machines) &&
      t.machines.some((mm) => typeof mm === 'string' && mm.startsWith('pc-q35')),
  );
  if (!x86) return null;
  const features = Array.isArray(d.features) ? d.features : [];
  if (features.some((f) => UNWANTED_FEATURES.includes(String(f)))) return null;
  return [code, vars];
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function firstExisting(files: readonly string[]): Promise<string | null> {
  const ok = await Promise.all(files.map(isFile));
  const i = ok.indexOf(true);
  return i < 0 ? null : files[i]!;
}

/** Descriptor pairs, in QEMU's order (by file name across the folders; /etc overrides). */
async function descriptorPairs(opts: FirmwareSearch): Promise<Array<[string, string]>> {
  if (opts.platform === 'win32') return [];
  const p = path.posix;
  const dirs = ['/etc/qemu/firmware', ...qemuDataDirs(opts).map((d) => p.join(d, 'firmware'))];
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.json') && !byName.has(n)) byName.set(n, p.join(dir, n));
  }
  const files = [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const pairs = await Promise.all(
    files.map(async ([, file]) => {
      try {
        return ovmfFromDescriptor(JSON.parse(await readFile(file, 'utf8')));
      } catch {
        return null;
      }
    }),
  );
  return pairs.filter((x) => x !== null);
}

export async function findFirmware(opts: FirmwareSearch): Promise<FirmwarePaths> {
  const [seabios, described] = await Promise.all([
    firstExisting(seabiosCandidates(opts)),
    descriptorPairs(opts),
  ]);
  const pairs = [...described, ...ovmfCandidates(opts)];
  const present = await Promise.all(
    pairs.map(async ([c, v]) => (await isFile(c)) && (await isFile(v))),
  );
  const i = present.indexOf(true);
  const pair = i < 0 ? null : pairs[i]!;
  const sbPairs = ovmfSecureBootCandidates(opts);
  const sbPresent = await Promise.all(
    sbPairs.map(async ([c, v]) => (await isFile(c)) && (await isFile(v))),
  );
  const j = sbPresent.indexOf(true);
  const sb = j < 0 ? null : sbPairs[j]!;
  return {
    seabios,
    ovmfCode: pair?.[0] ?? null,
    ovmfVars: pair?.[1] ?? null,
    ovmfSecureBootCode: sb?.[0] ?? null,
    ovmfSecureBootVars: sb?.[1] ?? null,
  };
}
