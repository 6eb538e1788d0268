import { useState } from 'react';
import type { VmSummary } from '../../../../../../common/contract';
import { MEMORY_MIB_MIN } from '../../../../../../common/rules/vm-settings';
import { setBalloon } from '../../../../actions/stats';
import { navigate } from '../../../../actions/ui';
import { Icon } from '../../../../components/Icon';
import { useStatsFeed } from '../../../../hooks/use-stats';
import { useStatsStore } from '../../../../stores/stats';
import { Card } from '../facts';
import { bytes } from './series';

const MIB = 1024 * 1024;

/**
 * The guest's memory while it runs: what it was given, what the balloon leaves it, what the
 * guest itself reports and what the host really holds; and the balloon's target, which the
 * guest follows within a few seconds (its driver hands pages back to the host or takes them).
 */
export function MemoryCard({ vm, active }: { vm: VmSummary; active: boolean }) {
  useStatsFeed(active);
  const sample = useStatsStore((s) => s.latest[vm.id]);
  const configuredMiB = vm.config.memoryMiB;
  const balloon = sample && 'actualBytes' in sample.balloon ? sample.balloon : null;
  const actualMiB = balloon ? Math.round(balloon.actualBytes / MIB) : null;
  const [target, setTarget] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [asked, setAsked] = useState<number | null>(null);
  // The slider starts where the balloon is, and follows it until the user moves it.
  const value = target ?? actualMiB ?? configuredMiB;
  const moving = asked !== null && actualMiB !== null && Math.abs(actualMiB - asked) > 2;

  const apply = async () => {
    setBusy(true);
    setError(null);
    const res = await setBalloon(vm.id, value);
    setBusy(false);
    if (res.ok) {
      setAsked(value);
      setTarget(null);
    } else setError(res.message);
  };

  const guest = sample && !('available' in sample.guest) ? sample.guest : null;
  const guestWhy = sample && 'available' in sample.guest ? sample.guest.reason : null;
  const min = Math.min(configuredMiB, Math.max(MEMORY_MIB_MIN, 64));
  return (
    <Card title="Memory" icon="memory" className="card--memory">
      <dl className="balloon__figures" data-testid="memory-figures">
        <Figure label="Configured" value={bytes(configuredMiB * MIB)} />
        <Figure
          label="Balloon (guest has)"
          value={balloon ? bytes(balloon.actualBytes) : '–'}
          testId="balloon-actual"
        />
        <Figure
          label="Guest available"
          value={guest?.availableBytes != null ? bytes(guest.availableBytes) : '–'}
        />
        <Figure
          label="Host RSS"
          value={sample?.rssBytes != null ? bytes(sample.rssBytes) : '–'}
          title="Resident set size: host memory the QEMU process holds now"
        />
        <Figure
          label="Host PSS"
          value={sample?.pssBytes != null ? bytes(sample.pssBytes) : '–'}
          title="Proportional set size: shared pages (e.g. merged by KSM) divided among their users"
        />
      </dl>
      {balloon ? (
        <div
          className="balloon__bar"
          role="meter"
          aria-label="Memory the balloon leaves the guest"
          aria-valuemin={0}
          aria-valuemax={configuredMiB}
          aria-valuenow={actualMiB ?? 0}
        >
          <span
            className="balloon__actual"
            style={{
              width: `${Math.min(100, (balloon.actualBytes / (configuredMiB * MIB)) * 100)}%`,
            }}
          />
        </div>
      ) : null}
      {guestWhy ? <p className="muted">{guestWhy}</p> : null}
      {vm.config.balloon && balloon ? (
        <>
          <label htmlFor={`balloon-${vm.id}`} className="balloon__label">
            Guest memory (MiB)
          </label>
          <div className="balloon__form">
            <input
              id={`balloon-${vm.id}`}
              type="range"
              min={min}
              max={configuredMiB}
              step={16}
              value={value}
              onChange={(e) => setTarget(Number(e.target.value))}
              aria-valuetext={`${value} MiB`}
            />
            <input
              type="number"
              className="input"
              data-testid="balloon-target"
              min={min}
              max={configuredMiB}
              value={value}
              onChange={(e) => setTarget(Math.round(Number(e.target.value)) || min)}
              aria-label="Guest memory in MiB"
            />
            <button
              type="button"
              className="btn"
              data-testid="balloon-apply"
              disabled={busy || value === actualMiB}
              onClick={() => void apply()}
            >
              {busy ? <span className="spinner spinner--small" /> : null}
              Set
            </button>
          </div>
          <p className="muted" data-testid="balloon-status">
            {moving
              ? `The guest is moving to ${asked} MiB (now ${actualMiB} MiB)…`
              : `Between ${min} MiB and ${configuredMiB} MiB, its configured memory. Below what it uses, the guest swaps or, with deflate-on-OOM, takes memory back.`}
          </p>
        </>
      ) : (
        <p className="muted">
          {vm.config.balloon
            ? 'This VM was started before its memory balloon was turned on: shut it down and start it again to change its memory while it runs.'
            : 'This VM has no memory balloon: turn it on in Settings (from its next start) to change its memory while it runs.'}{' '}
          {!vm.config.balloon ? (
            <button
              type="button"
              className="btn btn--compact"
              onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: 'settings' })}
            >
              Open Settings
            </button>
          ) : null}
        </p>
      )}
      {error ? (
        <p className="callout callout--error" role="alert">
          <Icon name="alert" size={15} />
          <span>{error}</span>
        </p>
      ) : null}
    </Card>
  );
}

function Figure({
  label,
  value,
  title,
  testId,
}: {
  label: string;
  value: string;
  title?: string;
  testId?: string;
}) {
  return (
    <div title={title}>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}
