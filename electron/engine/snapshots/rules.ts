/**
 * Which block nodes a snapshot covers and whether a VM can be snapshotted, reverted or have a
 * snapshot deleted right now: pure functions of the config and the state, so the UI and the CLI
 * show the engine's own answer ("why can't I snapshot this VM?") before the user tries.
 */
import type {
  CanSnapshot,
  SnapshotKind,
  Verdict,
  VmConfig,
  VmState,
} from '../../../common/contract';
import { savedRefusalMessage } from '../../../common/rules/vm-settings';
import { isGuestUp, isSaved, isTransitional } from '../../../common/vm-state';
import { diskPath } from '../qemu/args';

/** A block node that holds internal snapshots: a disk (node = disk id) or the UEFI vars. */
export interface SnapshotDevice {
  node: string;
  file: string;
}

/** The UEFI variable store's node name in the argv (qemu/args.ts). */
export const NVRAM_NODE = 'fw-vars';

/**
 * Every writable qcow2 node, in argv order, plus the UEFI variables (qcow2 too): what
 * `snapshot-save` lists in `devices`. The memory goes into the first disk; a disk-less UEFI VM
 * (a live ISO) keeps it in its variable store.
 */
export function snapshotDevices(
  config: VmConfig,
  vmDir: string,
  nvramFile: string,
): { devices: SnapshotDevice[]; vmstate: string | null } {
  const devices: SnapshotDevice[] = config.disks
    .filter((d) => d.format === 'qcow2' && !d.readOnly)
    .map((d) => ({ node: d.id, file: diskPath(vmDir, d) }));
  const vmstate = devices[0]?.node ?? (config.firmware === 'uefi' ? NVRAM_NODE : null);
  if (config.firmware === 'uefi') devices.push({ node: NVRAM_NODE, file: nvramFile });
  return { devices, vmstate };
}

/** extraArgs that bring host devices or host-side state that a snapshot cannot capture. */
const PASSTHROUGH: Array<[RegExp, string]> = [
  [/vfio|pci-assign/i, 'a PCI device passed through from the host (vfio)'],
  [/usb-host/i, 'a USB device passed through from the host'],
  [/\bivshmem/i, 'shared memory with the host (ivshmem)'],
  [/vhost-user/i, 'a vhost-user device'],
];

/** The kind a snapshot would have in this state (live while QEMU runs the guest). */
export function kindFor(state: VmState): SnapshotKind {
  return isGuestUp(state) ? 'live' : 'disk';
}

export interface CanSnapshotInput {
  config: VmConfig;
  state: VmState;
  /** Free bytes where the VM's disks live, when known. */
  freeBytes?: number | null;
}

export function canSnapshot({ config, state, freeBytes }: CanSnapshotInput): CanSnapshot {
  // The saved memory refers to the disks as they are; a snapshot of them would not hold it.
  if (isSaved(state)) return { ok: false, reason: savedRefusalMessage('snapshot') };
  if (isTransitional(state)) {
    return { ok: false, reason: `The VM is ${state}: wait until it is running, paused or off.` };
  }
  const raw = config.disks.find((d) => d.format === 'raw' && !d.readOnly);
  if (raw) {
    return {
      ok: false,
      reason:
        `Disk ${raw.id} is a raw image, which cannot hold snapshots. Convert it to qcow2 ` +
        '(import it as a new disk) or make it read-only to take snapshots.',
    };
  }
  const extra = config.extraArgs.join(' ');
  for (const [pattern, what] of PASSTHROUGH) {
    if (pattern.test(extra)) {
      return {
        ok: false,
        reason: `The VM's extra QEMU arguments add ${what}, whose state cannot be saved. Remove it to take snapshots.`,
      };
    }
  }
  if (config.extraArgs.some((a) => a === '-snapshot')) {
    return {
      ok: false,
      reason:
        'The extra QEMU argument -snapshot throws every disk write away at power-off; remove it to take snapshots.',
    };
  }
  const kind = kindFor(state);
  const usbProblem = kind === 'live' ? liveUsbProblem(config) : null;
  if (usbProblem) return { ok: false, reason: usbProblem };
  const writableQcow2 = config.disks.some((d) => d.format === 'qcow2' && !d.readOnly);
  if (!writableQcow2 && config.firmware !== 'uefi') {
    return {
      ok: false,
      reason:
        'The VM has no writable qcow2 disk to keep snapshots in: add a disk to take snapshots.',
    };
  }
  if (kind === 'disk' && !writableQcow2) {
    return {
      ok: false,
      reason:
        'The VM has no disk: a snapshot of a VM that is off would hold nothing. Start it for a live snapshot.',
    };
  }
  if (
    kind === 'live' &&
    freeBytes != null &&
    freeBytes < config.memoryMiB * 1024 * 1024 + 64 * 2 ** 20
  ) {
    return {
      ok: false,
      reason: `A live snapshot stores up to ${config.memoryMiB} MiB of memory, and the disk has less free space: free some space first.`,
    };
  }
  return { ok: true, kind };
}

/**
 * A running VM's USB devices that a live snapshot cannot hold: a host device (its state is in the
 * device, not in QEMU) and a writable USB drive (its image is not among the snapshot's disks, so a
 * revert would give the guest memory that does not match the drive). Read-only drives are fine.
 */
function liveUsbProblem(config: VmConfig): string | null {
  for (const d of config.usb) {
    if (d.kind === 'host') {
      return `USB device ${d.vendorId}:${d.productId} is passed through from this computer, and its state cannot be saved: detach it to take a live snapshot (or shut the VM down for a disk-only one).`;
    }
    if (!d.readOnly) {
      return `The USB drive ${d.file} is writable and not part of snapshots: detach it, or attach it read-only, to take a live snapshot.`;
    }
  }
  return null;
}

export interface NodeFacts {
  kind: SnapshotKind;
  status: 'ok' | 'missing' | 'partial';
  vmstate: string | null;
}

export function canRevert(node: NodeFacts, state: VmState, config: VmConfig): Verdict {
  if (node.status === 'missing') {
    return {
      ok: false,
      reason:
        'The disk images no longer hold this snapshot (deleted outside Vivarium): you can only remove it from the list.',
    };
  }
  if (node.status === 'partial') {
    return {
      ok: false,
      reason:
        'Some of the disks no longer hold this snapshot, so reverting would mix two moments. Remove it from the list.',
    };
  }
  if (isSaved(state)) return { ok: false, reason: savedRefusalMessage('snapshot') };
  if (isTransitional(state)) return { ok: false, reason: `The VM is ${state}: wait a moment.` };
  if (node.kind === 'disk' && isGuestUp(state)) {
    return {
      ok: false,
      reason:
        'This snapshot holds the disks only (taken while the VM was off): shut the VM down to revert to it.',
    };
  }
  if (node.kind === 'live') {
    const why = canSnapshot({ config, state: 'running' });
    if (!why.ok) return why;
  }
  return { ok: true };
}

export function canDelete(state: VmState): Verdict {
  if (isTransitional(state)) return { ok: false, reason: `The VM is ${state}: wait a moment.` };
  return { ok: true };
}
