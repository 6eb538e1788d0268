/**
 * What this host has for guests of each architecture: the emulator its preset names, the firmware
 * files it boots with (found where Debian, Fedora and QEMU's own builds put them), the accelerator
 * it gets (the host's hardware one only for the host's own architecture) and what to install.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  VM_ARCHES,
  archInstallCommand,
  archPreset,
  emulationNotice,
  type VmArch,
} from '../../../common/arch';
import type {
  Accelerator,
  ArchFirmwareFile,
  ArchSupport,
  HostInfo,
  QemuBinary,
} from '../../../common/contract';
import { qemuDataDirs, type FirmwarePaths } from './firmware';

/** A firmware file to look for: what it is, where it may be, and the package that brings it. */
interface FirmwareSpec {
  what: string;
  candidates: string[];
  package: string;
}

/** QEMU's architecture name in its emulator's file name: qemu-system-ppc64 runs ppc64le too. */
export function emulatorArch(arch: VmArch): string {
  return archPreset(arch).qemuBinary.replace(/^qemu-system-/, '');
}

/** The known split AAVMF (code, vars) pairs, in order: Debian/Ubuntu, Fedora, QEMU's own. Pure. */
export function aavmfCandidates(
  platform: NodeJS.Platform,
  dataDirs: readonly string[],
): Array<[string, string]> {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const pairs: Array<[string, string]> = [];
  if (platform !== 'win32' && platform !== 'darwin') {
    pairs.push(
      ['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd'],
      [
        '/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw',
        '/usr/share/edk2/aarch64/vars-template-pflash.raw',
      ],
    );
  }
  for (const d of dataDirs) {
    pairs.push([p.join(d, 'edk2-aarch64-code.fd'), p.join(d, 'edk2-arm-vars.fd')]);
  }
  return pairs;
}

/** The firmware files an architecture's preset boots with (beside UEFI's pair). Pure. */
export function firmwareSpecs(
  arch: VmArch,
  platform: NodeJS.Platform,
  dataDirs: readonly string[],
): FirmwareSpec[] {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const inData = (file: string) => dataDirs.map((d) => p.join(d, file));
  const emulatorPackage = archPreset(arch).debianPackages[0]!;
  switch (arch) {
    case 'x86_64':
      return [
        {
          what: 'BIOS (SeaBIOS)',
          candidates: [...inData('bios-256k.bin'), '/usr/share/seabios/bios-256k.bin'],
          package: 'seabios',
        },
      ];
    case 'aarch64':
      return [];
    case 'ppc64le':
      return [
        { what: 'SLOF (Open Firmware)', candidates: inData('slof.bin'), package: emulatorPackage },
      ];
    case 's390x':
      return [
        { what: 's390-ccw loader', candidates: inData('s390-ccw.img'), package: emulatorPackage },
      ];
    case 'riscv64':
      return [
        {
          what: 'OpenSBI',
          candidates: inData('opensbi-riscv64-generic-fw_dynamic.bin'),
          package: 'opensbi',
        },
      ];
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function firstExisting(files: readonly string[]): Promise<string | null> {
  for (const f of files) if (await isFile(f)) return f;
  return null;
}

async function firstPair(pairs: Array<[string, string]>): Promise<[string, string] | null> {
  for (const [c, v] of pairs) if ((await isFile(c)) && (await isFile(v))) return [c, v];
  return null;
}

export interface ArchSupportInput {
  platform: NodeJS.Platform;
  /** QEMU's name of the host's CPU (HostInfo.arch): 'x86_64', 'aarch64', 'ppc64'... */
  hostArch: string;
  /** Node's name of the host's CPU (process.arch), for the emulation notice. */
  hostNodeArch: string;
  binaries: readonly QemuBinary[];
  /** The x86 firmware already found (SeaBIOS, OVMF). */
  x86Firmware: Pick<FirmwarePaths, 'seabios' | 'ovmfCode' | 'ovmfVars'>;
  /** The host's best accelerator, as probed (with x86's emulator on an x86 host). */
  best: Accelerator;
  /** QEMU's data folders reported by the x86 emulator (`-L help`). */
  dataDirs?: readonly string[];
}

/** The accelerator a guest of `arch` gets and whether that is native. Pure. */
export function archAccelerator(
  arch: VmArch,
  hostArch: string,
  best: Accelerator,
): { accelerator: Accelerator; native: boolean } {
  const own = emulatorArch(arch) === hostArch;
  return own && best !== 'tcg'
    ? { accelerator: best, native: true }
    : { accelerator: 'tcg', native: false };
}

async function supportOf(arch: VmArch, input: ArchSupportInput): Promise<ArchSupport> {
  const preset = archPreset(arch);
  const qemu = input.binaries.find((b) => b.arch === emulatorArch(arch)) ?? null;
  const dataDirs = qemuDataDirs({
    platform: input.platform,
    qemuPath: qemu?.path ?? null,
    ...(input.dataDirs ? { qemuDataDirs: input.dataDirs } : {}),
  });
  const firmware: ArchFirmwareFile[] = await Promise.all(
    firmwareSpecs(arch, input.platform, dataDirs).map(async (spec) => ({
      what: spec.what,
      path: arch === 'x86_64' ? input.x86Firmware.seabios : await firstExisting(spec.candidates),
      package: spec.package,
    })),
  );
  let uefi: ArchSupport['uefi'] = null;
  if (arch === 'x86_64') {
    const { ovmfCode: code, ovmfVars: vars } = input.x86Firmware;
    uefi = code && vars ? { code, vars } : null;
    firmware.push({ what: 'UEFI (OVMF)', path: code, package: 'ovmf' });
  } else if (preset.firmwares.includes('uefi')) {
    const pair = await firstPair(aavmfCandidates(input.platform, dataDirs));
    uefi = pair ? { code: pair[0], vars: pair[1] } : null;
    firmware.push(
      { what: 'UEFI (AAVMF) code', path: pair?.[0] ?? null, package: 'qemu-efi-aarch64' },
      {
        what: 'UEFI (AAVMF) variables template',
        path: pair?.[1] ?? null,
        package: 'qemu-efi-aarch64',
      },
    );
  }
  const missing = new Set<string>();
  if (!qemu) missing.add(preset.debianPackages[0]!);
  for (const f of firmware) if (!f.path) missing.add(f.package);
  const missingPackages = [...missing];
  // Ready when the emulator is there with the firmware the preset starts with.
  const first = preset.firmwares[0]!;
  const firstOk =
    first === 'uefi'
      ? uefi !== null
      : firmware.filter((f) => !/UEFI/.test(f.what)).every((f) => f.path);
  const { accelerator, native } = archAccelerator(arch, input.hostArch, input.best);
  return {
    arch,
    qemu,
    firmware,
    uefi,
    accelerator,
    native,
    // A guest of the host's own architecture under TCG (no working hardware accelerator) is not
    // "emulated on" another CPU: the host-wide fallback notice says why it is slow.
    notice:
      emulatorArch(arch) === input.hostArch ? null : emulationNotice(arch, input.hostNodeArch),
    missingPackages,
    install: missingPackages.length ? archInstallCommand(arch, missingPackages) : null,
    ready: qemu !== null && firstOk,
  };
}

/** Every architecture's support on this host, in VM_ARCHES order. */
export function probeArchSupport(input: ArchSupportInput): Promise<ArchSupport[]> {
  return Promise.all(VM_ARCHES.map((arch) => supportOf(arch, input)));
}

/** One architecture's entry of a HostInfo (absent in a HostInfo from before there were others). */
export function archSupportOf(host: HostInfo, arch: VmArch): ArchSupport | null {
  return host.arches?.find((a) => a.arch === arch) ?? null;
}
