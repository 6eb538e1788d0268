/**
 * When a guest architecture can be chosen: whether this host has its emulator and firmware (the
 * wizard's Create, `vivarium create --arch`), and what moving a VM to another one changes (when
 * it may is vm-settings.ts's `archChangeProblem`).
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
