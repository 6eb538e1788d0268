import { useEffect, useRef, useState } from 'react';
import type { CachedMedia } from '../../../../../common/contract';
import { formatBytes } from '../../../../../common/format';
import { isGuestUp, isLive, isSaved } from '../../../../../common/vm-state';
import { savedRefusalMessage } from '../../../../../common/rules/vm-settings';
import { loadMedia } from '../../../actions/media';
import { ejectCd, insertCd, uploadIsoForCd } from '../../../actions/removable';
import { localFiles, pathForFile } from '../../../bridge';
import { Icon } from '../../../components/Icon';
import { useMediaStore } from '../../../stores/media';
import type { HardwarePanelProps } from './panel-props';
import './media.css';

/** The file's last path part: what a person calls an ISO they picked by path. */
function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** The media cache's name for an image (its original name), or the file's own. */
export function mediaName(path: string, cached: readonly CachedMedia[]): string {
  return cached.find((m) => m.file === path)?.filename ?? fileName(path);
}

/**
 * The VM's CD drive: the disc in it, Insert/Change (an ISO from the media cache, a path on the
 * host, or in a browser an upload to the cache) and Eject. While the VM runs the change goes into
 * the running guest at once; stopped, into its config; saved, refused (its saved state holds the
 * drive as it was).
 */
export default function CdromPanel({ vm, adding, onAddDone }: HardwarePanelProps) {
  const cachedState = useMediaStore((s) => s.cached);
  const cached = cachedState.status === 'ready' ? cachedState.value : [];
  const isos = cached.filter((m) => m.format === 'iso9660');
  const [choosingHere, setChoosing] = useState(false);
  // "Add hardware" opens the picker too, until it closes.
  const choosing = choosingHere || adding;
  const closePicker = (): void => {
    setChoosing(false);
    if (adding) onAddDone();
  };
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [upload, setUpload] = useState<{ name: string; sent: number; total: number } | null>(null);
  const abortUpload = useRef<(() => void) | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const state = vm.runtime.state;
  const medium = vm.config.cdrom;
  const live = isGuestUp(state);
  const locked = isSaved(state)
    ? savedRefusalMessage('media')
    : isLive(state) && !live
      ? `“${vm.config.name}” is ${state}: the CD changes once it runs or is stopped.`
      : null;

  useEffect(() => {
    if (useMediaStore.getState().cached.status === 'idle') void loadMedia();
  }, []);
  useEffect(() => () => abortUpload.current?.(), []);

  async function insert(file: string, label: string | null): Promise<void> {
    setBusy(file);
    setError(null);
    setNote(null);
    const r = await insertCd({ id: vm.id, name: vm.config.name }, file, label);
    setBusy(null);
    if (!r.ok) return setError(r.message);
    setNote(r.value.note);
    closePicker();
    setPath('');
  }

  async function eject(): Promise<void> {
    setBusy('eject');
    setError(null);
    setNote(null);
    const r = await ejectCd({ id: vm.id, name: vm.config.name });
    setBusy(null);
    if (!r.ok) return setError(r.message);
    setNote(r.value.note);
  }

  async function takeFile(file: File): Promise<void> {
    setError(null);
    if (localFiles() === 'path') {
      const local = pathForFile(file);
      if (local) await insert(local, file.name);
      return;
    }
    setUpload({ name: file.name, sent: 0, total: file.size });
    const handle = uploadIsoForCd(file, (p) =>
      setUpload({ name: file.name, sent: p.sent, total: p.total }),
    );
    abortUpload.current = handle.abort;
    const r = await handle.done;
    abortUpload.current = null;
    setUpload(null);
    if (!r.ok) return setError(r.message);
    await insert(r.value, file.name);
  }

  return (
    <div className="media-panel" data-testid="cdrom-panel">
      <header className="media-panel__head">
        <h2>CD/DVD drive</h2>
        <p className="muted">
          {live
            ? 'The guest runs: a disc you insert or eject changes in it at once, and stays for its next start.'
            : 'The disc in the drive when the VM starts. While it runs, you can change it here at once.'}
        </p>
      </header>

      {locked ? (
        <p className="callout callout--info" data-testid="cdrom-locked">
          <Icon name="lock" size={15} />
          <span>{locked}</span>
        </p>
      ) : null}

      <section className="card media-drive" aria-label="Disc in the drive">
        <Icon name="disk" size={22} />
        <div className="media-drive__text">
          {medium ? (
            <>
              <strong data-testid="cdrom-medium">{mediaName(medium, cached)}</strong>
              <span className="mono muted media-drive__path" title={medium}>
                {medium}
              </span>
            </>
          ) : (
            <>
              <strong data-testid="cdrom-medium">No disc</strong>
              <span className="muted">The drive is empty.</span>
            </>
          )}
        </div>
        <div className="media-drive__actions">
          <button
            type="button"
            className="btn btn--primary"
            data-testid="cdrom-choose"
            disabled={locked !== null || busy !== null}
            onClick={() => (choosing ? closePicker() : setChoosing(true))}
          >
            <Icon name="disk" size={15} />
            {medium ? 'Change disc…' : 'Insert disc…'}
          </button>
          {medium ? (
            <button
              type="button"
              className={`btn btn--secondary${busy === 'eject' ? ' btn--busy' : ''}`}
              data-testid="cdrom-eject"
              disabled={locked !== null || busy !== null}
              onClick={() => void eject()}
            >
              Eject
            </button>
          ) : null}
        </div>
      </section>

      {error ? (
        <p className="callout callout--error" role="alert" data-testid="cdrom-error">
          <Icon name="alert" size={15} />
          <span>{error}</span>
        </p>
      ) : null}
      {note ? (
        <p className="callout callout--info" data-testid="cdrom-note">
          <Icon name="info" size={15} />
          <span>{note}</span>
        </p>
      ) : null}

      {choosing && locked === null ? (
        <section
          className="card media-choose"
          aria-label="Choose a disc"
          data-testid="cdrom-picker"
        >
          <h3>Choose a disc</h3>
          {isos.length > 0 ? (
            <ul className="media-choose__list" aria-label="ISO images in the media cache">
              {isos.map((m) => (
                <li key={m.sha256}>
                  <button
                    type="button"
                    className="media-choose__item"
                    data-testid="cdrom-cached"
                    disabled={busy !== null || m.file === medium}
                    onClick={() => void insert(m.file, m.filename)}
                  >
                    <Icon name="disk" size={16} />
                    <span>
                      <strong>{m.filename}</strong>
                      <span className="muted">
                        {formatBytes(m.bytes)}
                        {m.file === medium ? ' · in the drive' : ''}
                      </span>
                    </span>
                    {busy === m.file ? <span className="spinner spinner--small" /> : null}
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No ISO images in the media cache yet.</p>
          )}
          <form
            className="media-choose__path"
            onSubmit={(e) => {
              e.preventDefault();
              if (path.trim()) void insert(path.trim(), fileName(path.trim()));
            }}
          >
            <label className="field">
              <span className="field__label">
                An ISO on {localFiles() === 'path' ? 'this computer' : 'the server'}
              </span>
              <input
                className="mono"
                data-testid="cdrom-path"
                placeholder="/path/to/disc.iso"
                value={path}
                onChange={(e) => setPath(e.target.value)}
              />
            </label>
            <button
              type="submit"
              className={`btn btn--primary${busy === path.trim() ? ' btn--busy' : ''}`}
              data-testid="cdrom-insert-path"
              disabled={busy !== null || path.trim() === ''}
            >
              Insert
            </button>
          </form>
          <div className="media-choose__upload">
            <input
              ref={fileInput}
              type="file"
              accept=".iso,application/x-iso9660-image"
              hidden
              data-testid="cdrom-file"
              onChange={(e) => {
                const f = e.target.files?.[0];
                e.target.value = '';
                if (f) void takeFile(f);
              }}
            />
            <button
              type="button"
              className="btn btn--ghost"
              disabled={busy !== null || upload !== null}
              onClick={() => fileInput.current?.click()}
            >
              <Icon name="folder" size={15} />
              {localFiles() === 'path' ? 'Choose an ISO file…' : 'Upload an ISO…'}
            </button>
            {upload ? (
              <span className="media-choose__progress" data-testid="cdrom-upload">
                <progress value={upload.sent} max={upload.total || 1} />
                <span className="muted">
                  {upload.name}: {formatBytes(upload.sent)} of {formatBytes(upload.total)}
                </span>
                <button
                  type="button"
                  className="btn btn--ghost btn--small"
                  onClick={() => abortUpload.current?.()}
                >
                  Cancel
                </button>
              </span>
            ) : null}
          </div>
          <div className="media-choose__foot">
            <button type="button" className="btn btn--ghost" onClick={closePicker}>
              Close
            </button>
          </div>
        </section>
      ) : null}
    </div>
  );
}
