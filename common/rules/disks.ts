/**
 * What may happen to a VM's disks in which state: one definition, decided by the engine
 * (storage/disks.ts) and shown by the Hardware tab and the CLI before the user asks.
 *
 * A stopped VM may do anything. A running (or paused) one may plug in and unplug disks where QEMU
 * can hot-plug them (virtio on a spare PCIe root port of q35, SCSI on q35's controller), and grow
 * any disk (QMP block_resize; the guest sees the new size); bus and cache mode are fixed while it
 * runs, and shrinking stays for the stopped VM. A saved VM changes nothing (its saved memory
 * expects the disks as they are).
 */
import type { DiskBus, DiskConfig } from '../contract/vm-config';
import type { MachineType } from '../contract/vocabulary';
import { HOTPLUG_PORTS, MAX_DISKS } from './disk-limits';
import { isLive, isSaved, isTransitional, type VmState } from '../vm-state';
import { savedRefusalMessage } from './vm-settings';

export { MAX_DISKS };

export type DiskVerdict = { ok: true } | { ok: false; reason: string };

const OK: DiskVerdict = { ok: true };
const no = (reason: string): DiskVerdict => ({ ok: false, reason });

/** What the rules need of a VM. */
export interface DiskRuleVm {
  machine: MachineType;
  /** The config's device layout generation: hot-plug buses came with layout 2. */
  layout: number;
  disks: readonly Pick<DiskConfig, 'id' | 'bus' | 'port'>[];
  state: VmState;
}

/** Buses a disk can be plugged into while the VM runs, on this machine. */
export function hotplugBuses(vm: Pick<DiskRuleVm, 'machine' | 'layout'>): readonly DiskBus[] {
  return vm.machine === 'q35' && vm.layout >= 2 ? ['virtio', 'scsi'] : [];
}

/** Whether a disk of `bus` can be plugged into the running VM; else why not. */
export function hotplugProblem(
  vm: Pick<DiskRuleVm, 'machine' | 'layout'>,
  bus: DiskBus,
): string | null {
  if (vm.machine !== 'q35' && vm.machine !== 'pc') {
    return 'Disks are plugged in while the VM runs only on x86-64 guests for now: shut the VM down to add one.';
  }
  if (vm.machine !== 'q35') {
    return 'The pc machine cannot take disks while it runs: shut the VM down to add one (or use the q35 machine).';
  }
  if (vm.layout < 2) {
    return 'This VM was made before disks could be plugged in while it runs: shut it down to add one. It gains the slots for them at a start with no live snapshot or saved state to keep.';
  }
  if (bus === 'sata' || bus === 'ide') {
    return `${bus === 'sata' ? 'SATA' : 'IDE'} disks cannot be plugged in while the VM runs: choose VirtIO or SCSI, or shut the VM down.`;
  }
  return null;
}

/** A refusal common to every change: saved, or on its way between states. */
function stateProblem(state: VmState): string | null {
  if (isSaved(state)) return savedRefusalMessage('disks');
  if (isTransitional(state)) return `The VM is ${state}: wait until it settles.`;
  return null;
}

export function canAddDisk(vm: DiskRuleVm, bus: DiskBus): DiskVerdict {
  const state = stateProblem(vm.state);
  if (state) return no(state);
  if (vm.disks.length >= MAX_DISKS)
    return no(`A VM has at most ${MAX_DISKS} disks: detach one first.`);
  if (!isLive(vm.state)) return OK;
  const hot = hotplugProblem(vm, bus);
  if (hot) return no(hot);
  if (bus === 'virtio' && freeHotplugPort(vm.disks, 'virtio') === null) {
    return no('Every spare slot of this VM holds a disk: shut it down to add another.');
  }
  return OK;
}

/** Import converts first, then attaches: the attach follows the add rule. */
export const canImportDisk = canAddDisk;

export function canDetachDisk(
  vm: DiskRuleVm,
  disk: Pick<DiskConfig, 'id' | 'bus' | 'port'>,
): DiskVerdict {
  const state = stateProblem(vm.state);
  if (state) return no(state);
  if (!isLive(vm.state)) return OK;
  if (hotplugBuses(vm).length === 0 || (disk.bus !== 'virtio' && disk.bus !== 'scsi')) {
    return no(`Disk ${disk.id} cannot be unplugged while the VM runs: shut it down to detach it.`);
  }
  if (disk.bus === 'virtio' && disk.port === undefined) {
    return no(
      `Disk ${disk.id} sits on the machine's root bus, which cannot unplug: shut the VM down to detach it.`,
    );
  }
  return OK;
}

export function canResizeDisk(vm: DiskRuleVm, shrink: boolean): DiskVerdict {
  const state = stateProblem(vm.state);
  if (state) return no(state);
  if (shrink && isLive(vm.state)) {
    return no('Shrinking needs the VM shut down (and the guest’s filesystems shrunk first).');
  }
  return OK;
}

/** Bus and cache mode: QEMU fixes them when it opens the disk. */
export function canChangeDisk(vm: DiskRuleVm): DiskVerdict {
  const state = stateProblem(vm.state);
  if (state) return no(state);
  if (isLive(vm.state)) return no('Shut the VM down to change a disk’s bus or cache mode.');
  return OK;
}

/**
 * The free place for a new disk of `bus`: a spare root port (virtio, q35) or a SCSI target, the
 * lowest nobody uses; null when all are taken. Other buses need none.
 */
export function freeHotplugPort(
  disks: readonly Pick<DiskConfig, 'bus' | 'port'>[],
  bus: DiskBus,
): number | null {
  const same = disks.filter((d) => d.bus === bus);
  const taken = new Set(bus === 'scsi' ? scsiTargets(same) : same.map((d) => d.port));
  for (let n = 0; n < HOTPLUG_PORTS; n++) if (!taken.has(n)) return n;
  return null;
}

/**
 * The SCSI target of each SCSI disk, in order: its own `port`, or (a disk made before ports were
 * recorded, or by hand) the lowest target nobody else holds, as the argv gives it.
 */
export function scsiTargets(disks: readonly Pick<DiskConfig, 'bus' | 'port'>[]): number[] {
  const scsi = disks.filter((d) => d.bus === 'scsi');
  const taken = new Set(scsi.map((d) => d.port).filter((p) => p !== undefined));
  let next = 0;
  return scsi.map((d) => {
    if (d.port !== undefined) return d.port;
    while (taken.has(next)) next++;
    taken.add(next);
    return next;
  });
}
