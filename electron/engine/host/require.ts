/** For callers that need QEMU now: the binary's path, or the install message as an error. */
import { ARCH_LABELS, archInstallCommand, archPreset, type VmArch } from '../../../common/arch';
import type { HostInfo } from '../../../common/contract';
import { emulatorArch } from './arch-support';
import { VivariumError } from '../errors';
import {
  SECURE_BOOT_FIRMWARE_REQUIRED,
  SWTPM_REQUIRED,
} from '../../../common/rules/host-requirements';

/** The system emulator for `arch`; QEMU_MISSING with the install command when there is none. */
export function requireQemuBinary(host: HostInfo, arch: VmArch = 'x86_64'): string {
  if (host.qemuMissing) throw new VivariumError('QEMU_MISSING', host.qemuMissing);
  const bin = host.qemu.binaries.find((b) => b.arch === emulatorArch(arch));
  if (!bin) {
    const preset = archPreset(arch);
    throw new VivariumError(
      'QEMU_MISSING',
      `QEMU for ${ARCH_LABELS[arch]} guests (${preset.qemuBinary}) was not found: ` +
        `${archInstallCommand(arch)} (Debian/Ubuntu; elsewhere your system's QEMU packages).`,
    );
  }
  return bin.path;
}

/** qemu-img's path; QEMU_MISSING with the install command when it is not installed. */
export function requireQemuImg(host: HostInfo): string {
  if (host.qemu.img) return host.qemu.img.path;
  const notice = host.notices.find((n) => n.startsWith('qemu-img was not found'));
  throw new VivariumError(
    'QEMU_MISSING',
    notice ?? host.qemuMissing ?? "qemu-img was not found: install QEMU's tools (qemu-utils).",
  );
}

/** swtpm's path, or QEMU_MISSING with the install command. */
export function requireSwtpm(host: HostInfo): string {
  if (host.swtpm) return host.swtpm;
  throw new VivariumError('QEMU_MISSING', SWTPM_REQUIRED);
}

/** OVMF's Secure Boot code and vars template, or QEMU_MISSING with the install command. */
export function requireSecureBootFirmware(host: HostInfo): { code: string; vars: string } {
  const { ovmfSecureBootCode: code, ovmfSecureBootVars: vars } = host.firmware;
  if (code && vars) return { code, vars };
  throw new VivariumError('QEMU_MISSING', SECURE_BOOT_FIRMWARE_REQUIRED);
}
