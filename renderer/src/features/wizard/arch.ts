/**
 * The wizard's guest architecture: the user's pick, else the one the ISO's boot files name, else
 * this computer's own (when the OS is published for it); what that means here (emulated, and how
 * much slower; its QEMU missing, and the install command); and the hardware its preset gives.
 * Pure.
 */
import { archDefaults, archPreset, VM_ARCHES, vmArchOf } from '../../../../common/arch';
import type { CatalogEntry, CreateDefaults, HostInfo, VmArch } from '../../../../common/contract';
import {
  archUnavailableReason,
  emulationNoticeOn,
  hostArchOf,
} from '../../../../common/rules/guest-arch';
import type { WizardState } from '../../stores/wizard';
import { GENERIC_ID } from './lib';

export type ArchHost = Pick<HostInfo, 'arch' | 'arches'>;

export interface ArchChoice {
  arch: VmArch;
  /** Why this one: the user's pick, the ISO's boot files, this computer's own, the catalogue's. */
  from: 'user' | 'iso' | 'host' | 'catalogue';
  /** What the chosen ISO's boot files name, once it was read (empty: they say nothing). */
  detected: { arches: VmArch[]; reason: string | null } | null;
  /** The architectures the OS publishes media for (every one for Generic and own ISOs). */
  published: VmArch[];
  /** This computer's own architecture, when it is one Vivarium runs. */
  native: VmArch | null;
  /** How much slower it runs, when emulated. */
  notice: string | null;
  /** Why it cannot run here, with the install command; null when it can. */
  unavailable: string | null;
}

/** The ISO the wizard is on (step 1's, or step 2's own file), once media.detect answered. */
function detectionOf(s: WizardState) {
  const local = s.source === 'iso' || s.mediaKind === 'local';
  const det = s.detection;
  if (s.setup === 'cloud' || !local || !det || det.file !== s.isoPath.trim()) return null;
  return det.state.status === 'ready' ? det.state.value : null;
}

export function archChoice(
  s: WizardState,
  entry: CatalogEntry | null,
  host: ArchHost | null,
): ArchChoice {
  const native = hostArchOf(host);
  const det = detectionOf(s);
  const detected = det
    ? {
        arches: det.iso?.architectures ?? (det.arch ? [det.arch] : []),
        reason: det.iso?.archEvidence[0]?.reason ?? null,
      }
    : null;
  const published =
    !entry || entry.id === GENERIC_ID
      ? [...VM_ARCHES]
      : VM_ARCHES.filter((a) => entry.architectures.some((g) => vmArchOf(g) === a));
  let arch: VmArch;
  let from: ArchChoice['from'];
  if (s.arch) {
    arch = s.arch;
    from = 'user';
  } else if (det?.arch) {
    arch = det.arch;
    from = 'iso';
  } else if (native && (published.includes(native) || published.length === 0)) {
    arch = native;
    from = 'host';
  } else {
    arch = published[0] ?? 'x86_64';
    from = 'catalogue';
  }
  return {
    arch,
    from,
    detected,
    published,
    native,
    notice: host ? emulationNoticeOn(host, arch) : null,
    unavailable: archUnavailableReason(host, arch),
  };
}

/** The hardware the wizard's summary shows and `vm.create` gets for the profile on `arch`. */
export interface WizardHardware {
  machine: CreateDefaults['machine'];
  firmware: CreateDefaults['firmware'];
  video: CreateDefaults['video'];
  sound: CreateDefaults['sound'];
  diskBus: CreateDefaults['diskBus'];
  nicModel: CreateDefaults['nicModel'];
  tpm: boolean;
  secureBoot: boolean;
}

/**
 * The OS profile's hardware on `arch`: on x86-64 the profile as it is; elsewhere what of it the
 * architecture's preset has, the preset's choice for the rest, and a firmware that boots media.
 */
export function hardwareOn(d: CreateDefaults, arch: VmArch): WizardHardware {
  if (arch === 'x86_64') {
    const { machine, firmware, video, sound, diskBus, nicModel, tpm, secureBoot } = d;
    return { machine, firmware, video, sound, diskBus, nicModel, tpm, secureBoot };
  }
  const p = archPreset(arch);
  const a = archDefaults(arch);
  const keep = <V>(list: readonly V[], value: V, fallback: V): V =>
    list.includes(value) ? value : fallback;
  return {
    machine: keep(p.machines, d.machine, a.machine),
    firmware:
      p.firmwares.includes(d.firmware) && p.firmwareBootsMedia[d.firmware]
        ? d.firmware
        : a.firmware,
    video: keep(p.videos, d.video, a.video),
    sound: keep(p.sounds, d.sound, a.sound),
    diskBus: keep(p.diskBuses, d.diskBus, a.diskBus),
    nicModel: keep(p.nicModels, d.nicModel, a.nicModel),
    tpm: d.tpm && p.tpm,
    secureBoot: d.secureBoot && p.secureBoot,
  };
}
