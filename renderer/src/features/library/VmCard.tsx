import { memo, useEffect, useRef, type CSSProperties } from 'react';
import type { VmState, VmSummary } from '../../../../common/contract';
import { forgetThumbnail, watchThumbnail } from '../../actions/thumbnails';
import { openVm } from '../../actions/ui';
import {
  accelLabel,
  formatMemory,
  hueOf,
  osLabel,
  osVersion,
  plural,
} from '../../../../common/format';
import { isGuestUp, isSaved } from '../../../../common/vm-state';
import { guestPhase } from '../../lib/guest';
import { useHostStore } from '../../stores/host';
import { useThumbnailStore } from '../../stores/thumbnails';
import { Icon } from '../../components/Icon';
import { StateBadge } from '../../components/StateBadge';
import { OPS, OpButton } from '../../components/VmActions';
import { SavedSince, SuspendProgress } from '../savestate/SaveState';
import { OsAvatar } from '../wizard/OsLogo';
import { CardStats } from './CardStats';

/**
 * Start, Pause, Resume. On a saved VM Start is the one that resumes (and says so), so the
 * pause-resume button, which could not apply anyway, leaves room.
 */
function primaryOps(state: VmState) {
  return isSaved(state) ? [OPS.start, OPS.pause] : [OPS.start, OPS.pause, OPS.resume];
}
const STOP = [OPS.shutdown, OPS.powerOff];

export function bootLabel(vm: VmSummary): string {
  const c = vm.config;
  return c.kernelBoot
    ? 'Kernel boot'
    : c.cdrom
      ? 'CD-ROM'
      : c.disks.length > 0
        ? plural(c.disks.length, 'disk')
        : 'No boot media';
}

export const VmCard = memo(function VmCard({ vm }: { vm: VmSummary }) {
  // The host banner already says why (e.g. broken KVM): repeat only what it does not.
  const hostSaysSo = useHostStore(
    (s) => vm.runtime.accelNotice !== null && s.notices.includes(vm.runtime.accelNotice),
  );
  const { config, runtime } = vm;
  const state = runtime.state;
  // While it runs, what it actually runs under; otherwise what it is set to use.
  const accel = (state !== 'stopped' && state !== 'crashed' && runtime.accel) || config.accel;

  return (
    <article
      className={`vm-card vm-card--${state}`}
      data-testid="vm-card"
      data-vm-name={vm.name}
      data-vm-id={vm.id}
      aria-label={vm.name}
    >
      <div className="vm-card__body">
        <Screen vm={vm} />
        <div className="vm-card__main">
          <header className="vm-card__head">
            <div className="vm-card__title">
              <h3 title={vm.name}>
                <a href={`#/vm/${vm.id}/overview`} className="vm-card__link">
                  {vm.name}
                </a>
              </h3>
              <p>
                {osLabel(config.os)}
                <GuestHint vm={vm} />
              </p>
            </div>
            <div className="vm-card__state">
              <StateBadge state={state} />
              <SavedSince vm={vm} />
            </div>
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
                {bootLabel(vm)}
              </dd>
            </div>
          </dl>
          {isGuestUp(state) ? <CardStats vm={vm} /> : null}
        </div>
      </div>

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

      <SuspendProgress vmId={vm.id} compact />
      <footer className="vm-actions">
        <div className="btn-group">
          {primaryOps(state).map((spec) => (
            <OpButton key={spec.op} vmId={vm.id} state={state} spec={spec} small />
          ))}
          <OpButton vmId={vm.id} state={state} spec={OPS.suspend} small iconOnly />
        </div>
        <div className="btn-group">
          {STOP.map((spec) => (
            <OpButton key={spec.op} vmId={vm.id} state={state} spec={spec} small />
          ))}
          <button
            type="button"
            className="btn btn--ghost btn--compact btn--icon"
            onClick={() => openVm(vm.id, isGuestUp(state) ? 'display' : 'overview')}
            aria-label="Open"
            title="Open the VM window"
          >
            <Icon name="forward" size={16} />
          </button>
        </div>
      </footer>
    </article>
  );
});

/** "Ready" once the guest answers (SSH or its agent), "Booting" until then. */
function GuestHint({ vm }: { vm: VmSummary }) {
  const phase = guestPhase(vm);
  if (phase !== 'ready' && phase !== 'booting') return null;
  return (
    <span
      className={`guest-hint guest-hint--${phase}`}
      data-testid="guest-hint"
      title={
        phase === 'ready'
          ? (vm.guest?.ssh?.command ?? 'The guest answers')
          : 'Waiting for the guest to answer'
      }
    >
      {phase === 'ready' ? 'Ready' : 'Booting'}
    </span>
  );
}

/** The screen: a live thumbnail while it runs, otherwise the OS placeholder. */
function Screen({ vm }: { vm: VmSummary }) {
  const ref = useRef<HTMLButtonElement>(null);
  const state = vm.runtime.state;
  const live = isGuestUp(state);
  const thumb = useThumbnailStore((s) => (live ? s[vm.id] : undefined));
  const hue = hueOf(vm.config.os);

  useEffect(() => {
    const el = ref.current;
    if (!el || state !== 'running') return;
    return watchThumbnail(el);
  }, [state]);
  useEffect(() => {
    if (!live) forgetThumbnail(vm.id);
  }, [live, vm.id]);

  const version = osVersion(vm.config.os);
  return (
    <button
      ref={ref}
      type="button"
      className={`vm-screen vm-screen--${state}${thumb ? ' vm-screen--live' : ''}`}
      data-vm-id={vm.id}
      style={{ '--hue': String(hue) } as CSSProperties}
      onClick={() => openVm(vm.id, live ? 'display' : 'overview')}
      aria-label={live ? `Open the display of ${vm.name}` : `Open ${vm.name}`}
      tabIndex={-1}
    >
      {thumb ? (
        <img src={thumb.src} alt="" width={thumb.width} height={thumb.height} draggable={false} />
      ) : (
        <span className="vm-screen__os" aria-hidden="true">
          <OsAvatar os={vm.config.os} size={46} className="vm-screen__logo" />
          {version ? <span className="vm-screen__version">{version}</span> : null}
        </span>
      )}
      {state === 'paused' ? (
        <span className="vm-screen__overlay" aria-hidden="true">
          <Icon name="pause" size={22} filled />
        </span>
      ) : null}
    </button>
  );
}
