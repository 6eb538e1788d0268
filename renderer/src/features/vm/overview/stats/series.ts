/**
 * A VM's history cut to the window a chart shows, and the figures' formats: shared by the
 * Overview's charts and the cards that show the same numbers as text.
 */
import type { VmStatsHistory } from '../../../../../../common/contract';
import { formatBytes } from '../../../../../../common/format';

export const WINDOWS = [
  { seconds: 300, label: '5 min' },
  { seconds: 900, label: '15 min' },
  { seconds: 3600, label: '1 hour' },
] as const;

export type WindowSeconds = (typeof WINDOWS)[number]['seconds'];

/** vCPU lines: distinct in both themes, after the process's own accent colour. */
export const VCPU_COLORS = ['#2563eb', '#d97706', '#7c3aed', '#db2777', '#65a30d', '#0891b2'];

export function windowOf(h: VmStatsHistory, seconds: number, now: number): VmStatsHistory {
  const since = now - seconds * 1000;
  let from = 0;
  while (from < h.t.length && (h.t[from] ?? 0) < since) from++;
  if (from === 0) return h;
  const cut = <T>(list: T[]) => list.slice(from);
  return {
    ...h,
    t: cut(h.t),
    series: Object.fromEntries(
      Object.entries(h.series).map(([k, v]) => [k, cut(v)]),
    ) as VmStatsHistory['series'],
    perVcpu: h.perVcpu.map(cut),
  };
}

export const percent = (v: number): string => `${v < 10 && v > 0 ? v.toFixed(1) : Math.round(v)}%`;
export const bytes = (v: number): string => formatBytes(Math.max(0, v));
export const rate = (v: number): string => `${formatBytes(Math.max(0, v))}/s`;

/** The newest known value of a series. */
export function last(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** Axis steps for bytes: powers of two, so ticks read 64 MiB, 128 MiB, 1 GiB. */
export const BINARY_INCRS = Array.from({ length: 51 }, (_, i) => 2 ** i);
