import type { ReactNode } from 'react';
import { goToStep } from '../../../actions/wizard/steps';
import { Icon } from '../../../components/Icon';
import { formatMemory, plural } from '../../../../../common/format';
import type { WizardStep } from '../../../stores/wizard';
import { fileName, HARDWARE_LABELS } from '../lib';
import { OsLogo } from '../OsLogo';
import { useWizard } from '../use-wizard';

export function SummaryStep() {
  const { s, d } = useWizard();
  const entry = d.entry;
  const defaults = d.defaults;
  if (!entry || !defaults) return null;
  const task = d.media.task;
  const unmet = defaults.requirements.filter((r) => !r.met);
  const media =
    s.mediaKind === 'none' ? (
      'None (empty CD-ROM)'
    ) : d.media.downloading && task ? (
      <span className="sum-media">
        Downloading {d.media.chosen?.label}…{' '}
        <span className="chip chip--busy">
          <span className="chip__dot" />
          {Math.round((task.progress ?? 0) * 100)}%
        </span>
      </span>
    ) : d.media.file ? (
      <span className="sum-media">
        <span className="mono" title={d.media.file}>
          {fileName(d.media.file)}
        </span>
        {s.mediaKind === 'download' ? (
          <span className="chip chip--good">
            <Icon name="check" size={11} /> verified
          </span>
        ) : null}
      </span>
    ) : (
      '—'
    );
  const disk =
    s.diskMode === 'new'
      ? `New ${s.diskGiB} GiB disk (thin qcow2) on ${HARDWARE_LABELS.diskBus[defaults.diskBus]}`
      : s.diskMode === 'none'
        ? 'No disk'
        : `${s.diskMode === 'existing' ? 'Existing' : 'Imported copy of'} ${fileName(s.diskFile)} on ${HARDWARE_LABELS.diskBus[defaults.diskBus]}`;

  return (
    <div className="summary" data-testid="wizard-summary">
      <div className="summary__hero">
        <OsLogo logo={entry.logo} family={entry.family} size={56} />
        <div>
          <h4>{s.name.trim()}</h4>
          <p className="muted">
            {d.version?.name ?? entry.name}
            {entry.vendor && entry.vendor !== 'Unknown' ? ` · ${entry.vendor}` : ''}
          </p>
        </div>
      </div>
      <dl className="summary__grid">
        <Row label="Operating system" step="os">
          {d.version?.name ?? entry.name}
        </Row>
        <Row label="Install media" step="media">
          {media}
        </Row>
        <Row label="Memory" step="resources">
          {formatMemory(s.memoryMiB)}
        </Row>
        <Row label="CPUs" step="resources">
          {plural(s.cpus, 'CPU')}
        </Row>
        <Row label="Disk" step="resources">
          {disk}
        </Row>
        <Row label="Firmware">
          {HARDWARE_LABELS.firmware[defaults.firmware]} ·{' '}
          {HARDWARE_LABELS.machine[defaults.machine]}
        </Row>
        <Row label="Network">{HARDWARE_LABELS.nicModel[defaults.nicModel]} · NAT</Row>
        <Row label="Display and sound">
          {HARDWARE_LABELS.video[defaults.video]} · {HARDWARE_LABELS.sound[defaults.sound]}
        </Row>
      </dl>
      {unmet.length > 0 ? (
        <div className="callout callout--warn" role="note">
          <Icon name="alert" size={15} />
          <ul>
            {unmet.map((r) => (
              <li key={r.id}>{r.message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="summary__ways">
        <div>
          <Icon name="play" size={14} filled />
          <p>
            <strong>Create and start</strong> boots{' '}
            {s.mediaKind === 'none' ? 'the VM' : 'the installer'} and shows it on the Display tab.
          </p>
        </div>
        <div>
          <Icon name="sliders" size={14} />
          <p>
            <strong>Customize first</strong> opens the VM’s Settings before anything runs.
          </p>
        </div>
      </div>
    </div>
  );
}

function Row({ label, step, children }: { label: string; step?: WizardStep; children: ReactNode }) {
  return (
    <div className="summary__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
      {step ? (
        <button
          type="button"
          className="link-btn summary__change"
          onClick={() => goToStep(step)}
          aria-label={`Change ${label.toLowerCase()}`}
        >
          Change
        </button>
      ) : (
        <span />
      )}
    </div>
  );
}
