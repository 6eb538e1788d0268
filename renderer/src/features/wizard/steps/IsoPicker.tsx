import { useEffect, useId, useRef, useState } from 'react';
import type {
  CachedMedia,
  DetectionCandidate,
  MediaDetection,
} from '../../../../../common/contract';
import { applyCandidate, detectIso, pathFromDrop, setIsoPath } from '../../../actions/wizard/iso';
import { pickFromCatalog } from '../../../actions/wizard/source';
import { goToStep } from '../../../actions/wizard/steps';
import { ARCH_LABELS } from '../../../../../common/arch';
import { cdromDisplayName } from '../../../../../common/media-names';
import { cancelUpload, takeIsoFile } from '../../../actions/wizard/upload';
import { localFiles } from '../../../bridge';
import { Icon } from '../../../components/Icon';
import { formatBytes, formatDuration, timeAgo } from '../../../../../common/format';
import type { IsoUpload } from '../../../stores/wizard';
import { CONFIDENCE, fileName } from '../lib';
import { uploadPercent, uploadRunning } from '../model';
import { OsLogo } from '../OsLogo';
import { useWizard } from '../use-wizard';

/** Step 1 from a file: drop or type a path, see what it is, or pick media already downloaded. */
export function IsoPicker() {
  const { s } = useWizard();
  return (
    <div className="iso-picker">
      <IsoDropZone />
      <DetectionCard choose />
      {s.cached.status === 'ready' && s.cached.value.length > 0 ? (
        <CachedList media={s.cached.value} />
      ) : null}
    </div>
  );
}

/**
 * The path field inside a drop target; checks the file after a pause in typing. In a browser
 * (server mode) a dropped or chosen file is uploaded to the server's media cache; in Electron a
 * dropped file is used where it is.
 */
export function IsoDropZone({ compact = false }: { compact?: boolean }) {
  const { s } = useWizard();
  const id = useId();
  const [over, setOver] = useState(false);
  const [dropNote, setDropNote] = useState<string | null>(null);
  const first = useRef(true);
  const uploads = localFiles() === 'upload';
  const busy = uploadRunning(s);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      // Coming back to the step: check a path typed earlier if it was never checked.
      if (s.isoPath.trim()) void detectIso();
      return;
    }
    const t = setTimeout(() => void detectIso(), 450);
    return () => clearTimeout(t);
  }, [s.isoPath]);

  return (
    <div
      className={`dropzone${over ? ' is-over' : ''}${compact ? ' dropzone--compact' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const file = e.dataTransfer.files.item(0);
        if (file && !busy && takeIsoFile(file)) {
          setDropNote(null);
          return;
        }
        const path = busy ? null : pathFromDrop(e.dataTransfer);
        if (path) {
          setDropNote(null);
          setIsoPath(path);
        } else if (busy) {
          setDropNote('An upload is running: cancel it first to send another file.');
        } else {
          const name = file?.name;
          setDropNote(
            `${name ? `“${name}”: t` : 'T'}he app could not tell where the dropped file lives. Type or paste its full path instead (for example from your file manager’s “Copy path”).`,
          );
        }
      }}
    >
      {compact ? null : (
        <div className="dropzone__art" aria-hidden="true">
          <Icon name="disk" size={26} />
        </div>
      )}
      {compact ? null : (
        <div className="dropzone__text">
          <h4>Drop an ISO file here</h4>
          <p>
            {uploads
              ? 'to upload it from this computer, or type its full path on the computer that runs Vivarium'
              : 'or type its full path on the computer that runs Vivarium'}
          </p>
        </div>
      )}
      <form
        className="pathrow"
        onSubmit={(e) => {
          e.preventDefault();
          void detectIso();
        }}
      >
        <label htmlFor={`${id}-iso`} className="visually-hidden">
          ISO file path
        </label>
        <Icon name="folder" size={16} />
        <input
          id={`${id}-iso`}
          className="mono"
          value={s.isoPath}
          placeholder="/home/me/Downloads/debian-13.1.0-amd64-netinst.iso"
          spellCheck={false}
          autoComplete="off"
          autoFocus={!compact}
          readOnly={busy}
          onChange={(e) => setIsoPath(e.target.value)}
        />
        <button type="submit" className="btn btn--compact" disabled={!s.isoPath.trim() || busy}>
          Check
        </button>
      </form>
      <FileChooser uploads={uploads} busy={busy} compact={compact} />
      {dropNote ? <p className="dropzone__note">{dropNote}</p> : null}
      {uploads && s.upload ? <UploadCard upload={s.upload} isoPath={s.isoPath.trim()} /> : null}
    </div>
  );
}

/**
 * A file input behind a button-styled label: "Upload an ISO from this computer" in a browser;
 * in Electron "Choose an ISO file…", used where it is.
 */
function FileChooser({
  uploads,
  busy,
  compact,
}: {
  uploads: boolean;
  busy: boolean;
  compact: boolean;
}) {
  const id = useId();
  return (
    <div className={`upload-choose${compact ? ' upload-choose--compact' : ''}`}>
      {compact ? null : <span className="upload-choose__or">or</span>}
      <input
        id={`${id}-file`}
        className="visually-hidden"
        type="file"
        accept=".iso,.img,application/x-iso9660-image"
        disabled={busy}
        data-testid="iso-upload-input"
        onChange={(e) => {
          const file = e.target.files?.item(0);
          // Cleared, so choosing the same file again (after a cancel) uploads it again.
          e.target.value = '';
          if (file) takeIsoFile(file);
        }}
      />
      <label
        htmlFor={`${id}-file`}
        className={`btn btn--compact upload-choose__btn${busy ? ' is-disabled' : ''}`}
        aria-disabled={busy}
      >
        {uploads ? (
          <>
            <Icon name="forward" size={14} className="wicon-up" />
            Upload an ISO from this computer
          </>
        ) : (
          <>
            <Icon name="folder" size={14} />
            Choose an ISO file…
          </>
        )}
      </label>
      {compact && uploads ? (
        <span className="muted upload-choose__hint">
          or drop it here; it goes to the media cache
        </span>
      ) : null}
    </div>
  );
}

/** Progress with Cancel while the file goes; then where it landed, or what went wrong. */
function UploadCard({ upload, isoPath }: { upload: IsoUpload; isoPath: string }) {
  if (upload.status === 'sending' || upload.status === 'storing') {
    const pct = uploadPercent(upload);
    const speed = upload.bytesPerSecond;
    const left = speed ? (upload.bytesTotal - upload.bytesSent) / speed : null;
    const storing = upload.status === 'storing';
    return (
      <div className="dl-card dl-card--running upload-card" data-testid="upload-progress">
        <div className="dl-progress">
          <div className="dl-progress__head">
            <h4>
              <span className="spinner spinner--small" />
              {storing ? 'Checking' : 'Uploading'}
              <span className="mono upload-card__name" title={upload.name}>
                {upload.name}
              </span>
            </h4>
            <span className="dl-progress__pct">{pct}%</span>
            <button
              type="button"
              className="btn btn--compact"
              onClick={cancelUpload}
              disabled={storing}
            >
              Cancel
            </button>
          </div>
          <div
            className="progress progress--big"
            role="progressbar"
            aria-label="Upload"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct}
          >
            <span style={{ width: `${pct}%` }} />
          </div>
          <p className="dl-progress__facts" data-testid="upload-facts">
            <span>
              {formatBytes(upload.bytesSent)} of {formatBytes(upload.bytesTotal)}
            </span>
            {storing ? (
              <span>Received: the server is hashing it and reading what it is</span>
            ) : (
              <>
                {speed ? <span>{formatBytes(speed)}/s</span> : null}
                {left !== null && left >= 1 ? (
                  <span>about {formatDuration(left * 1000)} left</span>
                ) : null}
              </>
            )}
          </p>
          <p className="muted dl-progress__note">
            It goes to the media cache of the computer that runs Vivarium.
          </p>
        </div>
      </div>
    );
  }
  if (upload.status === 'done') {
    // Once the user types another path, this upload is no longer the choice.
    if (upload.file !== isoPath) return null;
    return (
      <div className="dl-card dl-card--ready upload-card" data-testid="upload-done">
        <div className="dl-card__ready">
          <span className="dl-card__badge dl-card__badge--good">
            <Icon name="check" size={18} />
          </span>
          <div>
            <h4>{upload.reused ? 'Already on the server' : 'Uploaded'}</h4>
            <p className="muted">
              {upload.reused
                ? 'The media cache already held this image, so nothing new was stored: '
                : `${formatBytes(upload.bytesTotal)} stored in the media cache as `}
              <span className="mono dl-card__file" title={upload.file}>
                {fileName(upload.file)}
              </span>
            </p>
          </div>
        </div>
      </div>
    );
  }
  return (
    <div
      className={`dl-card upload-card${upload.status === 'failed' ? ' dl-card--failed' : ''}`}
      data-testid="upload-stopped"
    >
      {upload.status === 'failed' ? (
        <p className="dl-card__error" role="alert">
          <Icon name="alert" size={14} />
          {upload.name}: {upload.error ?? 'the upload failed.'}
        </p>
      ) : (
        <p className="muted">Upload of {upload.name} cancelled: nothing was kept.</p>
      )}
    </div>
  );
}

/**
 * What media.detect found: the best match and how sure, the ISO's facts, other candidates.
 * `choose` lets the user pick another candidate (step 1); otherwise it compares with the OS
 * chosen in the catalogue (step 2).
 */
export function DetectionCard({ choose = false }: { choose?: boolean }) {
  const { s, d } = useWizard();
  const det = s.detection;
  if (!det || det.file !== s.isoPath.trim()) return null;
  if (det.state.status === 'loading') {
    return (
      <div className="detect detect--loading" role="status">
        <span className="spinner spinner--small" />
        Reading {fileName(det.file)}…
      </div>
    );
  }
  if (det.state.status === 'error') {
    return (
      <div className="callout callout--error" role="alert">
        <Icon name="alert" size={15} />
        <span>
          {det.state.message} Check the path: the file must exist on the computer that runs Vivarium
          and be readable by it.
        </span>
      </div>
    );
  }
  if (det.state.status !== 'ready') return null;
  const m = det.state.value;
  const best = m.best;
  const conf = CONFIDENCE[best.confidence];
  const chosen = (c: DetectionCandidate) =>
    s.osId === c.os && (c.version === null || s.versionId === c.version);
  const entry = s.entries[best.os];
  const logo = entry?.status === 'ready' ? entry.value : null;
  const mismatch =
    !choose && s.osId !== null && best.confidence !== 'none' && best.os !== s.osId ? best : null;
  const key = (c: DetectionCandidate) => `${c.os}@${c.version ?? ''}`;
  const others = m.candidates.filter((c) => key(c) !== key(best));
  return (
    <div className={`detect detect--${conf.tone}`} data-testid="detection">
      <div className="detect__main">
        {logo ? (
          <OsLogo logo={logo.logo} family={logo.family} size={44} />
        ) : (
          <OsLogo logo="generic" family="other" size={44} />
        )}
        <div className="detect__what">
          <p className="detect__eyebrow">
            {best.confidence === 'none' ? 'The VM will use' : 'Detected'}
          </p>
          <h4>
            {best.confidence === 'none' ? 'Generic / other OS' : (best.versionName ?? best.name)}
            {m.arch ? (
              <span className="muted" data-testid="detection-arch">
                {' '}
                · {m.arch}
              </span>
            ) : null}
          </h4>
          <p className="detect__explain">{conf.explain}</p>
        </div>
        <span className={`chip chip--${conf.tone}`} data-testid="detection-confidence">
          <span className="chip__dot" />
          {conf.label}
        </span>
      </div>
      <IsoFacts m={m} reason={best.reason} />
      {mismatch ? (
        <p className="detect__mismatch">
          <Icon name="alert" size={14} />
          This image looks like {mismatch.versionName ?? mismatch.name}, not {d.osName}.
          <button type="button" className="link-btn" onClick={() => void applyCandidate(mismatch)}>
            Use {mismatch.name}’s profile
          </button>
        </p>
      ) : null}
      {choose ? (
        <div className="detect__others">
          {others.length > 0 ? (
            <>
              <span className="muted">Not right? It could also be:</span>
              {others.slice(0, 6).map((c) => (
                <button
                  key={key(c)}
                  type="button"
                  className={`fchip${chosen(c) ? ' is-on' : ''}`}
                  aria-pressed={chosen(c)}
                  onClick={() => void applyCandidate(c)}
                >
                  {c.versionName ?? c.name}
                </button>
              ))}
              {!chosen(best) ? (
                <button type="button" className="fchip" onClick={() => void applyCandidate(best)}>
                  Back to {best.versionName ?? best.name}
                </button>
              ) : null}
            </>
          ) : (
            <span className="muted">Not right?</span>
          )}
          <button type="button" className="link-btn" onClick={pickFromCatalog}>
            Pick the OS from the catalogue
            <Icon name="forward" size={13} />
          </button>
        </div>
      ) : null}
    </div>
  );
}

function IsoFacts({ m, reason }: { m: MediaDetection; reason: string }) {
  const boots = m.iso?.elTorito
    ? [m.iso.elTorito.bios ? 'BIOS' : null, m.iso.elTorito.uefi ? 'UEFI' : null]
        .filter(Boolean)
        .join(' and ') || 'no boot entry'
    : m.iso
      ? 'not bootable (no El Torito record)'
      : null;
  return (
    <dl className="detect__facts">
      <div>
        <dt>File</dt>
        <dd className="mono" title={m.file}>
          {fileName(m.file)}
        </dd>
      </div>
      <div>
        <dt>Size</dt>
        <dd>{formatBytes(m.sizeBytes)}</dd>
      </div>
      {m.iso ? (
        <div>
          <dt>Volume id</dt>
          <dd className="mono">{m.iso.jolietVolumeId ?? m.iso.volumeId}</dd>
        </div>
      ) : (
        <div>
          <dt>Format</dt>
          <dd>{m.format === 'unknown' ? 'Not an ISO 9660 image' : m.format}</dd>
        </div>
      )}
      {boots ? (
        <div>
          <dt>Boots with</dt>
          <dd>{boots}</dd>
        </div>
      ) : null}
      {m.iso ? (
        <div className="detect__reason">
          <dt>Architecture</dt>
          <dd>
            {m.iso.architectures.length
              ? m.iso.architectures.map((a) => ARCH_LABELS[a]).join(', ')
              : 'Not told by its boot files'}
            {m.iso.archEvidence[0] ? (
              <span className="muted"> · {m.iso.archEvidence[0].reason}</span>
            ) : null}
          </dd>
        </div>
      ) : null}
      <div className="detect__reason">
        <dt>Why</dt>
        <dd>{reason}</dd>
      </div>
    </dl>
  );
}

function CachedList({ media }: { media: CachedMedia[] }) {
  const { s } = useWizard();
  return (
    <section className="cached">
      <h4>
        {media.some((m) => m.url === '') ? 'Already in the media cache' : 'Already downloaded'}
      </h4>
      <ul>
        {media.map((m) => (
          <li key={m.sha256}>
            <button
              type="button"
              className={`cached__item${s.isoPath.trim() === m.file ? ' is-selected' : ''}`}
              onClick={() => setIsoPath(m.file)}
            >
              <Icon name="disk" size={16} />
              <span className="cached__name mono">{m.displayName}</span>
              <span className="muted">
                {formatBytes(m.bytes)} · {timeAgo(m.addedAt)}
              </span>
              {m.arch && m.arch !== 'x86_64' ? <span className="chip">{m.arch}</span> : null}
              {m.verified !== 'none' ? (
                <span className="chip chip--good">verified</span>
              ) : m.url === '' ? (
                <span className="chip">uploaded</span>
              ) : null}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The image chosen in step 1, in one line (step 2 from an ISO), with the way back to change it. */
export function ChosenIso() {
  const { s } = useWizard();
  const path = s.isoPath.trim();
  const det =
    s.detection?.file === path && s.detection.state.status === 'ready'
      ? s.detection.state.value
      : null;
  const uploaded = s.upload?.status === 'done' && s.upload.file === path;
  const name =
    cdromDisplayName(path, s.cached.status === 'ready' ? s.cached.value : []) ?? fileName(path);
  return (
    <div className="chosen-iso" data-testid="chosen-iso">
      <Icon name="disk" size={18} />
      <div className="chosen-iso__text">
        <span className="mono chosen-iso__name" title={path}>
          {name}
        </span>
        <span className="muted">
          {uploaded ? 'Uploaded' : 'On the computer that runs Vivarium'}
          {det && det.best.confidence !== 'none'
            ? ` · detected ${det.best.versionName ?? det.best.name}`
            : ''}
        </span>
      </div>
      <button type="button" className="btn btn--compact" onClick={() => goToStep('os')}>
        Change…
      </button>
    </div>
  );
}
