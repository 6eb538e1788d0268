/**
 * One VM's last hour in fixed-size rings: one Float64Array of sample times and one Float32Array
 * per series, allocated once, so memory stays the same however long the engine runs. NaN marks a
 * figure that was not known at that sample (null in the contract).
 */
import {
  STATS_HISTORY_SECONDS,
  STATS_INTERVAL_MS,
  type StatsSeries,
  type VmStatsHistory,
} from '../../../common/contract';
import type { HistoryPoint } from '../../../common/stats-history';

export const SERIES: readonly StatsSeries[] = [
  'cpuPercent',
  'vcpuPercent',
  'rssBytes',
  'guestAvailableBytes',
  'balloonBytes',
  'diskReadBytesPerSec',
  'diskWriteBytesPerSec',
  'netRxBytesPerSec',
  'netTxBytesPerSec',
];

export const HISTORY_POINTS = Math.ceil((STATS_HISTORY_SECONDS * 1000) / STATS_INTERVAL_MS);

/** QEMU's own limit is higher, but a chart of more lines than this says nothing. */
const MAX_VCPU_SERIES = 64;

export type { HistoryPoint } from '../../../common/stats-history';

export class StatsRing {
  private readonly times: Float64Array;
  private readonly values: Record<StatsSeries, Float32Array>;
  /** One ring per vCPU, made when that vCPU first reports (a VM's count is fixed while it runs). */
  private readonly vcpus: Float32Array[] = [];
  /** Where the next point goes. */
  private next = 0;
  private count = 0;

  constructor(readonly capacity = HISTORY_POINTS) {
    this.times = new Float64Array(capacity);
    this.values = Object.fromEntries(SERIES.map((s) => [s, new Float32Array(capacity)])) as Record<
      StatsSeries,
      Float32Array
    >;
  }

  /** Bytes held by the typed arrays (what the bench reports as history). */
  get bytes(): number {
    return this.times.byteLength + (SERIES.length + this.vcpus.length) * this.capacity * 4;
  }

  get length(): number {
    return this.count;
  }

  push(t: number, point: HistoryPoint): void {
    this.times[this.next] = t;
    for (const s of SERIES) {
      const v = point[s];
      this.values[s][this.next] = finite(v);
    }
    const count = Math.min(point.perVcpu.length, MAX_VCPU_SERIES);
    while (this.vcpus.length < count) this.vcpus.push(new Float32Array(this.capacity).fill(NaN));
    this.vcpus.forEach((ring, i) => (ring[this.next] = finite(point.perVcpu[i] ?? null)));
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The points newer than `since` (epoch ms), oldest first, as the contract's columns. */
  window(vmId: string, since: number): VmStatsHistory {
    const t: number[] = [];
    const series = Object.fromEntries(SERIES.map((s) => [s, [] as (number | null)[]])) as Record<
      StatsSeries,
      (number | null)[]
    >;
    const perVcpu = this.vcpus.map(() => [] as (number | null)[]);
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) {
      const at = (start + i) % this.capacity;
      const time = this.times[at] ?? 0;
      if (time < since) continue;
      t.push(time);
      for (const s of SERIES) {
        const v = this.values[s][at] ?? NaN;
        series[s].push(Number.isNaN(v) ? null : v);
      }
      this.vcpus.forEach((ring, i) => {
        const v = ring[at] ?? NaN;
        perVcpu[i]?.push(Number.isNaN(v) ? null : v);
      });
    }
    return { vmId, intervalMs: STATS_INTERVAL_MS, t, series, perVcpu };
  }
}

function finite(v: number | null): number {
  return v === null || !Number.isFinite(v) ? NaN : v;
}
