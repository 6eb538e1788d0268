/**
 * Removable media and USB: the VM's CD (inserted, changed and ejected while it runs or not) and
 * its USB devices (the host's, or drives made from image files), attached and detached live and
 * kept in the config for the next start. The host's USB devices are listed with whether this user
 * may open them, and the udev rule that fixes it when not.
 */
import { z } from 'zod';
import type { UdevFix } from '../rules/usb';
import { AbsolutePathSchema, DISK_FORMATS, VmRefSchema, type UsbDeviceConfig } from './vm-config';

/** How a change reached the VM: into the running QEMU (and the config), or the config only. */
export type DeviceChangeApplied = 'live' | 'config';

export interface CdromInfo {
  /** The image in the drive (as the config keeps it), or null for an empty drive. */
  medium: string | null;
  /** False when the VM's IDE/SATA ports are all disks: it has no CD drive. */
  drive: boolean;
  /** Only while QEMU runs: the guest has locked the tray (a mounted disc). */
  locked: boolean | null;
}

export interface CdromChange extends CdromInfo {
  applied: DeviceChangeApplied;
  /** Something the user should know (the guest had locked the tray and it was forced). */
  note: string | null;
}

/** A host USB device as sysfs shows it. */
export interface HostUsbDevice {
  /** sysfs' name: bus-port, e.g. 1-1.2. */
  place: string;
  bus: number;
  port: string;
  /** The device number on its bus now (it changes each time the device is plugged in). */
  device: number;
  vendorId: string;
  productId: string;
  manufacturer: string | null;
  product: string | null;
  speedMbps: number | null;
  /** /dev/bus/usb/BBB/DDD, which QEMU opens. */
  path: string;
  /** 'ok': this user may read and write the node; 'denied': not; 'missing': no node (a container). */
  access: 'ok' | 'denied' | 'missing';
  /** What fixes access, when it is not ok. */
  fix: UdevFix | null;
  /** "Logitech USB Receiver (046d:c52b)". */
  label: string;
}

export interface UsbHostList {
  devices: HostUsbDevice[];
  /** The user the udev advice is for. */
  user: string;
  /** Why the list is empty, or null. */
  message: string | null;
}

/** One of the VM's USB devices, with what the host says of it now. */
export interface UsbAttachment {
  config: UsbDeviceConfig;
  /** "SanDisk Cruzer (0781:5581)" or "USB drive: stick.img". */
  label: string;
  /** In the running guest now; null when the VM is not running. */
  live: boolean | null;
  /** A host device that is not plugged in now (QEMU takes it when it appears). */
  unplugged: boolean;
}

/** What to attach: a host device (by ids, optionally by place) or a drive from an image file. */
export const UsbAttachRequestSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('host'),
    /** vendor:product (046d:c52b) or bus-port (1-1.2). */
    device: z.string().trim().min(1, 'Name the device: vendor:product or bus-port'),
  }),
  z.object({
    kind: z.literal('drive'),
    file: AbsolutePathSchema,
    /** Read from the image's header when not given. */
    format: z.enum(DISK_FORMATS).optional(),
    readOnly: z.boolean().default(false),
  }),
]);
export type UsbAttachRequest = z.input<typeof UsbAttachRequestSchema>;

export const removableMethods = {
  'cdrom.get': z.object({ vm: VmRefSchema }),
  /** Puts an ISO in the drive (replacing the one there): live while QEMU runs, then kept. */
  'cdrom.insert': z.object({ vm: VmRefSchema, file: AbsolutePathSchema }),
  'cdrom.eject': z.object({ vm: VmRefSchema }),
  'usb.host': z.object({}),
  'usb.list': z.object({ vm: VmRefSchema }),
  'usb.attach': z.object({ vm: VmRefSchema, device: UsbAttachRequestSchema }),
  /** `device`: the entry id (usb1), vendor:product, bus-port, or a drive's image file. */
  'usb.detach': z.object({ vm: VmRefSchema, device: z.string().trim().min(1) }),
} as const;

export interface RemovableResults {
  'cdrom.get': CdromInfo;
  'cdrom.insert': CdromChange;
  'cdrom.eject': CdromChange;
  'usb.host': UsbHostList;
  'usb.list': UsbAttachment[];
  'usb.attach': { attached: UsbAttachment; applied: DeviceChangeApplied };
  'usb.detach': { detached: UsbAttachment; applied: DeviceChangeApplied };
}
