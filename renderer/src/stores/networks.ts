import { create } from 'zustand';
import type { NetworkSummary, NicInfo } from '../../../common/contract';

export interface VmNics {
  /** The engine's last answer to `nic.list`; kept while a refresh is in flight. */
  list: NicInfo[] | null;
  error: string | null;
}

export interface NetworksState {
  /** The engine's private networks (`network.list`, then its events); null until loaded. */
  list: NetworkSummary[] | null;
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | null;
  /** Cards by VM id: only VMs whose Network tab or Overview was opened. */
  nicsByVm: Record<string, VmNics>;
}

/** Only `actions/networks.ts` writes to it. */
export const useNetworksStore = create<NetworksState>()(() => ({
  list: null,
  status: 'idle',
  error: null,
  nicsByVm: {},
}));

/** The list with one network put in (replacing the one with its id), sorted by name. */
export function upsertNetwork(
  list: readonly NetworkSummary[] | null,
  network: NetworkSummary,
): NetworkSummary[] {
  const rest = (list ?? []).filter((n) => n.config.id !== network.config.id);
  return [...rest, network].sort((a, b) => a.config.name.localeCompare(b.config.name));
}
