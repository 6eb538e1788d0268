import {
  ARCH_LABELS,
  archPreset,
  SERIAL_ONLY_NOTE,
  VM_ARCHES,
  type VmArch,
} from '../../../../../common/arch';
import { archUnavailableReason } from '../../../../../common/rules/guest-arch';
import { setArch } from '../../../actions/wizard/media';
import { Icon } from '../../../components/Icon';
import { useWizard } from '../use-wizard';

/** The install command inside a reason ("…: sudo apt install …"), shown as a block to copy. */
function installCommandOf(reason: string): string | null {
  return /(sudo apt install .+)$/.exec(reason)?.[1] ?? null;
}

/**
 * The guest's architecture: one choice per architecture Vivarium runs, preselected from the ISO's
 * boot files (else this computer's own), with what the choice means here: emulated and how much
 * slower, or its QEMU missing and how to install it.
 */
export function ArchPicker() {
  const { s, d, host } = useWizard();
  const a = d.arch;
  const tag = (arch: VmArch): string | null => {
    if (a.detected?.arches.includes(arch)) return 'the ISO’s';
    if (arch === a.native) return 'this computer’s';
    return null;
  };
  const command = a.unavailable ? installCommandOf(a.unavailable) : null;
  const serialOnly = archPreset(a.arch).serialOnly;
  return (
    <section className="arch-pick" aria-label="Architecture" data-testid="arch-pick">
      <h4 className="media-step__sub">Architecture</h4>
      <div className="arch-options" role="radiogroup" aria-label="Guest architecture">
        {VM_ARCHES.map((arch) => {
          const missing = archUnavailableReason(host, arch) !== null;
          const offered = a.published.includes(arch);
          const t = tag(arch);
          return (
            <label
              key={arch}
              className={`arch-option${a.arch === arch ? ' is-on' : ''}${offered ? '' : ' is-unpublished'}`}
              title={offered ? undefined : 'The catalogue has no media of this OS for it'}
            >
              <input
                type="radio"
                name="guest-arch"
                value={arch}
                checked={a.arch === arch}
                onChange={() => setArch(arch)}
                disabled={s.creating !== null || d.media.downloading}
              />
              <span className="arch-option__text">
                <span className="arch-option__title">{ARCH_LABELS[arch]}</span>
                <span className="arch-option__tags">
                  {t ? <span className="chip chip--good">{t}</span> : null}
                  {arch !== a.native ? <span className="chip">emulated</span> : null}
                  {missing ? <span className="chip chip--bad">QEMU missing</span> : null}
                </span>
              </span>
            </label>
          );
        })}
      </div>
      {a.detected ? (
        <p className="muted arch-pick__why" data-testid="arch-detected">
          <Icon name="info" size={13} />{' '}
          {a.detected.arches.length
            ? `The ISO boots on ${a.detected.arches.map((x) => ARCH_LABELS[x]).join(' and ')}${a.detected.reason ? ` (${a.detected.reason})` : ''}.`
            : 'The ISO’s boot files do not say which architecture it is for.'}
        </p>
      ) : null}
      {a.unavailable ? (
        <div
          className="callout callout--error callout--block"
          role="alert"
          data-testid="arch-missing"
        >
          <p>
            {command
              ? a.unavailable.slice(0, -command.length).replace(/:\s*$/, '.')
              : a.unavailable}
          </p>
          {command ? <pre className="arch-pick__command">{command}</pre> : null}
          <p className="muted">Install it, then probe again in Host (or restart Vivarium).</p>
        </div>
      ) : a.notice ? (
        <div className="callout callout--warn" role="note" data-testid="arch-notice">
          <Icon name="alert" size={15} />
          <span>{a.notice}</span>
        </div>
      ) : null}
      {serialOnly ? (
        <div className="callout callout--info" role="note">
          <Icon name="info" size={15} />
          <span>{SERIAL_ONLY_NOTE}</span>
        </div>
      ) : null}
    </section>
  );
}
