import type { HostStats } from '../../../../common/contract';
import { formatBytes, plural } from '../../../../common/format';
import { CopyCommand } from '../../components/CopyCommand';
import { useStatsStore } from '../../stores/stats';
import { Card, Fact, Facts } from './parts';

const KSM_STATE = ['stopped', 'merging', 'stopped, pages unmerged'] as const;

/**
 * What the host has and what the VMs take from it now: CPU, memory against what the running VMs
 * were promised (a ratio above 1 is overcommit: fine while guests do not all use theirs), and the
 * kernel's memory savers, KSM and transparent huge pages.
 */
export function HostResources() {
  const host = useStatsStore((s) => s.host);
  return (
    <Card title="Resources now" icon="memory" className="host__resources" testId="host-resources">
      {host ? <Figures host={host} /> : <p className="muted">Reading /proc…</p>}
    </Card>
  );
}

function Figures({ host }: { host: HostStats }) {
  const { memory, ksm, thp } = host;
  const usedShare = memory.totalBytes > 0 ? memory.usedBytes / memory.totalBytes : 0;
  const promisedShare = memory.totalBytes > 0 ? host.promisedBytes / memory.totalBytes : 0;
  return (
    <Facts>
      <Fact label="CPU">
        <span data-testid="host-cpu">
          {host.cpuPercent === null ? '–' : `${Math.round(host.cpuPercent)}%`}
        </span>{' '}
        <span className="muted">of {plural(host.cpus, 'CPU')}, every program together</span>
        <Meter share={(host.cpuPercent ?? 0) / 100} tone="accent" />
      </Fact>
      <Fact label="Memory">
        <span data-testid="host-memory-used">{formatBytes(memory.usedBytes)}</span> used of{' '}
        {formatBytes(memory.totalBytes)}{' '}
        <span className="muted">· {formatBytes(memory.availableBytes)} available</span>
        <Meter share={usedShare} tone="accent" />
      </Fact>
      <Fact label="Promised to VMs">
        <span data-testid="host-promised" data-bytes={host.promisedBytes}>
          {formatBytes(host.promisedBytes)}
        </span>{' '}
        <span className="muted">
          to {plural(host.runningVms, 'running VM')} · overcommit{' '}
          <strong data-testid="host-overcommit">{host.overcommitRatio.toFixed(2)}×</strong>
        </span>
        <Meter share={promisedShare} tone={promisedShare > 1 ? 'bad' : 'violet'} />
        <p className="muted host__hint">
          Each VM’s configured memory together, against this computer’s. Above 1× the VMs could ask
          for more than exists: that works while they do not all use theirs (the kernel gives a VM
          pages only when it touches them; KSM and balloons give some back).
        </p>
      </Fact>
      <Fact label="KSM">
        {ksm.available ? (
          <>
            <strong data-testid="host-ksm">{KSM_STATE[ksm.run]}</strong>{' '}
            <span className="muted">
              · saves <strong>{formatBytes(ksm.savedBytes)}</strong> ({ksm.pagesSharing} pages share{' '}
              {ksm.pagesShared})
            </span>
            <p className="muted host__hint">
              Kernel Same-page Merging finds identical pages (e.g. the same OS in several VMs) and
              keeps one copy. QEMU marks guest memory mergeable; the kernel merges only while KSM
              runs, which takes root:
            </p>
            {ksm.run !== 1 ? (
              <CopyCommand text={ksm.enableCommand} label="Command that turns KSM on" />
            ) : null}
          </>
        ) : (
          <span className="muted">{ksm.reason}</span>
        )}
      </Fact>
      <Fact label="Huge pages">
        {thp.available ? (
          <>
            <strong>Transparent huge pages: {thp.mode}</strong>
            <p className="muted host__hint">
              {thp.mode === 'never'
                ? 'Off: guest memory uses 4 KiB pages only (more TLB misses, but KSM can merge all of it).'
                : thp.mode === 'always'
                  ? 'Guest memory is backed by 2 MiB pages where possible: faster, and KSM splits them to merge.'
                  : 'Only memory that asks for them (QEMU does, for guest RAM) gets 2 MiB pages.'}
            </p>
          </>
        ) : (
          <span className="muted">{thp.reason}</span>
        )}
      </Fact>
    </Facts>
  );
}

function Meter({ share, tone }: { share: number; tone: 'accent' | 'violet' | 'bad' }) {
  return (
    <span className={`meter meter--${tone}`} aria-hidden="true">
      <span style={{ width: `${Math.max(0, Math.min(100, share * 100))}%` }} />
    </span>
  );
}
