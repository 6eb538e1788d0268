/** The host: QEMU binaries, accelerators (probed, not guessed), firmware and notices. */
import { z } from 'zod';
import type { Accelerator } from './vm-config';

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
