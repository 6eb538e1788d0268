/**
 * A catalogue entry's hardware profile and resources applied to this host: the defaults a new VM
 * gets (`catalog.defaults`, and `vm.create` with `os`), bounded by the host's memory, CPUs, free
 * disk and firmware, with warnings for what falls short. Pure functions.
 */
import { profileHardwareNote } from '../../../common/profile-notes';
import type {
  CatalogEntry,
  CatalogRequirement,
  CatalogVersion,
  CreateDefaults,
  HostInfo,
  ParsedParams,
} from '../../../common/contract';

import { balloonDriver, balloonDriverNote } from '../../../common/rules/balloon';

const MiB_PER_GiB = 1024;

function formatMiB(mib: number): string {
  return mib >= MiB_PER_GiB && mib % MiB_PER_GiB === 0 ? `${mib / MiB_PER_GiB} GiB` : `${mib} MiB`;
}

/** '20G', '512M', or '0'. */
export function diskSizeText(gib: number): string {
  if (gib <= 0) return '0';
  return Number.isInteger(gib) ? `${gib}G` : `${Math.ceil(gib * MiB_PER_GiB)}M`;
}

/** Memory a VM may take by default: half the host's, in 256 MiB steps (never below 256). */
export function defaultMemoryCap(totalMiB: number): number {
  return Math.max(256, Math.floor(totalMiB / 2 / 256) * 256);
}

export interface DefaultsOptions {
  version?: CatalogVersion | null;
  /** Store the version in the VM's `os` ('debian-12') rather than the bare entry id. */
  versionGiven?: boolean;
}

/**
 * What a new VM for `entry` gets on `host`: the profile's hardware, the recommended resources
 * clipped to what the host can spare (never below the OS's minimum while the host has it), the
 * firmware the host can provide, and the requirements it cannot meet yet (TPM, Secure Boot).
 */
export function profileToCreateDefaults(
  entry: CatalogEntry,
  host: HostInfo,
  opts: DefaultsOptions = {},
): CreateDefaults {
  const p = entry.profile;
  const { minimum, recommended } = entry.resources;
  const warnings: string[] = [];
  const requirements: CatalogRequirement[] = [];
  const name = opts.version?.name ?? entry.name;

  // Memory.
  const hostMiB = host.totalMemoryMiB;
  const cap = defaultMemoryCap(hostMiB);
  let memoryMiB = Math.min(recommended.memoryMiB, cap);
  if (memoryMiB < minimum.memoryMiB)
    memoryMiB = Math.min(minimum.memoryMiB, Math.floor(hostMiB * 0.75));
  memoryMiB = Math.max(16, memoryMiB);
  const memoryOk = memoryMiB >= minimum.memoryMiB;
  requirements.push({
    id: 'memory',
    met: memoryOk,
    message: memoryOk
      ? `${name} needs at least ${formatMiB(minimum.memoryMiB)} of memory.`
      : `${name} needs at least ${formatMiB(minimum.memoryMiB)} of memory; this computer has ${formatMiB(hostMiB)}.`,
  });
  if (!memoryOk) {
    warnings.push(
      `This computer has ${formatMiB(hostMiB)} of memory: ${name} needs at least ${formatMiB(minimum.memoryMiB)}, so it may not install or run.`,
    );
  } else if (memoryMiB < recommended.memoryMiB) {
    warnings.push(
      `Giving the VM ${formatMiB(memoryMiB)} (${name} recommends ${formatMiB(recommended.memoryMiB)}) to leave this computer enough for itself.`,
    );
  }

  // CPUs.
  const cpus = Math.max(1, Math.min(recommended.cpus, host.cpus));
  if (host.cpus < minimum.cpus) {
    warnings.push(`${name} wants at least ${minimum.cpus} CPUs; this computer has ${host.cpus}.`);
  }

  // Disk: thin, so it only takes what the guest writes; warn when even the minimum does not fit.
  const freeGiB =
    host.freeDiskBytes === null ? null : Math.floor((host.freeDiskBytes / 2 ** 30) * 10) / 10;
  const diskGiB = recommended.diskGiB;
  if (freeGiB !== null && diskGiB > 0) {
    const fits = freeGiB >= minimum.diskGiB;
    requirements.push({
      id: 'disk-space',
      met: fits,
      message: fits
        ? `${name} needs at least ${minimum.diskGiB} GiB of disk.`
        : `${name} needs at least ${minimum.diskGiB} GiB of disk; ${freeGiB} GiB are free.`,
    });
    if (!fits) {
      warnings.push(
        `Only ${freeGiB} GiB of disk are free: ${name} needs at least ${minimum.diskGiB} GiB. Free some space first.`,
      );
    } else if (freeGiB < diskGiB) {
      warnings.push(
        `The ${diskGiB} GiB disk is thin (it grows as the guest writes), but only ${freeGiB} GiB are free: the guest may run out of space.`,
      );
    }
  }

  // Firmware.
  const ovmf = host.firmware.ovmfCode !== null && host.firmware.ovmfVars !== null;
  let firmware = p.firmware;
  if (p.firmware === 'uefi') {
    if (ovmf) {
      requirements.push({ id: 'uefi', met: true, message: `${name} boots with UEFI (OVMF).` });
    } else if (p.biosSupported) {
      firmware = 'bios';
      warnings.push(
        'UEFI firmware (OVMF) is not installed, so the VM uses BIOS; install ovmf to use UEFI.',
      );
    } else {
      requirements.push({
        id: 'uefi',
        met: false,
        message: `${name} needs UEFI firmware: install OVMF (Debian/Ubuntu: sudo apt install ovmf).`,
      });
      warnings.push(
        `${name} needs UEFI firmware, which is not installed (Debian/Ubuntu: sudo apt install ovmf).`,
      );
    }
  }

  // TPM (swtpm) and Secure Boot (OVMF's secboot build): given when the host has them.
  let tpm = false;
  if (p.tpm) {
    tpm = Boolean(host.swtpm);
    requirements.push({
      id: 'tpm',
      met: tpm,
      message: tpm
        ? `${name} gets an emulated TPM 2.0 (swtpm).`
        : `${name} asks for a TPM 2.0, which needs swtpm: install it (Debian/Ubuntu: sudo apt install swtpm swtpm-tools); without it the VM has none (see the notes for the installer's workaround).`,
    });
  }
  let secureBoot = false;
  if (p.secureBoot) {
    secureBoot =
      firmware === 'uefi' &&
      p.machine === 'q35' &&
      Boolean(host.firmware.ovmfSecureBootCode && host.firmware.ovmfSecureBootVars);
    requirements.push({
      id: 'secure-boot',
      met: secureBoot,
      message: secureBoot
        ? `${name} boots with Secure Boot (OVMF with Microsoft keys enrolled).`
        : `${name} asks for Secure Boot, which needs OVMF's Secure Boot build (Debian/Ubuntu: sudo apt install ovmf); it boots with plain UEFI for now.`,
    });
  }

  const os =
    opts.versionGiven && opts.version && entry.versions.length > 1
      ? `${entry.id}-${opts.version.id}`
      : entry.id;
  return {
    os,
    entry: entry.id,
    version: opts.version?.id ?? null,
    machine: p.machine,
    firmware,
    diskBus: p.diskBus,
    nicModel: p.nicModel,
    video: p.video,
    sound: p.sound,
    usbTablet: p.input === 'usb-tablet',
    balloon: balloonDriver(entry.family) !== 'none',
    balloonNote: balloonDriverNote(balloonDriver(entry.family)),
    memoryMiB,
    cpus,
    diskSize: diskSizeText(diskGiB),
    tpm,
    secureBoot,
    limits: {
      memoryMiB: { min: minimum.memoryMiB, recommended: recommended.memoryMiB, max: hostMiB },
      cpus: { min: minimum.cpus, recommended: recommended.cpus, max: host.cpus },
      diskGiB: { min: minimum.diskGiB, recommended: recommended.diskGiB, free: freeGiB },
    },
    warnings,
    requirements,
    // Derived from what the VM gets (the firmware after the host's say): hand-written notes
    // never state the devices.
    hardwareNote: profileHardwareNote({
      machine: p.machine,
      firmware,
      diskBus: p.diskBus,
      nicModel: p.nicModel,
      video: p.video,
      sound: p.sound,
      tpm,
      secureBoot,
      usbTablet: p.input === 'usb-tablet',
    }),
    notes: [...entry.notes, ...(opts.version?.notes ?? [])],
  };
}

type CreateRequest = ParsedParams<'vm.create'>;

/**
 * A `vm.create` request with every field it leaves out taken from the profile: what the user
 * asked for explicitly always wins. A kernel-only VM (no ISO) keeps "no disk" unless asked. Pure.
 */
export function applyCreateDefaults(req: CreateRequest, d: CreateDefaults): CreateRequest {
  const kernelOnly = req.kernel !== undefined && req.iso === undefined;
  return {
    ...req,
    os: d.os,
    memoryMiB: req.memoryMiB ?? d.memoryMiB,
    cpus: req.cpus ?? d.cpus,
    ...(req.diskSize !== undefined ? {} : kernelOnly ? {} : { diskSize: d.diskSize }),
    machine: req.machine ?? d.machine,
    firmware: req.firmware ?? d.firmware,
    diskBus: req.diskBus ?? d.diskBus,
    nicModel: req.nicModel ?? d.nicModel,
    video: req.video ?? d.video,
    sound: req.sound ?? d.sound,
    usbTablet: req.usbTablet ?? d.usbTablet,
    balloon: req.balloon ?? d.balloon,
    tpm: req.tpm ?? d.tpm,
    secureBoot: req.secureBoot ?? d.secureBoot,
  };
}
