import { useId, type CSSProperties, type ReactNode } from 'react';
import {
  resetResources,
  setCloudDisk,
  setCpus,
  setDiskFile,
  setDiskGiB,
  setDiskMode,
  setMemory,
} from '../../../actions/wizard/resources';
import { Icon, type IconName } from '../../../components/Icon';
import { formatMemory } from '../../../../../common/format';
import type { DiskMode } from '../../../stores/wizard';
import { diskSizeGiB, HARDWARE_LABELS, resourceChecks, worst, type Check } from '../lib';
import { useWizard } from '../use-wizard';

const CLOUD_DISK_MODES: ReadonlyArray<{
  id: 'overlay' | 'copy';
  label: string;
  title: string;
}> = [
  { id: 'overlay', label: 'Thin overlay', title: 'A qcow2 on top of the cached image' },
  { id: 'copy', label: 'Full copy', title: 'A copy of the image of its own' },
];

const DISK_MODES: ReadonlyArray<{ id: DiskMode; label: string }> = [
  { id: 'new', label: 'New disk' },
  { id: 'existing', label: 'Existing image' },
  { id: 'import', label: 'Import a copy' },
  { id: 'none', label: 'No disk' },
];

export function ResourcesStep() {
  const { s, d, host } = useWizard();
  const defaults = d.defaults;
  if (!defaults) {
    return s.defaults.status === 'error' ? (
      <div className="callout callout--error" role="alert">
        <Icon name="alert" size={15} />
        <span>{s.defaults.message} Go back and pick the OS again.</span>
      </div>
    ) : (
      <div className="wizard__loading">
        <span className="spinner" /> Reading what {d.osName} needs…
      </div>
    );
  }
  const hostMiB = host?.totalMemoryMiB ?? defaults.limits.memoryMiB.max;
  const hostCpus = defaults.limits.cpus.max;
  const m = defaults.limits.memoryMiB;
  const c = defaults.limits.cpus;
  const g = defaults.limits.diskGiB;
  const cloud = s.setup === 'cloud';
  const checks = resourceChecks(
    defaults,
    d.osName,
    {
      memoryMiB: s.memoryMiB,
      cpus: s.cpus,
      diskGiB: cloud || s.diskMode === 'new' ? s.diskGiB : null,
    },
    hostMiB,
    cloud,
  );
  const unmet = defaults.requirements.filter((r) => !r.met);
  const changed =
    s.memoryMiB !== defaults.memoryMiB ||
    s.cpus !== defaults.cpus ||
    ((cloud || s.diskMode === 'new') && s.diskGiB !== diskSizeGiB(defaults.diskSize));
  const diskMax = Math.min(
    2048,
    Math.max(64, g.recommended * 4, Math.ceil((g.free ?? 0) / 16) * 16, s.diskGiB),
  );

  return (
    <div className="resources">
      {defaults.warnings.length > 0 || unmet.length > 0 ? (
        <div className="callout callout--warn" role="note">
          <Icon name="alert" size={15} />
          <ul>
            {[...unmet.map((r) => r.message), ...defaults.warnings]
              .filter((w, i, all) => all.indexOf(w) === i)
              .map((w) => (
                <li key={w}>{w}</li>
              ))}
          </ul>
        </div>
      ) : null}

      <ResourceRow
        icon="memory"
        label="Memory"
        value={s.memoryMiB}
        display={formatMemory(s.memoryMiB)}
        unit="MiB"
        min={Math.min(128, m.min)}
        max={hostMiB}
        snap={snapMemory}
        inputStep={64}
        marks={[m.min, m.recommended]}
        onChange={setMemory}
        checks={checks.memory}
        hint={`${d.osName}: minimum ${formatMemory(m.min)}, recommended ${formatMemory(m.recommended)} · this computer has ${formatMemory(hostMiB)}`}
      />
      <ResourceRow
        icon="cpu"
        label="CPUs"
        value={s.cpus}
        display={`${s.cpus} ${s.cpus === 1 ? 'CPU' : 'CPUs'}`}
        unit="CPUs"
        min={1}
        max={hostCpus}
        snap={Math.round}
        inputStep={1}
        marks={[c.recommended]}
        onChange={setCpus}
        checks={checks.cpus}
        hint={`Recommended ${c.recommended} · this computer has ${hostCpus}`}
      />

      <section className="res res--disk">
        <div className="res__head">
          <span className="res__icon">
            <Icon name="disk" size={17} />
          </span>
          <span className="res__label">Disk</span>
          <div className="segmented segmented--small" role="radiogroup" aria-label="Disk">
            {cloud
              ? CLOUD_DISK_MODES.map((mode) => (
                  <button
                    key={mode.id}
                    type="button"
                    role="radio"
                    aria-checked={s.cloudDisk === mode.id}
                    className={s.cloudDisk === mode.id ? 'is-on' : undefined}
                    onClick={() => setCloudDisk(mode.id)}
                    title={mode.title}
                  >
                    {mode.label}
                  </button>
                ))
              : DISK_MODES.map((mode) => (
                  <button
                    key={mode.id}
                    type="button"
                    role="radio"
                    aria-checked={s.diskMode === mode.id}
                    className={s.diskMode === mode.id ? 'is-on' : undefined}
                    onClick={() => setDiskMode(mode.id)}
                  >
                    {mode.label}
                  </button>
                ))}
          </div>
        </div>
        {cloud ? (
          <ResourceRow
            bare
            icon="disk"
            label="Disk size"
            value={s.diskGiB}
            display={`${s.diskGiB} GiB`}
            unit="GiB"
            min={Math.max(1, g.min)}
            max={diskMax}
            snap={snapDisk}
            inputStep={1}
            marks={[g.recommended].filter((x) => x > 0)}
            onChange={setDiskGiB}
            checks={checks.disk}
            hint={`${
              s.cloudDisk === 'overlay'
                ? 'A thin overlay on the cached cloud image: it takes only what the guest writes, and the image must stay in the cache.'
                : 'A full copy of the cloud image: the VM stands alone, at the cost of the image’s size on disk.'
            } The guest grows its disk to this size on first boot. Minimum ${g.min} GiB${g.free !== null ? ` · ${g.free} GiB free here` : ''}`}
          />
        ) : s.diskMode === 'new' ? (
          <ResourceRow
            bare
            icon="disk"
            label="Disk size"
            value={s.diskGiB}
            display={`${s.diskGiB} GiB`}
            unit="GiB"
            min={1}
            max={diskMax}
            snap={snapDisk}
            inputStep={1}
            marks={[g.min, g.recommended].filter((x) => x > 0)}
            onChange={setDiskGiB}
            checks={checks.disk}
            hint={`A thin qcow2 image: it takes only what the guest writes. ${d.osName}: minimum ${g.min} GiB, recommended ${g.recommended} GiB${g.free !== null ? ` · ${g.free} GiB free here` : ''}`}
          />
        ) : s.diskMode === 'none' ? (
          <p className="res__hint">
            No hard disk: fine for a live system. Nothing the guest does is kept after it powers
            off.
          </p>
        ) : (
          <DiskFileField mode={s.diskMode} />
        )}
      </section>

      <div className="resources__foot">
        {changed ? (
          <button type="button" className="link-btn" onClick={resetResources}>
            <Icon name="refresh" size={13} />
            Back to the recommended values
          </button>
        ) : (
          <span className="muted resources__rec">
            <Icon name="check" size={13} /> Recommended for {d.osName} on this computer
          </span>
        )}
      </div>

      <details className="hw">
        <summary>
          <Icon name="chip" size={15} />
          Hardware from the {d.entry?.name ?? 'OS'} profile
          <span className="muted">
            {' '}
            · {HARDWARE_LABELS.firmware[defaults.firmware]},{' '}
            {HARDWARE_LABELS.diskBus[defaults.diskBus]} disk,{' '}
            {HARDWARE_LABELS.nicModel[defaults.nicModel]}
          </span>
        </summary>
        <dl className="hw__grid">
          <Fact label="Machine">{HARDWARE_LABELS.machine[defaults.machine]}</Fact>
          <Fact label="Firmware">{HARDWARE_LABELS.firmware[defaults.firmware]}</Fact>
          <Fact label="Disk bus">{HARDWARE_LABELS.diskBus[defaults.diskBus]}</Fact>
          <Fact label="Network card">{HARDWARE_LABELS.nicModel[defaults.nicModel]}</Fact>
          <Fact label="Display">{HARDWARE_LABELS.video[defaults.video]}</Fact>
          <Fact label="Sound">{HARDWARE_LABELS.sound[defaults.sound]}</Fact>
          <Fact label="Pointer">
            {defaults.usbTablet ? 'USB tablet (follows your mouse)' : 'PS/2 mouse'}
          </Fact>
          <Fact label="Memory balloon">
            <span data-testid="wizard-balloon">
              {defaults.balloon
                ? (defaults.balloonNote ??
                  'Yes: its memory can be lowered and raised while it runs, and it reports what it uses')
                : (defaults.balloonNote ?? 'None')}
            </span>
          </Fact>
        </dl>
        <p className="muted hw__note" data-testid="hardware-note">
          {defaults.hardwareNote} Change any of it with “Customize first” on the last step.
        </p>
      </details>

      {defaults.notes.length > 0 ? (
        <section className="tips">
          <h4>
            <Icon name="info" size={15} />
            Good to know
          </h4>
          <ul>
            {defaults.notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

/** 64 MiB steps under 1 GiB, 256 MiB under 8 GiB, then 1 GiB. */
function snapMemory(v: number): number {
  const step = v < 1024 ? 64 : v < 8192 ? 256 : 1024;
  return Math.round(v / step) * step;
}

/** Whole GiB under 16, then 4 GiB, then 16 GiB steps. */
function snapDisk(v: number): number {
  const step = v < 16 ? 1 : v < 128 ? 4 : 16;
  return Math.max(1, Math.round(v / step) * step);
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function DiskFileField({ mode }: { mode: 'existing' | 'import' }) {
  const { s } = useWizard();
  const id = useId();
  return (
    <div className="field res__file">
      <label htmlFor={id}>{mode === 'existing' ? 'Disk image' : 'Image to import'}</label>
      <input
        id={id}
        className="mono"
        value={s.diskFile}
        placeholder={
          mode === 'existing'
            ? '/home/me/vms/old-machine.qcow2'
            : '/home/me/Downloads/appliance.vmdk'
        }
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => setDiskFile(e.target.value)}
      />
      <p className="field__hint">
        {mode === 'existing'
          ? 'A qcow2 or raw image, used where it is: Vivarium does not copy or move it.'
          : 'Copied into the VM’s folder as qcow2 (from qcow2, raw, VMDK, VDI, VHDX or VHD). Large images take a while.'}
      </p>
    </div>
  );
}

/** A slider and a number field for one resource, with its marks and what to say about it. */
function ResourceRow({
  icon,
  label,
  value,
  display,
  unit,
  min,
  max,
  snap,
  inputStep,
  marks,
  onChange,
  checks,
  hint,
  bare = false,
}: {
  icon: IconName;
  label: string;
  value: number;
  display: string;
  unit: string;
  min: number;
  max: number;
  /** Rounds a value picked on the slider to a sensible one. */
  snap: (v: number) => number;
  inputStep: number;
  marks: number[];
  onChange: (v: number) => void;
  checks: Check[];
  hint: string;
  bare?: boolean;
}) {
  const id = useId();
  const severity = worst(checks);
  // Wide ranges (16 MiB steps up to the host's 32 GiB) get a logarithmic track, so that the
  // values a guest really uses do not crowd into the first few pixels.
  const log = min > 0 && max / min > 16;
  const clamp = (v: number) => Math.min(Math.max(Number.isFinite(v) ? v : min, min), max);
  const toPos = (v: number) =>
    max <= min
      ? 0
      : log
        ? Math.log(clamp(v) / min) / Math.log(max / min)
        : (clamp(v) - min) / (max - min);
  const fromPos = (p: number) => {
    const raw = log ? min * (max / min) ** p : min + p * (max - min);
    return Math.min(max, Math.max(min, snap(raw)));
  };
  // Where a value sits on the track: the thumb's centre runs from 9px to (width - 9px).
  const at = (v: number) => `calc(9px + (100% - 18px) * ${toPos(v).toFixed(4)})`;
  const body = (
    <>
      <div className="res__control">
        <div className="res__slider" style={{ '--fill': at(value) } as CSSProperties}>
          <input
            type="range"
            min={0}
            max={1000}
            step={1}
            value={Math.round(toPos(value) * 1000)}
            aria-label={`${label} slider`}
            aria-valuetext={display}
            onChange={(e) => {
              const p = Number(e.target.value) / 1000;
              // Snap to the OS's minimum and recommendation when the thumb passes near them.
              const near = marks.find((mk) => Math.abs(toPos(mk) - p) < 0.012);
              onChange(near ?? fromPos(p));
            }}
          />
          <div className="res__marks" aria-hidden="true">
            {marks
              .filter((mk) => mk >= min && mk <= max)
              .map((mk) => (
                <span key={mk} className="res__mark" style={{ left: at(mk) }} />
              ))}
          </div>
          <div className="res__scale" aria-hidden="true">
            <span>{unit === 'MiB' ? formatMemory(min) : `${min}`}</span>
            <span>
              {unit === 'MiB' ? formatMemory(max) : `${max}${unit === 'GiB' ? ' GiB' : ''}`}
            </span>
          </div>
        </div>
        <div className={`res__number${severity === 'error' ? ' is-error' : ''}`}>
          <input
            id={id}
            type="number"
            inputMode="numeric"
            min={1}
            step={inputStep}
            value={Number.isFinite(value) ? value : ''}
            aria-label={label}
            aria-invalid={severity === 'error' ? true : undefined}
            onChange={(e) => onChange(e.target.value === '' ? NaN : Number(e.target.value))}
          />
          <span className="res__unit">{unit}</span>
        </div>
      </div>
      <p className="res__hint">{hint}</p>
      {checks.map((ch) => (
        <p key={ch.message} className={`res__check res__check--${ch.severity}`}>
          <Icon name={ch.severity === 'info' ? 'info' : 'alert'} size={13} />
          {ch.message}
        </p>
      ))}
    </>
  );
  if (bare) return <div className="res__bare">{body}</div>;
  return (
    <section className={`res${severity ? ` res--${severity}` : ''}`}>
      <div className="res__head">
        <span className="res__icon">
          <Icon name={icon} size={17} />
        </span>
        <label className="res__label" htmlFor={id}>
          {label}
        </label>
        <span className="res__value">{display}</span>
      </div>
      {body}
    </section>
  );
}
