import type { ReactNode } from 'react';
import { goToStep } from '../../../actions/wizard/steps';
import { ARCH_LABELS, firmwareLabel } from '../../../../../common/arch';
import { Icon } from '../../../components/Icon';
import { formatBytes, formatMemory, plural } from '../../../../../common/format';
import { SSH_HOST_PORT_FIRST } from '../../../../../common/rules/cloud-guest';
import { loginSummary } from '../cloud';
import { useWizardStore, type WizardStep } from '../../../stores/wizard';
import { fileName, HARDWARE_LABELS } from '../lib';
import { OsLogo } from '../OsLogo';
import { useWizard } from '../use-wizard';
import { Progress } from './MediaStep';

export function SummaryStep() {
  const { s, d } = useWizard();
  const entry = d.entry;
  const defaults = d.defaults;
  if (!entry || !defaults) return null;
  const task = d.media.task;
  const unmet = defaults.requirements.filter((r) => !r.met);
  const cloud = s.setup === 'cloud';
  const media =
    cloud && !d.media.downloading && !d.media.file ? (
      <span className="sum-media">
        {d.media.chosen?.label ?? 'Cloud image'}
        <span className="chip">
          {d.media.chosen?.sizeBytes ? `${formatBytes(d.media.chosen.sizeBytes)} · ` : ''}
          downloads on Create
        </span>
      </span>
    ) : s.mediaKind === 'none' && !cloud ? (
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
        {cloud || s.mediaKind === 'download' ? (
          <span className="chip chip--good">
            <Icon name="check" size={11} /> verified
          </span>
        ) : null}
      </span>
    ) : (
      '—'
    );
  // The profile's hardware as the chosen architecture has it (what Create asks for).
  const hw = d.hardware ?? defaults;
  const disk = cloud
    ? `${s.diskGiB} GiB ${s.cloudDisk === 'overlay' ? 'thin overlay on' : 'copy of'} the cloud image, on ${HARDWARE_LABELS.diskBus[hw.diskBus]}`
    : s.diskMode === 'new'
      ? `New ${s.diskGiB} GiB disk (thin qcow2) on ${HARDWARE_LABELS.diskBus[hw.diskBus]}`
      : s.diskMode === 'none'
        ? 'No disk'
        : `${s.diskMode === 'existing' ? 'Existing' : 'Imported copy of'} ${fileName(s.diskFile)} on ${HARDWARE_LABELS.diskBus[hw.diskBus]}`;

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
      {s.creating && d.media.downloading && task ? (
        <div className="dl-card dl-card--running">
          <Progress task={task} goOn={false} />
        </div>
      ) : null}
      <dl className="summary__grid">
        <Row label="Operating system" step="os">
          {d.version?.name ?? entry.name}
        </Row>
        <Row label={cloud ? 'Cloud image' : 'Install media'} step="media">
          {media}
        </Row>
        <Row label="Architecture" step="media">
          <span data-testid="summary-arch">{ARCH_LABELS[d.arch.arch]}</span>{' '}
          {d.arch.arch === d.arch.native ? (
            <span className="chip chip--good">this computer’s own</span>
          ) : (
            <span className="chip chip--warn">emulated</span>
          )}
        </Row>
        {cloud ? <CloudRows /> : null}
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
          {firmwareLabel(d.arch.arch, hw.firmware)} · {HARDWARE_LABELS.machine[hw.machine]}
        </Row>
        <Row label="Network">
          {HARDWARE_LABELS.nicModel[hw.nicModel]} · NAT
          {cloud ? ` · SSH forwarded from 127.0.0.1 (a free port from ${SSH_HOST_PORT_FIRST})` : ''}
        </Row>
        <Row label="Display and sound">
          {HARDWARE_LABELS.video[hw.video]} · {HARDWARE_LABELS.sound[hw.sound]}
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
          {cloud ? (
            <p>
              <strong>Create and start</strong> boots it; its first boot sets up your account, and
              the Overview tab shows the <code>ssh</code> command once the guest answers.
            </p>
          ) : (
            <p>
              <strong>Create and start</strong> boots{' '}
              {s.mediaKind === 'none' ? 'the VM' : 'the installer'} and shows it on the Display tab.
            </p>
          )}
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

/** A ready-to-use guest's login, host name and regional settings. */
function CloudRows() {
  const { s, d } = useWizard();
  const a = s.account;
  return (
    <>
      <Row label="Login" step="account">
        <span className="mono">{a.user.trim()}</span>{' '}
        <span className="muted">· {loginSummary(d.account.keys.length, a.password !== '')}</span>
      </Row>
      <Row label="Host name" step="account">
        <span className="mono">{d.account.hostname}</span>
      </Row>
      <Row label="Regional" step="account">
        {[
          a.timezone.trim(),
          a.locale.trim(),
          a.keyboardLayout.trim()
            ? `${a.keyboardLayout.trim()}${a.keyboardVariant.trim() ? ` (${a.keyboardVariant.trim()})` : ''} keyboard`
            : '',
        ]
          .filter(Boolean)
          .join(' · ') || 'As on this computer'}
      </Row>
    </>
  );
}

function Row({ label, step, children }: { label: string; step?: WizardStep; children: ReactNode }) {
  const creating = useWizardStore((st) => st.creating !== null);
  return (
    <div className="summary__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
      {step ? (
        <button
          type="button"
          className="link-btn summary__change"
          onClick={() => goToStep(step)}
          disabled={creating}
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
