import { useMemo } from 'react';
import type { VmSummary } from '../../../../common/contract';
import { formatBytes } from '../../../../common/format';
import { Sparkline } from '../../components/charts/Sparkline';
import { useStatsStore } from '../../stores/stats';

/** How much of a card's history its sparklines show: two minutes of samples. */
const POINTS = 60;

/**
 * A running VM's glance on its card: CPU of its QEMU process and the host memory it holds, the
 * last two minutes as sparklines. The library holds the subscription that feeds them.
 */
export function CardStats({ vm }: { vm: VmSummary }) {
  const history = useStatsStore((s) => s.history[vm.id]);
  const sample = useStatsStore((s) => s.latest[vm.id]);
  const cpu = useMemo(() => history?.series.cpuPercent.slice(-POINTS) ?? [], [history]);
  const rss = useMemo(() => history?.series.rssBytes.slice(-POINTS) ?? [], [history]);
  const configured = vm.config.memoryMiB * 1024 * 1024;
  const cores = Math.max(1, vm.config.cpu.count) * 100;
  return (
    <div className="card-stats" data-testid="card-stats">
      <div className="card-stats__cell">
        <div className="card-stats__head">
          <span>CPU</span>
          <strong data-testid="card-cpu">
            {sample?.cpuPercent != null ? `${Math.round(sample.cpuPercent)}%` : '–'}
          </strong>
        </div>
        <Sparkline
          values={cpu}
          max={cores}
          label={`CPU of ${vm.name}, the last two minutes`}
          testId="sparkline-cpu"
        />
      </div>
      <div className="card-stats__cell">
        <div className="card-stats__head">
          <span>Memory</span>
          <strong
            data-testid="card-rss"
            title={`Host memory the QEMU process holds (RSS); the guest was given ${formatBytes(configured)}`}
          >
            {sample?.rssBytes != null ? formatBytes(sample.rssBytes) : '–'}
          </strong>
        </div>
        <Sparkline
          values={rss}
          max={configured}
          color="#7c3aed"
          label={`Host memory of ${vm.name}, the last two minutes`}
          testId="sparkline-memory"
        />
      </div>
    </div>
  );
}
