import type { ComponentType } from 'react';
import type { VmConfig, VmSummary } from '../../../../../common/contract';
import type { IconName } from '../../../components/Icon';
import { DISK_BUS_LABELS } from '../../../../../common/labels';

/** What each kind's panel receives from the Hardware tab. */
export interface HardwarePanelProps {
  vm: VmSummary;
  /** The Hardware tab is shown. */
  active: boolean;
  /** The user chose this kind in "Add hardware": open the panel's add form at once. */
  adding: boolean;
  /** The add form closed (added or cancelled), so a later "Add hardware" opens it again. */
  onAddDone: () => void;
}

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
];

/** "2 disks · VirtIO" from the config alone (sizes need the host's files: the panel reads them). */
function disksSummary(config: VmConfig): string {
  const n = config.disks.length;
  if (n === 0) return 'None';
  const buses = [...new Set(config.disks.map((d) => DISK_BUS_LABELS[d.bus]))].join(', ');
  return `${n} disk${n === 1 ? '' : 's'} · ${buses}`;
}
