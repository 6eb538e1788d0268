/** The host: QEMU binaries, accelerators (probed, not guessed), firmware and notices. */
import { z } from 'zod';
import type { Accelerator } from './vm-config';
import type { VmArch } from './vocabulary';

export interface QemuBinary {
  arch: string;
  path: string;
  version: string;
}

export interface AcceleratorReport {
  name: Accelerator;
  /** Compiled into QEMU and the host interface exists (e.g. /dev/kvm). */
  present: boolean;
  /** A probe guest actually ran under it. */
  usable: boolean;
  /** Why it is not usable, in words a user can act on. */
  reason?: string;
}

export interface HostInfo {
  platform: NodePlatform;
  arch: string;
  cpus: number;
  totalMemoryMiB: number;
  freeDiskBytes: number | null;
  dataDir: string;
  qemu: { binaries: QemuBinary[]; img: { path: string; version: string } | null };
  /** Non-null when QEMU cannot be used at all; says how to install it. */
  qemuMissing: string | null;
  accelerators: AcceleratorReport[];
  /** What `accel: 'auto'` resolves to. */
  bestAccelerator: Accelerator;
  /** Notices for the user, e.g. "KVM is present but a test guest hung: using TCG". */
  notices: string[];
  firmware: {
    seabios: string | null;
    ovmfCode: string | null;
    ovmfVars: string | null;
    /** OVMF's Secure Boot build (SMM) and its vars template with Microsoft's keys enrolled. */
    ovmfSecureBootCode?: string | null;
    ovmfSecureBootVars?: string | null;
  };
  /** swtpm, which emulates a VM's TPM 2.0; null when not installed. */
  swtpm?: string | null;
  /**
   * What this host has for guests of each architecture (common/arch.ts has the presets), in
   * VM_ARCHES order. Absent in a HostInfo from before guests of other architectures existed.
   */
  arches?: ArchSupport[];
}

/** One firmware file a preset boots with, found or not, and the package that brings it. */
export interface ArchFirmwareFile {
  /** What it is, e.g. 'UEFI (AAVMF) code'. */
  what: string;
  path: string | null;
  /** The Debian/Ubuntu package that installs it. */
  package: string;
}

/** What this host has for guests of one architecture. */
export interface ArchSupport {
  arch: VmArch;
  /** Its QEMU system emulator; null when not installed. */
  qemu: QemuBinary | null;
  /** The firmware files its preset boots with. */
  firmware: ArchFirmwareFile[];
  /** UEFI code and variable-store template (OVMF, AAVMF); null when the preset has no UEFI or it is missing. */
  uefi: { code: string; vars: string } | null;
  /** What `accel: 'auto'` gives it: the host's hardware accelerator only for its own architecture. */
  accelerator: Accelerator;
  /** Runs under the host's hardware accelerator (the host's own architecture, accelerator usable). */
  native: boolean;
  /** Says how much slower emulation is, when it is emulated; null when native. */
  notice: string | null;
  /** Debian/Ubuntu packages still missing (emulator or firmware), and the command installing them. */
  missingPackages: string[];
  install: string | null;
  /** The emulator is there and a firmware of its preset that boots media (or a kernel) is too. */
  ready: boolean;
}

export type NodePlatform = 'linux' | 'darwin' | 'win32' | 'freebsd' | 'openbsd' | 'other';

/** A public key found in the user's ~/.ssh, offered for a ready-to-use guest. */
export interface HostSshKey {
  file: string;
  type: string;
  comment: string;
  /** The whole line, as the guest's authorized_keys gets it. */
  line: string;
}

/** What a new ready-to-use guest gets unless the user says otherwise: taken from this host. */
export interface GuestDefaults {
  /** The host user's login name when it is a valid guest login, else 'user'. */
  user: string;
  sshKeys: HostSshKey[];
  timezone: string;
  locale: string;
  keyboard: { layout: string; variant?: string };
  /** Whether `ssh` is installed here (what `vivarium ssh` and the copied command need). */
  sshClient: boolean;
}

export const hostMethods = {
  'host.info': z.object({ refresh: z.boolean().default(false) }),
  'host.guestDefaults': z.object({}),
} as const;

export interface HostResults {
  'host.info': HostInfo;
  'host.guestDefaults': GuestDefaults;
}
