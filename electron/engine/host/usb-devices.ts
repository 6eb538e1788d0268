/**
 * The host's USB devices, read from sysfs (/sys/bus/usb/devices), each with whether this user may
 * open its device node, which is what QEMU's usb-host needs (QEMU runs as the user).
 */
import { constants } from 'node:fs';
import { access, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { HostUsbDevice, UsbHostList } from '../../../common/contract';
import { NO_USB_BUS, udevFix, usbDevicePath, usbIdsName } from '../../../common/rules/usb';

/** A sysfs device directory: bus-port (1-1, 2-1.4.2); root hubs (usb1) and interfaces (1-1:1.0) aside. */
const DEVICE_DIR = /^([1-9][0-9]*)-([0-9]+(?:\.[0-9]+)*)$/;

export class HostUsbScanner {
  constructor(
    /** sysfs' USB device folder; a test gives a tree it wrote. */
    private readonly sysfsDevices = '/sys/bus/usb/devices',
    /** Where the device nodes are; a test may give its own. */
    private readonly devRoot = '/dev/bus/usb',
    private readonly user = safeUserName(),
  ) {}

  async list(): Promise<UsbHostList> {
    let names: string[];
    try {
      names = await readdir(this.sysfsDevices);
    } catch {
      return { devices: [], user: this.user, message: NO_USB_BUS };
    }
    const devices: HostUsbDevice[] = [];
    for (const name of names.sort(comparePlaces)) {
      const m = DEVICE_DIR.exec(name);
      if (!m) continue;
      const device = await this.read(name, Number(m[1]), m[2]!);
      if (device) devices.push(device);
    }
    return {
      devices,
      user: this.user,
      message: devices.length === 0 ? NO_USB_BUS : null,
    };
  }

  private async read(name: string, bus: number, port: string): Promise<HostUsbDevice | null> {
    const dir = join(this.sysfsDevices, name);
    const attr = async (file: string): Promise<string | null> => {
      try {
        return (await readFile(join(dir, file), 'utf8')).trim();
      } catch {
        return null;
      }
    };
    const vendorId = (await attr('idVendor'))?.toLowerCase();
    const productId = (await attr('idProduct'))?.toLowerCase();
    const devnum = Number(await attr('devnum'));
    const busnum = Number((await attr('busnum')) ?? bus);
    if (!vendorId || !productId || !Number.isInteger(devnum) || devnum < 1) return null;
    const path = usbDevicePath(busnum, devnum);
    const node = join(this.devRoot, path.slice('/dev/bus/usb/'.length));
    const access = await nodeAccess(node);
    const speed = await attr('speed');
    return {
      place: name,
      bus: busnum,
      port,
      device: devnum,
      vendorId,
      productId,
      manufacturer: await attr('manufacturer'),
      product: await attr('product'),
      speedMbps: speed && Number.isFinite(Number(speed)) ? Number(speed) : null,
      path,
      access,
      fix: access === 'ok' ? null : udevFix(vendorId, productId, this.user),
      label: deviceLabel(vendorId, productId, await attr('manufacturer'), await attr('product')),
    };
  }
}

async function nodeAccess(node: string): Promise<HostUsbDevice['access']> {
  try {
    await access(node, constants.R_OK | constants.W_OK);
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'denied';
  }
}

function deviceLabel(
  vendorId: string,
  productId: string,
  manufacturer: string | null,
  product: string | null,
): string {
  const name = [manufacturer, product].filter(Boolean).join(' ');
  return name ? `${name} (${usbIdsName(vendorId, productId)})` : usbIdsName(vendorId, productId);
}

/** 1-2 before 1-10, bus by bus. */
function comparePlaces(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'USER';
  }
}
