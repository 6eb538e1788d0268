import { useEffect } from 'react';
import { holdStats, loadStatsHistory } from '../actions/stats';

/** Live samples flow while a component using this is shown (`enabled`). */
export function useStatsFeed(enabled = true): void {
  useEffect(() => (enabled ? holdStats() : undefined), [enabled]);
}

/** As useStatsFeed, and the VM's last `seconds` loaded first, so its charts start full. */
export function useVmStatsHistory(vmId: string, seconds: number, enabled = true): void {
  useStatsFeed(enabled);
  useEffect(() => {
    if (enabled) void loadStatsHistory(vmId, seconds);
  }, [vmId, seconds, enabled]);
}
