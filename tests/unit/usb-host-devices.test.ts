/**
 * The host's USB devices as sysfs shows them (read from a tree the test writes: this machine has
 * no USB bus), the names users give devices, and the udev rule that lets a user open one.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostUsbScanner } from '../../electron/engine/host/usb-devices';
import { nextUsbEntryId, parseUsbHostSpec, udevFix, usbDevicePath } from '../../common/rules/usb';

let dir: string;

async function device(name: string, attrs: Record<string, string>): Promise<void> {
  await mkdir(join(dir, 'sys', name), { recursive: true });
  for (const [k, v] of Object.entries(attrs)) await writeFile(join(dir, 'sys', name, k), `${v}\n`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-usb-'));
  // A root hub and an interface: not devices a VM can take.
  await device('usb1', { idVendor: '1d6b', idProduct: '0002', busnum: '1', devnum: '1' });
  await device('1-1:1.0', { bInterfaceClass: '03' });
  await device('1-1', {
    idVendor: '046D',
    idProduct: 'c52b',
    busnum: '1',
    devnum: '5',
    manufacturer: 'Logitech',
    product: 'USB Receiver',
    speed: '12',
  });
  await device('1-10', { idVendor: '0781', idProduct: '5581', busnum: '1', devnum: '7' });
  await device('2-1.4', {
    idVendor: '0781',
    idProduct: '5581',
    busnum: '2',
    devnum: '3',
    speed: '5000',
  });
  // A folder sysfs is writing as we read: no ids yet.
  await device('3-1', { busnum: '3' });
  // Only the receiver's node exists, readable and writable.
  await mkdir(join(dir, 'dev', '001'), { recursive: true });
  await writeFile(join(dir, 'dev', '001', '005'), '');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('HostUsbScanner', () => {
  it('lists the devices in bus-port order with their ids, names, speed and access', async () => {
    const list = await new HostUsbScanner(join(dir, 'sys'), join(dir, 'dev'), 'ann').list();
    expect(list.message).toBeNull();
    expect(list.devices.map((d) => d.place)).toEqual(['1-1', '1-10', '2-1.4']);
    expect(list.devices[0]).toEqual({
      place: '1-1',
      bus: 1,
      port: '1',
      device: 5,
      vendorId: '046d',
      productId: 'c52b',
      manufacturer: 'Logitech',
      product: 'USB Receiver',
      speedMbps: 12,
      path: '/dev/bus/usb/001/005',
      access: 'ok',
      fix: null,
      label: 'Logitech USB Receiver (046d:c52b)',
    });
    const stick = list.devices[2]!;
    expect(stick).toMatchObject({ bus: 2, port: '1.4', access: 'missing', label: '0781:5581' });
    expect(stick.fix?.commands.at(-1)).toBe('sudo usermod -aG plugdev ann');
  });

  it('says so when the host has no USB bus at all', async () => {
    const list = await new HostUsbScanner(join(dir, 'nothing')).list();
    expect(list.devices).toEqual([]);
    expect(list.message).toMatch(/This computer shows no USB devices/);
  });
});

describe('USB names and rules', () => {
  it('reads vendor:product and bus-port, and nothing else', () => {
    expect(parseUsbHostSpec('046D:C52B')).toEqual({
      by: 'ids',
      vendorId: '046d',
      productId: 'c52b',
    });
    expect(parseUsbHostSpec('0x46d:0xc52b')).toEqual({
      by: 'ids',
      vendorId: '046d',
      productId: 'c52b',
    });
    expect(parseUsbHostSpec('1-1.2')).toEqual({ by: 'place', bus: 1, port: '1.2' });
    for (const bad of ['', 'stick.img', '/tmp/a:b', '1-', '0-1', '12345:1', 'usb1', '1-1:1.0']) {
      expect(parseUsbHostSpec(bad), bad).toBeNull();
    }
  });

  it('numbers entries from the first free one and names device nodes as udev does', () => {
    expect(nextUsbEntryId([])).toBe('usb1');
    expect(nextUsbEntryId(['usb1', 'usb3'])).toBe('usb2');
    expect(usbDevicePath(1, 5)).toBe('/dev/bus/usb/001/005');
  });

  it('gives the udev rule, the reload and the group for a device', () => {
    const fix = udevFix('046d', 'c52b', 'ann');
    expect(fix.file).toBe('/etc/udev/rules.d/70-vivarium-usb-046d-c52b.rules');
    expect(fix.rule).toBe(
      'SUBSYSTEM=="usb", ATTR{idVendor}=="046d", ATTR{idProduct}=="c52b", MODE="0660", GROUP="plugdev"',
    );
    expect(fix.commands).toEqual([
      `echo '${fix.rule}' | sudo tee ${fix.file}`,
      'sudo udevadm control --reload && sudo udevadm trigger',
      'sudo usermod -aG plugdev ann',
    ]);
  });
});
