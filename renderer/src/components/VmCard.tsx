import { memo, type CSSProperties } from 'react';
import type { VmSummary } from '../../../preload/contract';
import { runVmOperation } from '../actions/library';
import { accelLabel, formatMemory, hueOf, osLabel, plural } from '../lib/format';
import { canRun } from '../lib/vm-state';
import { useHostStore } from '../stores/host';
import { useUiStore, type VmOperation } from '../stores/ui';
import { Icon, type IconName } from './Icon';
import { StateBadge } from './StateBadge';

interface ButtonSpec {
  op: VmOperation;
  label: string;
  icon: IconName;
  variant: 'primary' | 'secondary' | 'danger';
}

const PRIMARY: ButtonSpec[] = [
  { op: 'start', label: 'Start', icon: 'play', variant: 'primary' },
  { op: 'pause', label: 'Pause', icon: 'pause', variant: 'secondary' },
  { op: 'resume', label: 'Resume', icon: 'play', variant: 'secondary' },
];
const STOP: ButtonSpec[] = [
  { op: 'shutdown', label: 'Shut down', icon: 'power', variant: 'secondary' },
  { op: 'powerOff', label: 'Power off', icon: 'stop', variant: 'danger' },
];

export const VmCard = memo(function VmCard({ vm }: { vm: VmSummary }) {
  const pending = useUiStore((s) => s.pending[vm.id]);
  // The host banner already says why (e.g. broken KVM): repeat only what it does not.
  const hostSaysSo = useHostStore(
    (s) => vm.runtime.accelNotice !== null && s.notices.includes(vm.runtime.accelNotice),
  );
  const { config, runtime } = vm;
  const state = runtime.state;
  const os = osLabel(config.os);
  const hue = hueOf(config.os);
  const boot = config.kernelBoot
    ? 'Kernel boot'
    : config.cdrom
      ? 'CD-ROM'
      : config.disks.length > 0
        ? plural(config.disks.length, 'disk')
        : 'No boot media';
  // While it runs, what it actually runs under; otherwise what it is set to use.
  const accel = (state !== 'stopped' && state !== 'crashed' && runtime.accel) || config.accel;

  const button = (b: ButtonSpec) => {
    const busy = pending === b.op;
    return (
      <button
        key={b.op}
        type="button"
        className={`btn btn--${b.variant}${busy ? ' btn--busy' : ''}`}
        disabled={!canRun(state, b.op, pending)}
        aria-busy={busy || undefined}
        onClick={() => void runVmOperation(vm.id, b.op)}
      >
        <Icon name={b.icon} size={14} filled={b.icon !== 'power'} />
        {b.label}
      </button>
    );
  };

  return (
    <article
      className={`vm-card vm-card--${state}`}
      data-testid="vm-card"
      data-vm-name={vm.name}
      data-vm-id={vm.id}
      aria-label={vm.name}
    >
      <header className="vm-card__head">
        <div
          className="vm-avatar"
          aria-hidden="true"
          style={{ '--hue': String(hue) } as CSSProperties}
        >
          <Icon name="monitor" size={20} />
        </div>
        <div className="vm-card__title">
          <h3 title={vm.name}>{vm.name}</h3>
          <p>{os}</p>
        </div>
        <StateBadge state={state} />
      </header>

      <dl className="vm-specs">
        <div>
          <dt>Memory</dt>
          <dd>
            <Icon name="memory" size={14} />
            {formatMemory(config.memoryMiB)}
          </dd>
        </div>
        <div>
          <dt>CPUs</dt>
          <dd>
            <Icon name="cpu" size={14} />
            {plural(config.cpu.count, 'CPU')}
          </dd>
        </div>
        <div>
          <dt>Accelerator</dt>
          <dd>
            <Icon name="chip" size={14} />
            {accelLabel(accel, true)}
          </dd>
        </div>
        <div>
          <dt>Boots from</dt>
          <dd>
            <Icon name="boot" size={14} />
            {boot}
          </dd>
        </div>
      </dl>

      {runtime.lastError ? (
        <p className="vm-card__error">
          <Icon name="alert" size={14} />
          <span>{runtime.lastError}</span>
        </p>
      ) : runtime.accelNotice && !hostSaysSo && state !== 'stopped' ? (
        <p className="vm-card__note">
          <Icon name="info" size={14} />
          <span>{runtime.accelNotice}</span>
        </p>
      ) : null}
      {state === 'crashed' && runtime.lastExit?.stderrTail ? (
        <details className="vm-card__details">
          <summary>What QEMU said</summary>
          <pre>{runtime.lastExit.stderrTail}</pre>
        </details>
      ) : null}

      <footer className="vm-actions">
        <div className="btn-group">{PRIMARY.map(button)}</div>
        <div className="btn-group">{STOP.map(button)}</div>
      </footer>
    </article>
  );
});
