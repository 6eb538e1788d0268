import { useMemo, useState, type ReactNode } from 'react';
import type { VmSummary } from '../../../../../../common/contract';
import { TimeChart, type ChartSeries } from '../../../../components/charts/TimeChart';
import { useVmStatsHistory } from '../../../../hooks/use-stats';
import { useNow } from '../../../../hooks/use-now';
import { useStatsStore } from '../../../../stores/stats';
import { Card } from '../facts';
import {
  BINARY_INCRS,
  bytes,
  last,
  percent,
  rate,
  VCPU_COLORS,
  WINDOWS,
  windowOf,
  type WindowSeconds,
} from './series';
import './stats.css';

/**
 * What the VM costs the host over time: the QEMU process and each vCPU thread, memory (what it
 * was given, what the balloon leaves it, what the host holds for it) and disk and network I/O.
 * The engine keeps the last hour; this card loads it and follows the live samples while shown.
 */
export function PerformanceCard({ vm, active }: { vm: VmSummary; active: boolean }) {
  const [windowSeconds, setWindow] = useState<WindowSeconds>(300);
  useVmStatsHistory(vm.id, 3600, active);
  const history = useStatsStore((s) => s.history[vm.id]);
  const error = useStatsStore((s) => s.error);
  // The window slides even between samples (a paused guest still ages its points out).
  const now = useNow(2000, active);
  const h = useMemo(
    () => (history ? windowOf(history, windowSeconds, now) : null),
    [history, windowSeconds, now],
  );
  const configured = vm.config.memoryMiB * 1024 * 1024;

  const cpu = useMemo<ChartSeries[]>(
    () =>
      h
        ? [
            {
              label: 'QEMU process',
              color: 'var(--accent)',
              fill: true,
              values: h.series.cpuPercent,
            },
            ...h.perVcpu.map((values, i) => ({
              label: `vCPU ${i}`,
              color: VCPU_COLORS[i % VCPU_COLORS.length] ?? '#2563eb',
              values,
            })),
          ]
        : [],
    [h],
  );
  const memory = useMemo<ChartSeries[]>(
    () =>
      h
        ? [
            { label: 'Host RSS', color: 'var(--accent)', fill: true, values: h.series.rssBytes },
            { label: 'Balloon', color: '#7c3aed', values: h.series.balloonBytes },
            {
              label: 'Guest available',
              color: '#d97706',
              values: h.series.guestAvailableBytes,
            },
            {
              label: 'Configured',
              color: 'var(--muted)',
              dash: true,
              values: h.t.map(() => configured),
            },
          ]
        : [],
    [h, configured],
  );
  const disk = useMemo<ChartSeries[]>(
    () =>
      h
        ? [
            { label: 'Read', color: '#2563eb', values: h.series.diskReadBytesPerSec },
            { label: 'Write', color: '#db2777', values: h.series.diskWriteBytesPerSec },
          ]
        : [],
    [h],
  );
  const hasNet = !!h && h.series.netRxBytesPerSec.some((v) => v !== null);
  const net = useMemo<ChartSeries[]>(
    () =>
      h && hasNet
        ? [
            { label: 'Received', color: '#0891b2', values: h.series.netRxBytesPerSec },
            { label: 'Sent', color: '#65a30d', values: h.series.netTxBytesPerSec },
          ]
        : [],
    [h, hasNet],
  );

  return (
    <Card title="Performance" icon="cpu" className="card--wide card--performance">
      <div className="perf__bar">
        <p className="muted perf__intro">
          Sampled every 2 s from the host: the QEMU process with <code>/proc</code>, the guest
          through QMP. 100% is one host core.
        </p>
        <div className="segmented segmented--small" role="group" aria-label="Time window">
          {WINDOWS.map((w) => (
            <button
              key={w.seconds}
              type="button"
              className={w.seconds === windowSeconds ? 'is-on' : undefined}
              aria-pressed={w.seconds === windowSeconds}
              onClick={() => setWindow(w.seconds)}
            >
              {w.label}
            </button>
          ))}
        </div>
      </div>
      {error && !h?.t.length ? <p className="callout callout--error">{error}</p> : null}
      {h ? (
        <div className="perf__charts">
          <ChartBox title="CPU" now={nowOf(h.series.cpuPercent, percent)}>
            <TimeChart
              testId="chart-cpu"
              label="CPU use of the QEMU process and of each vCPU"
              t={h.t}
              series={cpu}
              format={percent}
              minMax={100}
              windowSeconds={windowSeconds}
            />
          </ChartBox>
          <ChartBox title="Memory" now={nowOf(h.series.rssBytes, bytes, 'host')}>
            <TimeChart
              testId="chart-memory"
              label="Memory: configured, balloon, guest available and host RSS"
              t={h.t}
              series={memory}
              format={bytes}
              incrs={BINARY_INCRS}
              minMax={configured}
              windowSeconds={windowSeconds}
            />
          </ChartBox>
          <ChartBox
            title="Disk I/O"
            now={`${nowOf(h.series.diskReadBytesPerSec, rate, 'read')} · ${nowOf(
              h.series.diskWriteBytesPerSec,
              rate,
              'write',
            )}`}
          >
            <TimeChart
              testId="chart-disk"
              label="Disk reads and writes per second"
              t={h.t}
              series={disk}
              format={rate}
              incrs={BINARY_INCRS}
              windowSeconds={windowSeconds}
            />
          </ChartBox>
          {hasNet ? (
            <ChartBox title="Network" now={nowOf(h.series.netRxBytesPerSec, rate, 'in')}>
              <TimeChart
                testId="chart-net"
                label="Network bytes received and sent per second"
                t={h.t}
                series={net}
                format={rate}
                windowSeconds={windowSeconds}
              />
            </ChartBox>
          ) : null}
        </div>
      ) : (
        <p className="muted">Loading the last hour…</p>
      )}
      {!hasNet ? (
        <p className="muted perf__note">
          Network: only bridged cards keep byte counters the host can read (NAT and private networks
          do not).
        </p>
      ) : null}
    </Card>
  );
}

function nowOf(values: (number | null)[], format: (v: number) => string, what = ''): string {
  const v = last(values);
  return v === null ? '–' : `${format(v)}${what ? ` ${what}` : ''}`;
}

function ChartBox({ title, now, children }: { title: string; now: string; children: ReactNode }) {
  return (
    <div className="perf__chart">
      <h3 className="perf__title">
        {title}
        <span className="perf__now">{now}</span>
      </h3>
      {children}
    </div>
  );
}
