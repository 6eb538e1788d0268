import { create } from 'zustand';
import type { HostStats, VmStatsHistory, VmStatsSample } from '../../../common/contract';

export interface StatsState {
  /** The host's figures from the newest sample (or `stats.host`). */
  host: HostStats | null;
  /** The newest sample of each running VM; a VM that stopped is gone from it. */
  latest: Record<string, VmStatsSample>;
  /** Each VM's history as loaded from the engine, then fed with the live samples. */
  history: Record<string, VmStatsHistory>;
  /** Why the samples do not arrive, while they do not. */
  error: string | null;
}

/** Only `actions/stats.ts` writes to it. */
export const useStatsStore = create<StatsState>()(() => ({
  host: null,
  latest: {},
  history: {},
  error: null,
}));
