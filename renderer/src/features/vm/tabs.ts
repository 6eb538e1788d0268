import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import type { IconName } from '../../components/Icon';
import type { TabProps } from './tab-props';

export interface VmTab {
  id: string;
  label: string;
  icon: IconName;
  /** Loaded the first time the tab is opened (noVNC and xterm.js stay out of the library). */
  load: () => Promise<{ default: ComponentType<TabProps> }>;
}

/** The VM window's tabs, in order. Number keys 1..9 follow this order. */
export const VM_TABS: readonly VmTab[] = [
  { id: 'overview', label: 'Overview', icon: 'grid', load: () => import('./overview/OverviewTab') },
  { id: 'display', label: 'Display', icon: 'monitor', load: () => import('./display/DisplayTab') },
  { id: 'console', label: 'Console', icon: 'terminal', load: () => import('./console/ConsoleTab') },
  {
    id: 'snapshots',
    label: 'Snapshots',
    icon: 'camera',
    load: () => import('./snapshots/SnapshotsTab'),
  },
  {
    id: 'network',
    label: 'Network',
    icon: 'globe',
    load: () => import('./network/NetworkTab'),
  },
  {
    id: 'hardware',
    label: 'Hardware',
    icon: 'chip',
    load: () => import('./hardware/HardwareTab'),
  },
  {
    id: 'settings',
    label: 'Settings',
    icon: 'sliders',
    load: () => import('./settings/SettingsTab'),
  },
];

export function findTab(id: string): VmTab {
  return VM_TABS.find((t) => t.id === id) ?? (VM_TABS[0] as VmTab);
}

const components = new Map<string, LazyExoticComponent<ComponentType<TabProps>>>();

/** One React.lazy per tab, made on first use. */
export function tabComponent(tab: VmTab): LazyExoticComponent<ComponentType<TabProps>> {
  let c = components.get(tab.id);
  if (!c) {
    c = lazy(tab.load);
    components.set(tab.id, c);
  }
  return c;
}
