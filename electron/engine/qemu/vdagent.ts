/**
 * The clipboard channel (qemu-vdagent chardev + its virtserialport) taken off a running VM and
 * put back. QEMU 7.2 registers a migration blocker with the chardev, so a live snapshot cannot
 * be saved while it exists; without the port and the chardev the blocker is gone, and the
 * snapshot holds no trace of the channel (a revert detaches it too, so the port layout of the
 * running VM matches the snapshot's while it loads).
 */
import type { QmpEvent } from '../qmp/client';
import { VDAGENT, vdagentPortDevice } from './args';

/** What this needs of a supervisor: its QMP commands and events. */
export interface VdagentHost {
  command<T = unknown>(name: string, args?: Record<string, unknown>): Promise<T>;
  watchQmp(listener: (event: QmpEvent) => void): () => void;
}

/** Whether the clipboard chardev exists in the running QEMU. */
export async function vdagentAttached(q: VdagentHost): Promise<boolean> {
  const chardevs = await q.command<{ label: string }[]>('query-chardev');
  return chardevs.some((c) => c.label === VDAGENT.chardev);
}

/** Whether the clipboard port exists (it may outlive a chardev-remove that failed). */
async function portAttached(q: VdagentHost): Promise<boolean> {
  const devices = await q.command<{ name: string }[]>('qom-list', {
    path: '/machine/peripheral',
  });
  return devices.some((d) => d.name === VDAGENT.port);
}

/**
 * Unplugs the port (virtio-serial ports go at once: DEVICE_DELETED follows device_del without
 * the guest's say), then removes the chardev, which drops its migration blocker.
 */
export async function detachVdagent(q: VdagentHost, timeoutMs = 10_000): Promise<void> {
  if (await portAttached(q)) {
    let stop = (): void => undefined;
    const deleted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error('QEMU did not unplug the clipboard port in time'));
      }, timeoutMs);
      stop = q.watchQmp((e) => {
        const id = (e.data as { device?: string } | undefined)?.device;
        if (e.event === 'DEVICE_DELETED' && id === VDAGENT.port) {
          clearTimeout(timer);
          stop();
          resolve();
        }
      });
    });
    try {
      await q.command('device_del', { id: VDAGENT.port });
    } catch (err) {
      stop();
      throw err;
    }
    // The event may have come before device_del's reply; it is in `deleted` either way.
    await deleted.catch(async (err: unknown) => {
      if (await portAttached(q)) throw err;
    });
  }
  if (await vdagentAttached(q)) await q.command('chardev-remove', { id: VDAGENT.chardev });
}

/** Puts the chardev and its port back as the argv made them (same bus, same port number). */
export async function attachVdagent(q: VdagentHost): Promise<void> {
  if (!(await vdagentAttached(q))) {
    await q.command('chardev-add', {
      id: VDAGENT.chardev,
      backend: { type: 'qemu-vdagent', data: { clipboard: true } },
    });
  }
  if (!(await portAttached(q))) await q.command('device_add', vdagentPortDevice());
}
