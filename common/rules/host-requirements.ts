/**
 * What the host must have installed for a VM feature, and the command that installs it: the
 * engine says it when it refuses to start such a VM, the Settings view before it is turned on.
 */
import type { HostInfo } from '../contract';

export const SWTPM_INSTALL_COMMAND = 'sudo apt install swtpm swtpm-tools';
export const OVMF_INSTALL_COMMAND = 'sudo apt install ovmf';

/** Why a TPM cannot be turned on here, or null (also null while the host is not known). */
export function tpmUnavailable(host: Pick<HostInfo, 'swtpm'> | null): string | null {
  return host && !host.swtpm
    ? `swtpm is not installed on this computer: install it (Debian/Ubuntu: ${SWTPM_INSTALL_COMMAND}).`
    : null;
}

/** Why OVMF's Secure Boot build is missing here, or null (also null while the host is not known). */
export function secureBootFirmwareUnavailable(
  host: Pick<HostInfo, 'firmware'> | null,
): string | null {
  return host && !(host.firmware.ovmfSecureBootCode && host.firmware.ovmfSecureBootVars)
    ? `OVMF’s Secure Boot build is not installed on this computer: install it (Debian/Ubuntu: ${OVMF_INSTALL_COMMAND}).`
    : null;
}

/** The engine's refusal to start a VM with a TPM when swtpm is missing. */
export const SWTPM_REQUIRED = `This VM has a TPM, which needs swtpm: install it (Debian/Ubuntu: ${SWTPM_INSTALL_COMMAND}) or turn the VM's TPM off.`;

/** The engine's refusal to start a Secure Boot VM when OVMF's Secure Boot build is missing. */
export const SECURE_BOOT_FIRMWARE_REQUIRED = `Secure Boot needs OVMF's Secure Boot build (OVMF_CODE_4M.secboot.fd and OVMF_VARS_4M.ms.fd): install it (Debian/Ubuntu: ${OVMF_INSTALL_COMMAND}) or turn Secure Boot off.`;
