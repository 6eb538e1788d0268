/**
 * USB devices: how a host device is named (vendor:product, or its place on the host's buses), how
 * a VM's USB devices are numbered, and the udev rule that lets a user open a device. The engine
 * decides with these; the UI and the CLI show the same words.
 */

/** The most USB devices a VM's config holds (the tablet aside): the xHCI controller has 8 ports. */
export const USB_MAX = 6;

/** A USB vendor or product id as sysfs writes it: four lowercase hex digits. */
export const USB_HEX_ID = /^[0-9a-f]{4}$/;

/** A device's port path below its bus's root hub, as in sysfs names (1-1.2 is bus 1, port 1.2). */
export const USB_PORT_PATH = /^[1-9][0-9]?(\.[1-9][0-9]?){0,6}$/;

/** A VM's USB device entry id, also QEMU's device id (with -dev) and a drive's node name. */
export const USB_ENTRY_ID = /^usb[1-9][0-9]?$/;

/** What the user typed to name a host device: `vendor:product` or `bus-port` (sysfs style). */
export type UsbHostSpec =
  { by: 'ids'; vendorId: string; productId: string } | { by: 'place'; bus: number; port: string };

/** Reads `046d:c52b` or `1-1.2`; null when it is neither. */
export function parseUsbHostSpec(text: string): UsbHostSpec | null {
  const s = text.trim().toLowerCase();
  const ids = /^(?:0x)?([0-9a-f]{1,4}):(?:0x)?([0-9a-f]{1,4})$/.exec(s);
  if (ids) {
    return { by: 'ids', vendorId: ids[1]!.padStart(4, '0'), productId: ids[2]!.padStart(4, '0') };
  }
  const place = /^([1-9][0-9]{0,2})-(.+)$/.exec(s);
  if (place && USB_PORT_PATH.test(place[2]!)) {
    return { by: 'place', bus: Number(place[1]), port: place[2]! };
  }
  return null;
}

/** The sysfs-style name of a place on the host's buses: bus 1, port 1.2 -> "1-1.2". */
export function usbPlaceName(bus: number, port: string): string {
  return `${bus}-${port}`;
}

/** "046d:c52b". */
export function usbIdsName(vendorId: string, productId: string): string {
  return `${vendorId}:${productId}`;
}

/** The device node a user must open (read and write) to hand a device to QEMU. */
export function usbDevicePath(bus: number, device: number): string {
  return `/dev/bus/usb/${String(bus).padStart(3, '0')}/${String(device).padStart(3, '0')}`;
}

/** The first free entry id of a VM's USB list. */
export function nextUsbEntryId(taken: readonly string[]): string {
  for (let n = 1; ; n++) {
    const id = `usb${n}`;
    if (!taken.includes(id)) return id;
  }
}

export const USB_UDEV_GROUP = 'plugdev';

/** A file name under /etc/udev/rules.d/ for a device's rule. */
export function udevRuleFile(vendorId: string, productId: string): string {
  return `/etc/udev/rules.d/70-vivarium-usb-${vendorId}-${productId}.rules`;
}

/** What a user runs (once) so that QEMU, running as them, may open a USB device. */
export interface UdevFix {
  file: string;
  rule: string;
  /** Shell commands, one per line: write the rule, reload udev, join the group. */
  commands: string[];
  /** Said after the commands: group membership only counts in a new login session. */
  note: string;
}

export function udevFix(vendorId: string, productId: string, user: string): UdevFix {
  const file = udevRuleFile(vendorId, productId);
  const rule =
    `SUBSYSTEM=="usb", ATTR{idVendor}=="${vendorId}", ATTR{idProduct}=="${productId}", ` +
    `MODE="0660", GROUP="${USB_UDEV_GROUP}"`;
  return {
    file,
    rule,
    commands: [
      `echo '${rule}' | sudo tee ${file}`,
      'sudo udevadm control --reload && sudo udevadm trigger',
      `sudo usermod -aG ${USB_UDEV_GROUP} ${user}`,
    ],
    note: `Then log out and in again (group ${USB_UDEV_GROUP} counts from the next login), and unplug and replug the device.`,
  };
}

/** Said when the host shows no USB devices at all. */
export const NO_USB_BUS =
  'This computer shows no USB devices (it has no USB bus, as in many virtual machines and containers). A USB drive made from an image file still works.';
