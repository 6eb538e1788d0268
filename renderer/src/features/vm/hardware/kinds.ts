import type { ComponentType } from 'react';
import type { VmConfig } from '../../../../../common/contract';
import type { IconName } from '../../../components/Icon';
import { DISK_BUS_LABELS } from '../../../../../common/labels';
import type { HardwarePanelProps } from './panel-props';

// Panels import their props from panel-props.ts: importing them from here, which loads the
// panels, would be an import cycle.
export type { HardwarePanelProps } from './panel-props';

/**
 * One kind of device in the Hardware tab (virt-manager's details list, cockpit's cards): the
 * heading in the device list, a one-line summary from the config, and the panel that lists the
 * VM's devices of that kind with their actions. Each kind lives in its own file beside this one.
 */
export interface HardwareKind {
  id: string;
  label: string;
  icon: IconName;
  /** Shown under the label in the device list ("2 disks · 24 GiB"). */
  summary: (config: VmConfig) => string;
  /** What "Add hardware" says of this kind; null: nothing to add (the kind is a switch). */
  addLabel: string | null;
  load: () => Promise<{ default: ComponentType<HardwarePanelProps> }>;
}

/** The device list, in the order virt-manager shows it: storage first, then the rest. */
export const HARDWARE_KINDS: readonly HardwareKind[] = [
  {
    id: 'disks',
    label: 'Disks',
    icon: 'disk',
    summary: disksSummary,
    addLabel: 'A new disk, an existing image, or an imported one',
    load: () => import('./DisksPanel'),
  },
  {
    id: 'cdrom',
    label: 'CD/DVD drive',
    icon: 'disk',
    summary: (c) => (c.cdrom ? (c.cdrom.split(/[\\/]/).pop() ?? c.cdrom) : 'Empty'),
    addLabel: 'Insert or change the disc in the CD drive',
    load: () => import('./CdromPanel'),
  },
  {
    id: 'usb',
    label: 'USB devices',
    icon: 'plug',
    summary: (c) =>
      c.usb.length === 0 ? 'None' : `${c.usb.length} device${c.usb.length === 1 ? '' : 's'}`,
    addLabel: "One of this computer's USB devices, or an image file as a USB drive",
    load: () => import('./UsbPanel'),
  },
  {
    id: 'shares',
    label: 'Shared folders',
    icon: 'folder',
    summary: (c) =>
      c.shares.length === 0
        ? 'None'
        : c.shares.length === 1
          ? `${c.shares[0]?.tag ?? ''} · ${c.shares[0]?.mode ?? ''}`
          : `${c.shares.length} folders`,
    addLabel: 'A folder of this computer, mounted in the guest',
    load: () => import('./SharesPanel'),
  },
  {
    id: 'clipboard',
    label: 'Clipboard sharing',
    icon: 'clipboard',
    summary: (c) => (c.clipboard ? 'On · spice-vdagent' : 'Off'),
    addLabel: null,
    load: () => import('./ClipboardPanel'),
  },
];

/** "2 disks · VirtIO" from the config alone (sizes need the host's files: the panel reads them). */
function disksSummary(config: VmConfig): string {
  const n = config.disks.length;
  if (n === 0) return 'None';
  const buses = [...new Set(config.disks.map((d) => DISK_BUS_LABELS[d.bus]))].join(', ');
  return `${n} disk${n === 1 ? '' : 's'} · ${buses}`;
}
