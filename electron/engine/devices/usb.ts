/**
 * The VM's USB devices: the host's own (usb-host) and drives made from image files (usb-storage
 * on a blockdev, as VirtualBox and UTM offer), attached and detached through the same path: QMP
 * device_add/device_del (waiting for DEVICE_DELETED) while the guest runs, then the config, so
 * the next start has them too.
 */
import { ARCH_LABELS, archPreset } from '../../../common/arch';
import { constants } from 'node:fs';
import { access, open, realpath } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type {
  HostUsbDevice,
  ParsedParams,
  UsbAttachment,
  UsbDeviceConfig,
  UsbHostList,
} from '../../../common/contract';
import {
  USB_MAX,
  nextUsbEntryId,
  parseUsbHostSpec,
  usbIdsName,
  usbPlaceName,
  type UsbHostSpec,
} from '../../../common/rules/usb';
import { sniffFormat } from '../catalog/iso9660';
import { VivariumError } from '../errors';
import type { HostUsbScanner } from '../host/usb-devices';
import type { Vm } from '../library/vm';
import { USB_CONTROLLER_ID, usbDeviceId, usbDeviceOptions, usbDriveBlockdev } from '../qemu/args';
import { checkReadableFile } from '../vms/file-checks';
import { changeTarget, liveDeviceIds, type VmSource } from './live-change';

type AttachRequest = ParsedParams<'usb.attach'>['device'];
type DriveEntry = Extract<UsbDeviceConfig, { kind: 'drive' }>;
type HostEntry = Extract<UsbDeviceConfig, { kind: 'host' }>;

/** USB unplug needs no guest help: QEMU ends it at once; this is for a QEMU that hangs. */
const DELETE_TIMEOUT_MS = 10_000;

export class UsbService {
  constructor(
    private readonly vms: VmSource,
    private readonly scanner: HostUsbScanner,
  ) {}

  host(): Promise<UsbHostList> {
    return this.scanner.list();
  }

  async list(ref: string): Promise<UsbAttachment[]> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    return this.attachments(vm, vm.config.usb);
  }

  async attach(
    ref: string,
    req: AttachRequest,
  ): Promise<{ attached: UsbAttachment; applied: 'live' | 'config' }> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    // Checked before waiting in the VM's line: the files and the host's buses, not the VM.
    const made = req.kind === 'drive' ? await driveEntry(req) : await this.hostEntry(req.device);
    return vm.supervisor.serialize(async () => {
      const target = changeTarget(vm);
      if (archPreset(vm.config.arch).input === 'none') {
        throw new VivariumError(
          'INVALID_REQUEST',
          `"${vm.config.name}" is an ${ARCH_LABELS[vm.config.arch]} guest, whose machine has no USB: use a virtio disk instead of a USB drive.`,
        );
      }
      const taken = vm.config.usb;
      if (taken.length >= USB_MAX) {
        throw new VivariumError(
          'RESOURCE_LIMIT',
          `"${vm.config.name}" has ${USB_MAX} USB devices, the most a VM can have: detach one first`,
        );
      }
      const entry: UsbDeviceConfig = {
        ...made.entry,
        id: nextUsbEntryId(taken.map((d) => d.id)),
      };
      const same = await findSame(taken, entry);
      if (same) {
        throw new VivariumError(
          'INVALID_REQUEST',
          `${describe(same)} is already attached to "${vm.config.name}" (as ${same.id})`,
        );
      }
      if (target === 'live') {
        if (!(await liveDeviceIds(vm)).has(USB_CONTROLLER_ID)) {
          throw new VivariumError(
            'BAD_STATE',
            `"${vm.config.name}" was started without a USB controller (it was made before USB devices could be attached while it runs): attach the device while it is stopped. It gains the controller at a start with no live snapshot or saved state to keep.`,
          );
        }
        await plugIn(vm, entry, made.device);
      }
      try {
        await vm.update((c) => ({ ...c, usb: [...c.usb, entry] }));
      } catch (err) {
        // Not kept: not in the guest either.
        if (target === 'live') await unplug(vm, entry).catch(() => undefined);
        throw err;
      }
      const [attached] = await this.attachments(vm, [entry]);
      return { attached: attached!, applied: target };
    });
  }

  async detach(
    ref: string,
    device: string,
  ): Promise<{ detached: UsbAttachment; applied: 'live' | 'config' }> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      const target = changeTarget(vm);
      const entry = await findEntry(vm, device);
      const [detached] = await this.attachments(vm, [entry]);
      if (target === 'live' && (await liveDeviceIds(vm)).has(usbDeviceId(entry))) {
        await unplug(vm, entry);
      }
      await vm.update((c) => ({ ...c, usb: c.usb.filter((d) => d.id !== entry.id) }));
      return {
        detached: { ...detached!, live: target === 'live' ? false : null },
        applied: target,
      };
    });
  }

  // -------------------------------------------------------------------------------------------

  /** The config entry for a host device named by the user, which must be plugged in now. */
  private async hostEntry(text: string): Promise<{ entry: HostEntry; device: HostUsbDevice }> {
    const spec = parseUsbHostSpec(text);
    if (!spec) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `"${text}" names no USB device: give vendor:product (like 046d:c52b) or its place, bus-port (like 1-1.2), as \`vivarium usb list\` shows them; or an image file for a USB drive.`,
        { device: 'vendor:product or bus-port' },
      );
    }
    const host = await this.scanner.list();
    const matches = host.devices.filter((d) => matchesSpec(d, spec));
    const device = matches[0];
    if (!device) {
      const what = spec.by === 'ids' ? usbIdsName(spec.vendorId, spec.productId) : text;
      throw new VivariumError(
        'NOT_FOUND',
        host.devices.length === 0
          ? `No USB device ${what} here: ${host.message ?? 'this computer shows no USB devices.'}`
          : `No USB device ${what} is plugged into this computer: plug it in, then look for it with \`vivarium usb list\`.`,
        { device: 'Not plugged in' },
      );
    }
    if (matches.length > 1) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${matches.length} devices ${usbIdsName(device.vendorId, device.productId)} are plugged in: name one by its place (${matches.map((d) => d.place).join(', ')}).`,
        { device: 'Several alike: give bus-port' },
      );
    }
    // Two alike on the host (now or later) are told apart by place, when the user named it.
    const place = spec.by === 'place' ? { bus: device.bus, port: device.port } : {};
    const name = [device.manufacturer, device.product].filter(Boolean).join(' ');
    return {
      entry: {
        kind: 'host',
        id: 'usb1',
        vendorId: device.vendorId,
        productId: device.productId,
        ...place,
        ...(name ? { name: name.slice(0, 200) } : {}),
      },
      device,
    };
  }

  private async attachments(vm: Vm, entries: UsbDeviceConfig[]): Promise<UsbAttachment[]> {
    let live: Set<string> | null = null;
    try {
      if (changeTarget(vm) === 'live') live = await liveDeviceIds(vm);
    } catch {
      live = null;
    }
    const needsHost = entries.some((e) => e.kind === 'host');
    const host = needsHost ? (await this.scanner.list()).devices : [];
    return entries.map((config) => ({
      config,
      label: describe(config),
      live: live === null ? null : live.has(usbDeviceId(config)),
      unplugged: config.kind === 'host' && !host.some((d) => matchesEntry(d, config)),
    }));
  }
}

function matchesSpec(d: HostUsbDevice, spec: UsbHostSpec): boolean {
  return spec.by === 'ids'
    ? d.vendorId === spec.vendorId && d.productId === spec.productId
    : d.bus === spec.bus && d.port === spec.port;
}

function matchesEntry(d: HostUsbDevice, e: HostEntry): boolean {
  return (
    d.vendorId === e.vendorId &&
    d.productId === e.productId &&
    (e.bus === undefined || d.bus === e.bus) &&
    (e.port === undefined || d.port === e.port)
  );
}

/** "Logitech USB Receiver (046d:c52b)", "USB drive stick.img (read-only)". */
export function describe(e: UsbDeviceConfig): string {
  if (e.kind === 'drive') return `USB drive ${basename(e.file)}${e.readOnly ? ' (read-only)' : ''}`;
  const ids = usbIdsName(e.vendorId, e.productId);
  const place =
    e.bus !== undefined && e.port !== undefined ? ` at ${usbPlaceName(e.bus, e.port)}` : '';
  return e.name ? `${e.name} (${ids})${place}` : `USB device ${ids}${place}`;
}

/** A drive entry for an image file: readable (and writable unless read-only), raw or qcow2. */
async function driveEntry(req: Extract<AttachRequest, { kind: 'drive' }>): Promise<{
  entry: DriveEntry;
  device: null;
}> {
  await checkReadableFile(req.file, 'image for the USB drive', 'choose an image file that exists');
  if (!req.readOnly) {
    try {
      await access(req.file, constants.W_OK);
    } catch {
      throw new VivariumError(
        'FILE_UNREADABLE',
        `Vivarium may not write to ${req.file}: attach it read-only (--read-only), or fix its permissions.`,
        { file: 'Not writable' },
      );
    }
  }
  const format = req.format ?? (await imageFormat(req.file));
  return {
    entry: { kind: 'drive', id: 'usb1', file: req.file, format, readOnly: req.readOnly },
    device: null,
  };
}

async function imageFormat(file: string): Promise<'raw' | 'qcow2'> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    await fh.read(head, 0, head.length, 0);
    const sniffed = sniffFormat(head);
    if (sniffed === null) return 'raw';
    if (sniffed === 'qcow2') return 'qcow2';
    throw new VivariumError(
      'INVALID_REQUEST',
      `${file} is a ${sniffed} image, which QEMU attaches only after conversion: convert it (qemu-img convert -O qcow2 ${basename(file)} stick.qcow2) and attach that.`,
      { file: `A ${sniffed} image` },
    );
  } finally {
    await fh.close();
  }
}

/** The entry already attached that is the same device (or image file) as `e`. */
async function findSame(
  list: readonly UsbDeviceConfig[],
  e: UsbDeviceConfig,
): Promise<UsbDeviceConfig | null> {
  const real = e.kind === 'drive' ? await realpath(e.file).catch(() => e.file) : null;
  for (const d of list) {
    if (d.kind === 'drive' && e.kind === 'drive') {
      if ((await realpath(d.file).catch(() => d.file)) === real) return d;
    } else if (d.kind === 'host' && e.kind === 'host') {
      if (
        d.vendorId === e.vendorId &&
        d.productId === e.productId &&
        (d.bus === undefined || e.bus === undefined || (d.bus === e.bus && d.port === e.port))
      ) {
        return d;
      }
    }
  }
  return null;
}

/** The attached entry the user named: its id, vendor:product, bus-port or an image file. */
async function findEntry(vm: Vm, text: string): Promise<UsbDeviceConfig> {
  const list = vm.config.usb;
  const byId = list.find((d) => d.id === text);
  if (byId) return byId;
  const spec = parseUsbHostSpec(text);
  const hosts = list.filter((d): d is HostEntry => d.kind === 'host');
  const found = spec
    ? hosts.filter((d) =>
        spec.by === 'ids'
          ? d.vendorId === spec.vendorId && d.productId === spec.productId
          : d.bus === spec.bus && d.port === spec.port,
      )
    : [];
  if (found.length > 1) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `"${vm.config.name}" has ${found.length} devices ${text}: name one by its id (${found.map((d) => d.id).join(', ')})`,
    );
  }
  if (found[0]) return found[0];
  if (!spec) {
    const real = await realpath(resolve(text)).catch(() => resolve(text));
    for (const d of list) {
      if (d.kind === 'drive' && (await realpath(d.file).catch(() => d.file)) === real) return d;
    }
  }
  throw new VivariumError(
    'NOT_FOUND',
    list.length === 0
      ? `"${vm.config.name}" has no USB devices attached`
      : `"${vm.config.name}" has no USB device ${text}: it has ${list.map((d) => `${d.id} (${describe(d)})`).join(', ')}`,
    { device: 'Not attached' },
  );
}

/** Into the running guest: the image's block node first for a drive, then the device. */
async function plugIn(vm: Vm, entry: UsbDeviceConfig, host: HostUsbDevice | null): Promise<void> {
  if (entry.kind === 'drive') {
    try {
      await vm.supervisor.command('blockdev-add', usbDriveBlockdev(entry));
    } catch (err) {
      throw new VivariumError(
        'QMP_ERROR',
        `QEMU could not open ${entry.file} for the USB drive (${(err as Error).message}): ${entry.readOnly ? 'check the file' : 'if another VM or program uses it, close that or attach it read-only'}.`,
      );
    }
    try {
      await vm.supervisor.command('device_add', usbDeviceOptions(entry));
    } catch (err) {
      await vm.supervisor.command('blockdev-del', { 'node-name': entry.id }).catch(() => undefined);
      throw err;
    }
    return;
  }
  // The device on its bus now, by bus and address alone: then QEMU opens it at once and says so
  // when it cannot, where any other match (vendor, product, port) has it wait silently for a
  // device to appear. The config keeps vendor and product for the next start.
  const { driver, id, bus } = usbDeviceOptions(entry);
  const options = host
    ? { driver, id, bus, hostbus: host.bus, hostaddr: host.device }
    : usbDeviceOptions(entry);
  try {
    await vm.supervisor.command('device_add', options);
  } catch (err) {
    throw await hostOpenFailure(entry, host, err);
  }
}

/** QEMU could not take a host device: why, from the device node as it is now, and what to do. */
async function hostOpenFailure(
  entry: HostEntry,
  host: HostUsbDevice | null,
  err: unknown,
): Promise<VivariumError> {
  const qemuSaid = (err as Error).message;
  const name = describe(entry);
  if (!host) return new VivariumError('QMP_ERROR', `${name} could not be attached: ${qemuSaid}`);
  let nodeState: 'ok' | 'missing' | 'denied';
  try {
    await access(host.path, constants.R_OK | constants.W_OK);
    nodeState = 'ok';
  } catch (e) {
    nodeState = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'denied';
  }
  if (nodeState === 'missing') {
    return new VivariumError(
      'NOT_FOUND',
      `${name} is gone from ${host.path} (${qemuSaid}): it was unplugged, or this computer has no USB device nodes (a container without /dev/bus/usb). Plug it in again and attach it from the list (vivarium usb list).`,
    );
  }
  if (nodeState === 'denied') {
    return new VivariumError(
      'FILE_UNREADABLE',
      `QEMU may not open ${host.path} for ${name} (${qemuSaid}). Give your user access with a udev rule: ${host.fix?.commands.join(' ; ') ?? ''}. ${host.fix?.note ?? ''}`,
    );
  }
  return new VivariumError(
    'QMP_ERROR',
    `QEMU could not take ${name} (${qemuSaid}): another program may hold it (close it), or unplug and replug the device, then attach it again.`,
  );
}

/** Out of the running guest: device_del, awaited to DEVICE_DELETED, then a drive's block node. */
async function unplug(vm: Vm, entry: UsbDeviceConfig): Promise<void> {
  const id = usbDeviceId(entry);
  let stop = (): void => undefined;
  const deleted = new Promise<void>((resolveDeleted, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new VivariumError(
            'TIMEOUT',
            `QEMU did not remove ${describe(entry)} within ${DELETE_TIMEOUT_MS / 1000} s: try again, or shut the VM down and detach it then.`,
          ),
        ),
      DELETE_TIMEOUT_MS,
    );
    const unwatch = vm.supervisor.watchQmp((event) => {
      if (event.event === 'DEVICE_DELETED' && event.data?.['device'] === id) {
        clearTimeout(timer);
        resolveDeleted();
      }
    });
    stop = () => {
      clearTimeout(timer);
      unwatch();
    };
  });
  try {
    await vm.supervisor.command('device_del', { id });
    await deleted;
  } finally {
    stop();
  }
  if (entry.kind === 'drive') {
    await vm.supervisor.command('blockdev-del', { 'node-name': entry.id });
  }
}
