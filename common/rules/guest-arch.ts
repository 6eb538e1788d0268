/**
 * When a guest architecture can be chosen: whether this host has its emulator and firmware (the
 * wizard's Create, `vivarium create --arch`), and when a VM may move to another one (Settings,
 * `vm.update {arch}`). The engine decides with the same functions.
 */
import {
  ARCH_LABELS,
  archInstallCommand,
  archPreset,
  emulationNotice,
  firmwareLabel,
  nativeArchOf,
  VM_ARCHES,
} from '../arch';
import type { HostInfo } from '../contract/host';
import type { Firmware, MachineType, VmArch } from '../contract/vocabulary';
import { MACHINE_LABELS } from '../labels';

/**
 * This computer's own architecture, from `HostInfo.arch` (QEMU's name for it, 'x86_64', or
 * Node's, 'x64'); null when Vivarium runs no guest of it.
 */
export function hostArchOf(host: Pick<HostInfo, 'arch'> | null | undefined): VmArch | null {
  if (!host) return null;
  return VM_ARCHES.find((a) => a === host.arch) ?? nativeArchOf(host.arch);
}

/** How much slower a guest of `arch` runs here (the host's word first); null when native. */
export function emulationNoticeOn(
  host: Pick<HostInfo, 'arch' | 'arches'> | null | undefined,
  arch: VmArch,
): string | null {
  const said = host?.arches?.find((a) => a.arch === arch);
  if (said) return said.notice;
  const own = hostArchOf(host);
  return emulationNotice(arch, own ? archPreset(own).hostNodeArch : '');
}

/**
 * Why a VM of `arch` cannot run on this host, with the command that installs what is missing;
 * null when it can, or when the host does not say (an engine from before architectures).
 */
export function archUnavailableReason(
  host: Pick<HostInfo, 'arches'> | null | undefined,
  arch: VmArch,
): string | null {
  const support = host?.arches?.find((a) => a.arch === arch);
  if (!support || support.ready) return null;
  const install = support.install ?? archInstallCommand(arch);
  const label = ARCH_LABELS[arch];
  return support.qemu
    ? `The firmware ${label} guests boot with is not installed: ${install}`
    : `QEMU for ${label} guests (${archPreset(arch).qemuBinary}) is not installed: ${install}`;
}

/** What a VM is when it would move to another architecture. */
export interface ArchChangeState {
  /** The VM's process runs (or is starting, paused...): anything but stopped, crashed or saved. */
  qemuRunning: boolean;
  /** Saved to disk (suspended): its saved memory is of the old machine. */
  saved: boolean;
  snapshots: number;
}

/**
 * Why a VM cannot move to another architecture now, or null. Saved memory and live snapshots
 * hold the old machine's state and would never load again; disk-only snapshots would boot a
 * disk installed for the other architecture.
 */
export function archChangeProblem(state: ArchChangeState): string | null {
  if (state.qemuRunning) return 'Shut the VM down to change its architecture.';
  if (state.saved) {
    return 'The VM is saved to disk for its current architecture: start it and shut it down, or discard its saved state, before changing the architecture.';
  }
  if (state.snapshots > 0) {
    const n = state.snapshots === 1 ? 'its snapshot' : `its ${state.snapshots} snapshots`;
    return `The VM has snapshots of its current architecture: delete ${n} before changing the architecture, or clone it first and change the clone.`;
  }
  return null;
}

/** One line each for what moving a VM to another architecture changes (its preset's choices). */
export function archChangeLines(
  before: { arch: VmArch; machine: MachineType; firmware: Firmware },
  after: { arch: VmArch; machine: MachineType; firmware: Firmware },
): string[] {
  const lines = [`Processor: ${ARCH_LABELS[before.arch]} → ${ARCH_LABELS[after.arch]}`];
  if (before.machine !== after.machine) {
    lines.push(`Machine: ${MACHINE_LABELS[before.machine]} → ${MACHINE_LABELS[after.machine]}`);
  }
  const fwBefore = firmwareLabel(before.arch, before.firmware);
  const fwAfter = firmwareLabel(after.arch, after.firmware);
  if (fwBefore !== fwAfter) lines.push(`Firmware: ${fwBefore} → ${fwAfter}`);
  return lines;
}

/** Said beside an architecture change: the disks do not change with it. */
export const ARCH_CHANGE_DISKS_NOTE =
  'The disks stay as they are: an OS installed for the old architecture will not boot on the new one; install one for it.';
