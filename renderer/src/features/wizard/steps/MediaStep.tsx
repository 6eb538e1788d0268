import type { MediaSpec, TaskInfo } from '../../../../../common/contract';
import {
  cancelDownload,
  setMediaId,
  setMediaKind,
  setSetup,
  startDownload,
} from '../../../actions/wizard/media';
import { localFiles } from '../../../bridge';
import { Icon, type IconName } from '../../../components/Icon';
import { formatBytes, formatDuration } from '../../../../../common/format';
import type { MediaKind, WizardSetup } from '../../../stores/wizard';
import { ARCH_LABELS } from '../../../../../common/arch';
import { downloadableMedia, GENERIC_ID, mediaHost } from '../lib';
import { OsLogo } from '../OsLogo';
import { useWizard } from '../use-wizard';
import { ArchPicker } from './ArchPicker';
import { ChosenIso, DetectionCard, IsoDropZone } from './IsoPicker';

const KIND_LABEL: Record<MediaSpec['kind'], string> = {
  installer: 'Full installer',
  netinst: 'Network installer',
  live: 'Live system',
  bootonly: 'Boot-only installer',
  cloud: 'Cloud image (ready to use)',
};

const SETUPS: ReadonlyArray<{ id: WizardSetup; icon: IconName; title: string; desc: string }> = [
  {
    id: 'cloud',
    icon: 'terminal',
    title: 'Ready to use (cloud image)',
    desc: 'The distribution’s cloud image, set up on first boot with your login and SSH keys: no installer, ready in a minute or two.',
  },
  {
    id: 'iso',
    icon: 'disk',
    title: 'Install from ISO',
    desc: 'Boot the installer and go through its screens: every choice is yours.',
  },
];

export function MediaStep() {
  const { s, d } = useWizard();
  const entry = d.entry;
  if (!entry) return null;
  const setupChoice = d.cloudAvailable ? (
    <div className="choice-row setup-row" role="radiogroup" aria-label="How to set it up">
      {SETUPS.map((c) => (
        <label key={c.id} className={`choice${s.setup === c.id ? ' is-on' : ''}`}>
          <input
            type="radio"
            name="setup"
            value={c.id}
            checked={s.setup === c.id}
            onChange={() => setSetup(c.id)}
            disabled={s.creating !== null}
          />
          <span className="choice__icon">
            <Icon name={c.icon} size={18} />
          </span>
          <span className="choice__text">
            <span className="choice__title">
              {c.title}
              {c.id === 'cloud' ? <span className="chip chip--good setup-fast">~2 min</span> : null}
            </span>
            <span className="choice__desc">{c.desc}</span>
          </span>
        </label>
      ))}
    </div>
  ) : null;
  if (s.setup === 'cloud') {
    return (
      <div className="media-step">
        <MediaOs />
        {setupChoice}
        <ArchPicker />
        <DownloadPanel cloud />
      </div>
    );
  }
  const canDownload = d.media.downloadable.length > 0;
  const otherArchMedia = downloadableMedia(d.version ?? undefined).length > 0;
  const page = d.version?.media.find((m) => m.page)?.page ?? null;
  const choices: Array<{ id: MediaKind; icon: IconName; title: string; desc: string }> = [];
  if (canDownload) {
    choices.push({
      id: 'download',
      icon: 'globe',
      title: 'Download it',
      desc: 'The official image, checked against its published checksum and kept for next time.',
    });
  }
  choices.push({
    id: 'local',
    icon: 'folder',
    title: 'Use an ISO file I have',
    desc:
      localFiles() === 'upload'
        ? 'Upload one from this computer, or use a file on the one that runs Vivarium.'
        : 'A file already on the computer that runs Vivarium.',
  });
  choices.push({
    id: 'none',
    icon: 'close',
    title: 'No install media',
    desc: 'An empty CD-ROM drive: attach an ISO later in Settings.',
  });

  return (
    <div className="media-step">
      <MediaOs />
      {setupChoice}
      <ArchPicker />

      {!canDownload && otherArchMedia ? (
        <div className="callout callout--info" data-testid="no-arch-media">
          <Icon name="info" size={15} />
          <span>
            The catalogue has no {ARCH_LABELS[d.arch.arch]} media of {d.version?.name ?? entry.name}
            : pick another architecture above, or give the path of an ISO you have.
          </span>
        </div>
      ) : !canDownload && entry.id !== GENERIC_ID ? (
        <div className="callout callout--info">
          <Icon name="info" size={15} />
          <span>
            Vivarium can’t download {d.version?.name ?? entry.name} by itself
            {page ? (
              <>
                : get the ISO from{' '}
                <a href={page} target="_blank" rel="noreferrer noopener">
                  {new URL(page).host}
                </a>
                , then give its path below.
              </>
            ) : (
              ': give the path of an ISO you have.'
            )}
          </span>
        </div>
      ) : null}

      {setupChoice ? <h4 className="media-step__sub">Install media</h4> : null}
      <div className="choice-row" role="radiogroup" aria-label="Install media">
        {choices.map((c) => (
          <label key={c.id} className={`choice${s.mediaKind === c.id ? ' is-on' : ''}`}>
            <input
              type="radio"
              name="media-kind"
              value={c.id}
              checked={s.mediaKind === c.id}
              onChange={() => setMediaKind(c.id)}
            />
            <span className="choice__icon">
              <Icon name={c.icon} size={18} />
            </span>
            <span className="choice__text">
              <span className="choice__title">{c.title}</span>
              <span className="choice__desc">{c.desc}</span>
            </span>
          </label>
        ))}
      </div>

      {s.mediaKind === 'download' && canDownload ? <DownloadPanel /> : null}
      {s.mediaKind === 'local' ? (
        s.source === 'iso' && s.isoPath.trim() ? (
          // Step 1 already showed the image and what it is: here it is one line.
          <ChosenIso />
        ) : (
          <div className="local-media">
            <IsoDropZone compact />
            <DetectionCard />
          </div>
        )
      ) : null}
      {s.mediaKind === 'none' ? (
        <p className="muted media-none">
          The VM boots from its disk (or the network). To install an OS later, put an ISO in its
          CD-ROM drive from the Settings tab.
        </p>
      ) : null}
    </div>
  );
}

/** The chosen OS and version, at the top of the step. */
function MediaOs() {
  const { d } = useWizard();
  const entry = d.entry;
  if (!entry) return null;
  return (
    <div className="media-os">
      <OsLogo logo={entry.logo} family={entry.family} size={32} />
      <div>
        <strong>{d.version?.name ?? entry.name}</strong>
        {d.version?.released ? (
          <span className="muted"> · released {d.version.released}</span>
        ) : null}
        {d.version?.eol ? <span className="muted"> · supported until {d.version.eol}</span> : null}
      </div>
    </div>
  );
}

function checksumNote(m: MediaSpec): string {
  if (m.sha256) return 'Checked against its published SHA-256.';
  if (m.checksum) return 'Checked against the project’s published checksum list.';
  return m.checksumReason
    ? `Not verifiable: ${m.checksumReason}`
    : 'The project publishes no checksum for it.';
}

/** The chosen media's download (or cached copy); `cloud`: the image is fetched on Create if not now. */
function DownloadPanel({ cloud = false }: { cloud?: boolean }) {
  const { s, d } = useWizard();
  const { downloadable, chosen, cached, task, file } = d.media;
  if (!chosen) {
    return cloud ? (
      <div className="callout callout--info">
        <Icon name="info" size={15} />
        <span>
          {d.version?.name ?? 'This version'} has no cloud image: pick another version, or install
          from an ISO.
        </span>
      </div>
    ) : null;
  }
  const host = mediaHost(chosen);
  return (
    <div className="download" data-testid="download">
      {downloadable.length > 1 ? (
        <div
          className="media-options"
          role="radiogroup"
          aria-label={cloud ? 'Which cloud image' : 'Which image'}
        >
          {downloadable.map((m) => (
            <label key={m.id} className={`media-option${chosen.id === m.id ? ' is-on' : ''}`}>
              <input
                type="radio"
                name="media-id"
                value={m.id}
                checked={chosen.id === m.id}
                onChange={() => setMediaId(m.id)}
                disabled={d.media.downloading}
              />
              <span className="media-option__title">{m.label}</span>
              <span className="muted">
                {KIND_LABEL[m.kind]} · {m.arch}
                {m.sizeBytes ? ` · ${formatBytes(m.sizeBytes)}` : ''}
              </span>
            </label>
          ))}
        </div>
      ) : null}

      <div className={`dl-card dl-card--${downloadState(task, file)}`}>
        {task?.state === 'running' ? (
          <Progress task={task} />
        ) : file ? (
          <div className="dl-card__ready" data-testid="media-ready">
            <span className="dl-card__badge dl-card__badge--good">
              <Icon name="check" size={18} />
            </span>
            <div>
              <h4>Ready</h4>
              <p className="muted">
                {task?.state === 'succeeded' &&
                (task.result as { reused?: boolean } | null)?.reused === false
                  ? 'Downloaded and verified.'
                  : cached?.verified === 'none'
                    ? 'In the cache (no checksum to verify against).'
                    : 'Verified and in the cache: nothing to download.'}{' '}
                <span className="mono dl-card__file" title={file}>
                  {file.split('/').pop()}
                </span>
              </p>
            </div>
          </div>
        ) : (
          <div className="dl-card__idle">
            <span className="dl-card__badge">
              <Icon name="globe" size={18} />
            </span>
            <div className="dl-card__what">
              <h4>
                {chosen.label}
                <span className="muted">
                  {' '}
                  ·{' '}
                  {cloud
                    ? `${chosen.diskFormat ?? 'disk image'} with ${chosen.cloudInit ?? 'cloud-init'}`
                    : KIND_LABEL[chosen.kind]}{' '}
                  · {chosen.arch}
                </span>
              </h4>
              <p className="muted">
                {chosen.sizeBytes ? `About ${formatBytes(chosen.sizeBytes)}` : 'Size unknown'}
                {host ? ` from ${host}` : ''}. {checksumNote(chosen)}
                {cloud ? ' It downloads when you create the VM, or now.' : ''}
              </p>
              {task?.state === 'failed' ? (
                <p className="dl-card__error" role="alert">
                  <Icon name="alert" size={14} />
                  {task.error?.message ?? 'The download failed.'} Try again (it resumes where it
                  stopped){cloud ? '.' : ', or use an ISO file you have.'}
                </p>
              ) : task?.state === 'cancelled' ? (
                <p className="muted">Cancelled. Downloading again resumes where it stopped.</p>
              ) : s.downloadError ? (
                <p className="dl-card__error" role="alert">
                  <Icon name="alert" size={14} />
                  {s.downloadError}
                </p>
              ) : null}
            </div>
            <button
              type="button"
              className="btn btn--primary btn--tall"
              onClick={() => void startDownload()}
            >
              <Icon name="forward" size={15} className="wicon-down" />
              {task?.state === 'failed' || task?.state === 'cancelled'
                ? 'Download again'
                : cloud
                  ? 'Download now'
                  : 'Download'}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}

function downloadState(task: TaskInfo | null, file: string | null): string {
  if (task?.state === 'running') return 'running';
  if (file) return 'ready';
  if (task?.state === 'failed') return 'failed';
  return 'idle';
}

/** A download's progress; `goOn`: say that the next steps need not wait for it. */
export function Progress({ task, goOn = true }: { task: TaskInfo; goOn?: boolean }) {
  const pct =
    task.progress === null ? null : Math.round(Math.min(1, Math.max(0, task.progress)) * 1000) / 10;
  const done = task.bytesDone ?? 0;
  return (
    <div className="dl-progress" data-testid="download-progress">
      <div className="dl-progress__head">
        <h4>
          <span className="spinner spinner--small" /> Downloading…
        </h4>
        <span className="dl-progress__pct">{pct === null ? '' : `${pct.toFixed(0)}%`}</span>
        <button
          type="button"
          className="btn btn--compact"
          onClick={cancelDownload}
          disabled={!task.cancellable}
        >
          Cancel
        </button>
      </div>
      <div
        className={`progress progress--big${pct === null ? ' progress--indeterminate' : ''}`}
        role="progressbar"
        aria-label="Download"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
      >
        <span style={{ width: pct === null ? undefined : `${pct}%` }} />
      </div>
      <p className="dl-progress__facts" data-testid="download-facts">
        <span>
          {formatBytes(done)}
          {task.bytesTotal ? ` of ${formatBytes(task.bytesTotal)}` : ''}
        </span>
        {task.bytesPerSecond ? <span>{formatBytes(task.bytesPerSecond)}/s</span> : null}
        {task.etaSeconds !== null ? (
          <span>about {formatDuration(task.etaSeconds * 1000)} left</span>
        ) : null}
        {task.message ? <span>{task.message}</span> : null}
      </p>
      {goOn ? (
        <p className="muted dl-progress__note">
          You can go on to the next steps while it downloads.
        </p>
      ) : null}
    </div>
  );
}
