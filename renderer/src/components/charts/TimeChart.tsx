import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useThemeStore } from '../../stores/theme';
import './charts.css';

export interface ChartSeries {
  label: string;
  /** A CSS colour or a `var(--token)` of the theme. */
  color: string;
  /** Filled under the line (one series per chart, or it hides the others). */
  fill?: boolean;
  dash?: boolean;
  values: (number | null)[];
}

export interface TimeChartProps {
  /** Epoch ms, one per value of every series. */
  t: number[];
  series: ChartSeries[];
  /** How a value reads on the axis and in the legend. */
  format: (v: number) => string;
  /** The y axis starts at 0 and reaches at least this (e.g. 100 for one core's percent). */
  minMax?: number;
  height?: number;
  /** Steps the y axis may take (e.g. powers of two for bytes); uPlot's decimal ones otherwise. */
  incrs?: number[];
  /** The time window shown (seconds), so a fresh chart does not stretch two points across it. */
  windowSeconds: number;
  testId?: string;
  label: string;
}

/**
 * A time series chart drawn by uPlot on a canvas: axes, grid, a legend with the value under the
 * cursor, resized with its box and recoloured with the theme. Data changes are applied in place
 * (setData), so a chart fed every two seconds does not rebuild.
 */
export function TimeChart({
  t,
  series,
  format,
  minMax = 0,
  height = 160,
  incrs,
  windowSeconds,
  testId,
  label,
}: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useThemeStore((s) => s.resolved);
  const shape = series
    .map((s) => `${s.label}|${s.color}|${s.fill ? 1 : 0}|${s.dash ? 1 : 0}`)
    .join();
  const latest = useRef({ t, series, windowSeconds, minMax, format });
  // Before the effects below, which read it (uPlot's callbacks too, at any later draw).
  useLayoutEffect(() => {
    latest.current = { t, series, windowSeconds, minMax, format };
  });

  // Built again only when the series themselves or the theme change.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const css = getComputedStyle(el);
    const token = (c: string) => {
      const m = /^var\((--[\w-]+)\)$/.exec(c);
      return m?.[1] ? css.getPropertyValue(m[1]).trim() || c : c;
    };
    const muted = token('var(--muted)');
    const grid = token('var(--border)');
    const axis = (values: uPlot.Axis['values']): uPlot.Axis => ({
      stroke: muted,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: '11px system-ui, sans-serif',
      values,
    });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => {
            const end = Math.max(max, Date.now() / 1000);
            return [Math.min(min, end - latest.current.windowSeconds), end];
          },
        },
        y: {
          range: (_u, _min, max) => [0, Math.max(latest.current.minMax, max * 1.1 || 1)],
        },
      },
      axes: [
        axis(undefined),
        {
          ...axis((_u, splits) => splits.map((v) => latest.current.format(v))),
          size: 64,
          ...(incrs ? { incrs } : {}),
        },
      ],
      series: [
        {},
        ...latest.current.series.map((s) => {
          const stroke = token(s.color);
          return {
            label: s.label,
            stroke,
            width: 1.5,
            dash: s.dash ? [5, 4] : undefined,
            fill: s.fill ? withAlpha(stroke, 0.16) : undefined,
            spanGaps: false,
            points: { show: false },
            value: (_u: uPlot, v: number | null) => (v === null ? '–' : latest.current.format(v)),
          } satisfies uPlot.Series;
        }),
      ],
    };
    const u = new uPlot(opts, toData(latest.current.t, latest.current.series), el);
    plot.current = u;
    if (latest.current.t.length > 0) u.setLegend({ idx: latest.current.t.length - 1 });
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== u.width) u.setSize({ width, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, theme, height, incrs]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(toData(t, series));
    // Away from the cursor the legend shows the newest values rather than dashes.
    if (u.cursor.left === undefined || u.cursor.left < 0) u.setLegend({ idx: t.length - 1 });
  }, [t, series]);

  const points = t.length;
  return (
    <figure
      className="time-chart"
      data-testid={testId}
      data-points={points}
      aria-label={label}
      role="img"
    >
      <div ref={box} className="time-chart__plot" />
      {points < 2 ? (
        <figcaption className="time-chart__empty">Collecting samples…</figcaption>
      ) : null}
    </figure>
  );
}

function toData(t: number[], series: ChartSeries[]): uPlot.AlignedData {
  return [t.map((ms) => ms / 1000), ...series.map((s) => s.values)];
}

/** A theme colour (#rgb or #rrggbb) made translucent for the area under a line. */
function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color)?.[1];
  if (!hex) return color;
  const full = hex.length === 3 ? hex.replace(/./g, (c) => c + c) : hex;
  const n = Number.parseInt(full, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
