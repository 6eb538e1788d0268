/**
 * How one live sample becomes a point of a VM's history: the engine keeps its hour of points with
 * this, and a view that holds a subscription appends the samples it receives with the same rule,
 * so a chart loaded from `stats.history` and then fed live never changes meaning halfway.
 */
import {
  STATS_HISTORY_SECONDS,
  STATS_INTERVAL_MS,
  type StatsSeries,
  type VmStatsHistory,
  type VmStatsSample,
} from './contract';

export type HistoryPoint = Record<StatsSeries, number | null> & {
  /** Each vCPU thread, in vCPU order. */
  perVcpu: readonly (number | null)[];
};

/** The first sample of a process has no rates yet: it starts no point. */
export function historyPoint(sample: VmStatsSample): HistoryPoint | null {
  if (sample.cpuPercent === null) return null;
  const { guest, balloon, net, disk } = sample;
  return {
    cpuPercent: sample.cpuPercent,
    vcpuPercent: sample.vcpuPercent.reduce((a, b) => a + b, 0),
    perVcpu: sample.vcpuPercent,
    rssBytes: sample.rssBytes,
    guestAvailableBytes: 'available' in guest ? null : guest.availableBytes,
    balloonBytes: 'actualBytes' in balloon ? balloon.actualBytes : null,
    diskReadBytesPerSec: disk.readBytesPerSec,
    diskWriteBytesPerSec: disk.writeBytesPerSec,
    netRxBytesPerSec: 'rxBytesPerSec' in net ? net.rxBytesPerSec : null,
    netTxBytesPerSec: 'txBytesPerSec' in net ? net.txBytesPerSec : null,
  };
}

export function emptyHistory(vmId: string): VmStatsHistory {
  return {
    vmId,
    intervalMs: STATS_INTERVAL_MS,
    t: [],
    series: {
      cpuPercent: [],
      vcpuPercent: [],
      rssBytes: [],
      guestAvailableBytes: [],
      balloonBytes: [],
      diskReadBytesPerSec: [],
      diskWriteBytesPerSec: [],
      netRxBytesPerSec: [],
      netTxBytesPerSec: [],
    },
    perVcpu: [],
  };
}

/**
 * A new history with the sample's point at its end and points older than `keepSeconds` before it
 * dropped. A sample not newer than the last point (a replayed event) changes nothing.
 */
export function appendSample(
  history: VmStatsHistory,
  sample: VmStatsSample,
  keepSeconds = STATS_HISTORY_SECONDS,
): VmStatsHistory {
  const point = historyPoint(sample);
  const last = history.t[history.t.length - 1];
  if (!point || (last !== undefined && sample.t <= last)) return history;
  const since = sample.t - keepSeconds * 1000;
  let drop = 0;
  while (drop < history.t.length && (history.t[drop] ?? 0) < since) drop++;
  const keep = <T>(list: T[], value: T): T[] => [...list.slice(drop), value];
  const series = Object.fromEntries(
    Object.entries(history.series).map(([name, values]) => [
      name,
      keep(values, point[name as StatsSeries]),
    ]),
  ) as VmStatsHistory['series'];
  const vcpus = Math.max(history.perVcpu.length, point.perVcpu.length);
  const perVcpu = Array.from({ length: vcpus }, (_, i) => {
    const before = history.perVcpu[i] ?? history.t.map(() => null);
    return keep(before, point.perVcpu[i] ?? null);
  });
  return { ...history, t: keep(history.t, sample.t), series, perVcpu };
}

/**
 * One history from two views of the same VM (a short window loaded by one view, a longer one by
 * another, live points appended to either): every point once, in time order.
 */
export function mergeHistories(a: VmStatsHistory, b: VmStatsHistory): VmStatsHistory {
  const order = [
    ...a.t.map((t, i) => ({ t, from: a, i })),
    ...b.t.map((t, i) => ({ t, from: b, i })),
  ].sort((x, y) => x.t - y.t);
  const picked = order.filter((p, k) => k === 0 || p.t !== order[k - 1]?.t);
  const vcpus = Math.max(a.perVcpu.length, b.perVcpu.length);
  const series = Object.fromEntries(
    (Object.keys(a.series) as StatsSeries[]).map((name) => [
      name,
      picked.map((p) => p.from.series[name][p.i] ?? null),
    ]),
  ) as VmStatsHistory['series'];
  return {
    ...b,
    t: picked.map((p) => p.t),
    series,
    perVcpu: Array.from({ length: vcpus }, (_, v) =>
      picked.map((p) => p.from.perVcpu[v]?.[p.i] ?? null),
    ),
  };
}
