import { useEffect, useId, useRef, useState } from 'react';
import type { CachedMedia, DetectionCandidate, MediaDetection } from '../../../../preload/contract';
import {
  applyCandidate,
  detectIso,
  pathFromDrop,
  pickFromCatalog,
  setIsoPath,
} from '../../actions/wizard';
import { Icon } from '../../components/Icon';
import { formatBytes, timeAgo } from '../../lib/format';
import { CONFIDENCE, fileName } from '../lib';
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

/** The path field inside a drop target; checks the file after a pause in typing. */
export function IsoDropZone({ compact = false }: { compact?: boolean }) {
  const { s } = useWizard();
  const id = useId();
  const [over, setOver] = useState(false);
  const [dropNote, setDropNote] = useState<string | null>(null);
  const first = useRef(true);
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
        const path = pathFromDrop(e.dataTransfer);
        if (path) {
          setDropNote(null);
          setIsoPath(path);
        } else {
          const name = e.dataTransfer.files[0]?.name;
          setDropNote(
            `${name ? `“${name}”: t` : 'T'}he browser does not say where a dropped file lives. Type or paste its full path instead (for example from your file manager’s “Copy path”).`,
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
          <p>or type its full path on the computer that runs Vivarium</p>
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
          onChange={(e) => setIsoPath(e.target.value)}
        />
        <button type="submit" className="btn btn--compact" disabled={!s.isoPath.trim()}>
          Check
        </button>
      </form>
      {dropNote ? <p className="dropzone__note">{dropNote}</p> : null}
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
            {best.arch ? <span className="muted"> · {best.arch}</span> : null}
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
      <h4>Already downloaded</h4>
      <ul>
        {media.map((m) => (
          <li key={m.sha256}>
            <button
              type="button"
              className={`cached__item${s.isoPath.trim() === m.file ? ' is-selected' : ''}`}
              onClick={() => setIsoPath(m.file)}
            >
              <Icon name="disk" size={16} />
              <span className="cached__name mono">{m.filename}</span>
              <span className="muted">
                {formatBytes(m.bytes)} · {timeAgo(m.addedAt)}
              </span>
              {m.verified !== 'none' ? <span className="chip chip--good">verified</span> : null}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
