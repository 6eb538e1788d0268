import { useState } from 'react';
import type { VmCommandLine, VmSummary } from '../../../../../../common/contract';
import { formatDuration } from '../../../../../../common/format';
import { loadCommandLine } from '../../../../actions/stats';
import { CopyCommand } from '../../../../components/CopyCommand';
import { Icon } from '../../../../components/Icon';
import { useStatsFeed } from '../../../../hooks/use-stats';
import { useStatsStore } from '../../../../stores/stats';
import { Card, Fact, Facts } from '../facts';
import { bytes, percent } from './series';

/**
 * The VM as the host sees it: one QEMU process, its threads, and the command that started it,
 * which a student can copy and run by hand (the note says what that needs first).
 */
export function ProcessCard({ vm, active }: { vm: VmSummary; active: boolean }) {
  useStatsFeed(active);
  const sample = useStatsStore((s) => s.latest[vm.id]);
  const [cmd, setCmd] = useState<VmCommandLine | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const show = async () => {
    setLoading(true);
    setError(null);
    const res = await loadCommandLine(vm.id);
    setLoading(false);
    if (res.ok) setCmd(res.value);
    else setError(res.message);
  };

  return (
    <Card title="Process" icon="terminal" className="card--process">
      <Facts>
        <Fact label="QEMU pid">
          <span data-testid="process-pid">{vm.runtime.pid ?? '–'}</span>
          <span className="muted"> · watch it with </span>
          <code>top -H -p {vm.runtime.pid ?? 'PID'}</code>
        </Fact>
        <Fact label="Threads">
          {sample?.threads ?? '–'}
          {sample ? (
            <span className="muted">
              {' '}
              · {sample.vcpuPercent.length || vm.config.cpu.count} vCPU, plus QEMU’s main loop and
              I/O workers
            </span>
          ) : null}
        </Fact>
        <Fact label="CPU now">
          {sample?.cpuPercent != null ? percent(sample.cpuPercent) : '–'}
          {sample && sample.vcpuPercent.length > 0 ? (
            <span className="muted">
              {' '}
              · vCPU {sample.vcpuPercent.map((v) => percent(v)).join(' / ')}
            </span>
          ) : null}
        </Fact>
        <Fact label="Host memory">
          {sample?.rssBytes != null ? `${bytes(sample.rssBytes)} RSS` : '–'}
        </Fact>
        <Fact label="Process age">
          {sample?.uptimeSeconds != null ? formatDuration(sample.uptimeSeconds * 1000) : '–'}
        </Fact>
      </Facts>
      {cmd ? (
        <div className="process__cmd" data-testid="process-cmdline">
          <CopyCommand text={cmd.command} label="QEMU command line" />
          <p className="muted">{cmd.note}</p>
        </div>
      ) : (
        <div className="card__actions">
          <button
            type="button"
            className="btn"
            data-testid="show-cmdline"
            disabled={loading}
            onClick={() => void show()}
          >
            {loading ? (
              <span className="spinner spinner--small" />
            ) : (
              <Icon name="terminal" size={15} />
            )}
            Show the QEMU command line
          </button>
        </div>
      )}
      {error ? <p className="callout callout--error">{error}</p> : null}
    </Card>
  );
}
