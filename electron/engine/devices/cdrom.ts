/**
 * The VM's CD: a disc inserted, changed or ejected while the guest runs (QMP
 * blockdev-change-medium and eject on the drive made at start, empty or not), or in the config
 * while it is stopped. The config changes only after QEMU took the change, so the next start has
 * the same disc.
 */
import { DEVICE_LAYOUT_LATEST, type CdromChange, type CdromInfo } from '../../../common/contract';
import { readImageInfo } from '../catalog/iso9660';
import { VivariumError } from '../errors';
import type { Vm } from '../library/vm';
import { CDROM_DEVICE_ID, CDROM_START_NODES, hasCdDrive } from '../qemu/args';
import { checkReadableFile } from '../vms/file-checks';
import { changeTarget, type VmSource } from './live-change';

interface BlockInfo {
  qdev?: string;
  locked?: boolean;
  tray_open?: boolean;
  inserted?: { file?: string };
}

export class CdromService {
  constructor(private readonly vms: VmSource) {}

  async get(ref: string): Promise<CdromInfo> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    if (changeTargetOrNull(vm) === 'live') {
      const drive = await liveDrive(vm);
      return { medium: vm.config.cdrom, drive: drive !== null, locked: drive?.locked ?? null };
    }
    return { medium: vm.config.cdrom, drive: hasCdDrive(vm.config), locked: null };
  }

  insert(ref: string, file: string): Promise<CdromChange> {
    return this.change(ref, file);
  }

  eject(ref: string): Promise<CdromChange> {
    return this.change(ref, null);
  }

  private async change(ref: string, file: string | null): Promise<CdromChange> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    if (file !== null) await checkIso(file);
    return vm.supervisor.serialize(async () => {
      if (changeTarget(vm) === 'config') {
        // A disc makes its drive at start (whatever the device layout) where a port is free.
        if (file !== null && !hasCdDrive({ ...vm.config, layout: DEVICE_LAYOUT_LATEST })) {
          throw new VivariumError(
            'RESOURCE_LIMIT',
            `"${vm.config.name}" has no CD drive: its IDE/SATA ports are all disks. Move a disk to virtio first.`,
          );
        }
        await vm.update((c) => ({ ...c, cdrom: file }));
        return { medium: file, drive: true, locked: null, applied: 'config', note: null };
      }
      const drive = await liveDrive(vm);
      if (!drive) {
        const why =
          vm.config.layout < 2 && hasCdDrive({ ...vm.config, layout: DEVICE_LAYOUT_LATEST })
            ? 'it was made before discs could go in while it runs; it gains an empty drive at a start with no live snapshot or saved state to keep'
            : 'its IDE/SATA ports are all disks';
        throw new VivariumError(
          'BAD_STATE',
          `"${vm.config.name}" runs without a CD drive (${why}): shut it down and put the disc in while it is stopped.`,
        );
      }
      const locked = drive.locked === true;
      const before = vm.config.cdrom;
      if (file !== null) {
        // force: a guest that mounted the disc locked the tray; without it QEMU only asks the
        // guest to eject and the change fails.
        await vm.supervisor.command('blockdev-change-medium', {
          id: CDROM_DEVICE_ID,
          filename: file,
          format: 'raw',
          'read-only-mode': 'read-only',
          force: locked,
        });
      } else if (drive.inserted) {
        await vm.supervisor.command('eject', { id: CDROM_DEVICE_ID, force: locked });
      }
      // Only tidying: the change itself is done and must be kept whatever happens here.
      await dropStartNodes(vm).catch(() => undefined);
      try {
        await vm.update((c) => ({ ...c, cdrom: file }));
      } catch (err) {
        // Not kept: put the disc that the config still names back in the drive.
        await restore(vm, before).catch(() => undefined);
        throw err;
      }
      const note = locked
        ? `The guest had locked the drive (the disc was in use or mounted), so the ${file === null ? 'disc was ejected' : 'disc was changed'} anyway. A guest that still has the old disc mounted should unmount it (umount /dev/sr0, or Eject in its file manager).`
        : null;
      return { medium: file, drive: true, locked: false, applied: 'live', note };
    });
  }
}

function changeTargetOrNull(vm: Vm): 'live' | 'config' | null {
  try {
    return changeTarget(vm);
  } catch {
    return null;
  }
}

/** The CD drive as QEMU reports it, or null when the VM was started without one. */
async function liveDrive(vm: Vm): Promise<BlockInfo | null> {
  const blocks = await vm.supervisor.command<BlockInfo[]>('query-block');
  return blocks.find((b) => b.qdev === CDROM_DEVICE_ID) ?? null;
}

/**
 * The disc given at start has named nodes of its own (-blockdev cd0...), which stay open after a
 * change takes them out of the drive: closed here. Absent ones (a disc inserted live) are fine.
 */
async function dropStartNodes(vm: Vm): Promise<void> {
  const named = await vm.supervisor.command<Array<{ 'node-name': string }>>(
    'query-named-block-nodes',
    { flat: true },
  );
  const present = new Set(named.map((n) => n['node-name']));
  for (const node of CDROM_START_NODES) {
    if (present.has(node)) {
      await vm.supervisor.command('blockdev-del', { 'node-name': node }).catch(() => undefined);
    }
  }
}

async function restore(vm: Vm, file: string | null): Promise<void> {
  if (file === null) {
    await vm.supervisor.command('eject', { id: CDROM_DEVICE_ID, force: true });
  } else {
    await vm.supervisor.command('blockdev-change-medium', {
      id: CDROM_DEVICE_ID,
      filename: file,
      format: 'raw',
      'read-only-mode': 'read-only',
      force: true,
    });
  }
}

/** A readable ISO 9660 image, or an error saying what the file is and what to do. */
export async function checkIso(file: string): Promise<void> {
  await checkReadableFile(file, 'disc image', 'choose an ISO file that exists');
  let format: string;
  try {
    format = (await readImageInfo(file)).format;
  } catch (err) {
    throw new VivariumError(
      'FILE_UNREADABLE',
      `Could not read ${file}: ${(err as Error).message}. Choose another ISO file.`,
    );
  }
  if (format !== 'iso9660') {
    throw new VivariumError(
      'INVALID_REQUEST',
      format === 'unknown'
        ? `${file} is not a CD image (no ISO 9660 volume in it): choose an .iso file. A disk image goes in as a disk, or as a USB drive.`
        : `${file} is a ${format} disk image, not a CD image: add it as a disk, or attach it as a USB drive.`,
      { file: 'Not an ISO image' },
    );
  }
}
