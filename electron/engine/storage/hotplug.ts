/**
 * Disks plugged into and out of a running QEMU through QMP: the two block nodes (file, then
 * format) with blockdev-add, then the device with device_add; out again with device_del, which
 * the guest must answer (QEMU announces DEVICE_DELETED once it let go), then blockdev-del. The
 * nodes and the device carry the same names and properties as at start (qemu/args.ts builds
 * both), so a snapshot of the running VM includes the plugged disk and a restart keeps it.
 */
import type { DiskConfig } from '../../../common/contract';
import { VivariumError } from '../errors';
import { diskBlockdevs, diskDevice, hotplugPortId, SCSI_CONTROLLER_ID } from '../qemu/args';
import type { VmSupervisor } from '../qemu/supervisor';
import type { QmpEvent } from '../qmp/client';

/** How long the guest has to release an unplugged disk. */
export const UNPLUG_WAIT_MS = 20_000;

type Qmp = Pick<VmSupervisor, 'command' | 'watchQmp'>;

/** Plugs `disk` into the running VM; whatever QEMU took before a refusal is taken back. */
export async function plugDisk(qmp: Qmp, vmDir: string, disk: DiskConfig): Promise<void> {
  // A QEMU started before these buses existed in the argv has nowhere to plug the disk.
  const bus = disk.bus === 'scsi' ? SCSI_CONTROLLER_ID : hotplugPortId(disk.port ?? 0);
  if (!(await deviceExists(qmp, bus))) {
    throw new VivariumError(
      'BAD_STATE',
      `This QEMU was started without the ${disk.bus === 'scsi' ? 'SCSI controller' : 'spare PCIe slots'} disks are plugged into: shut the VM down and start it again, then add the disk while it runs (or add it now with the VM shut down).`,
    );
  }
  const [file, format] = diskBlockdevs(vmDir, disk);
  const added: string[] = [];
  try {
    await qmp.command('blockdev-add', file);
    added.push(file['node-name'] as string);
    await qmp.command('blockdev-add', format);
    added.push(format['node-name'] as string);
    await qmp.command('device_add', diskDevice(disk));
  } catch (err) {
    for (const node of added.reverse()) {
      await qmp.command('blockdev-del', { 'node-name': node }).catch(() => undefined);
    }
    throw new VivariumError(
      'QMP_ERROR',
      `Disk ${disk.id} could not be plugged in: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * Unplugs `disk` from the running VM: asks the guest to release it and waits for QEMU to say it
 * did, then closes its nodes. A device already gone (an earlier request the guest answered late)
 * only has its nodes closed.
 */
export async function unplugDisk(
  qmp: Qmp,
  disk: DiskConfig,
  waitMs = UNPLUG_WAIT_MS,
): Promise<void> {
  const device = `${disk.id}-dev`;
  if (await deviceExists(qmp, device)) {
    let stop = (): void => undefined;
    const deleted = new Promise<void>((resolve) => {
      stop = qmp.watchQmp((event: QmpEvent) => {
        if (event.event === 'DEVICE_DELETED' && event.data?.['device'] === device) resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await qmp.command('device_del', { id: device });
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), waitMs);
      });
      // The event may have come before the watch saw it: asking again settles it.
      const answer = await Promise.race([deleted.then(() => 'done' as const), late]);
      if (answer === 'late' && (await deviceExists(qmp, device))) {
        throw new VivariumError(
          'TIMEOUT',
          `The guest has not released disk ${disk.id} after ${Math.round(waitMs / 1000)} s. It must ` +
            'cooperate: a guest still booting, or one without PCIe/SCSI hot-plug, ignores the ' +
            'request. The request stays pending (the disk goes when the guest lets go): try ' +
            'again later, or shut the VM down to detach it.',
        );
      }
    } finally {
      clearTimeout(timer);
      stop();
    }
  }
  const nodes = await blockNodes(qmp);
  for (const node of [disk.id, `${disk.id}-file`]) {
    if (nodes.has(node)) await qmp.command('blockdev-del', { 'node-name': node });
  }
}

async function deviceExists(qmp: Qmp, id: string): Promise<boolean> {
  const items = await qmp.command<Array<{ name: string }>>('qom-list', {
    path: '/machine/peripheral',
  });
  return items.some((i) => i.name === id);
}

async function blockNodes(qmp: Qmp): Promise<Set<string>> {
  const nodes = await qmp.command<Array<{ 'node-name'?: string }>>('query-named-block-nodes', {
    flat: true,
  });
  return new Set(nodes.map((n) => n['node-name'] ?? '').filter(Boolean));
}
