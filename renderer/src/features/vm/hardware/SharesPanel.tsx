import { useEffect, useId, useState } from 'react';
import type { ShareList } from '../../../../../common/contract';
import {
  SHARE_MODES,
  SHARE_MODE_LABELS,
  sharePathProblem,
  shareReadOnlyProblem,
  shareTagProblem,
  tagFromPath,
  type ShareMode,
} from '../../../../../common/rules/shares';
import { addShare, loadShares, removeShare } from '../../../actions/shares';
import { CopyCommand } from '../../../components/CopyCommand';
import { Icon } from '../../../components/Icon';
import type { HardwarePanelProps } from './panel-props';
import './shares.css';

interface Draft {
  path: string;
  tag: string;
  readOnly: boolean;
  mode: ShareMode;
}

const EMPTY: Draft = { path: '', tag: '', readOnly: false, mode: '9p' };

/**
 * The VM's shared folders: each with its mode, whether the guest may write, and the one line the
 * guest runs to mount it (with a Copy button); a form to add one while the VM is shut down, with
 * the modes this computer cannot offer shown disabled and why.
 */
export default function SharesPanel({ vm, active, adding, onAddDone }: HardwarePanelProps) {
  const id = useId();
  const [list, setList] = useState<ShareList | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [opened, setOpen] = useState(false);
  // "Add hardware" -> Shared folders opens the form until it closes (onAddDone clears `adding`).
  const open = (opened || adding) && (list?.locked ?? null) === null;
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const state = vm.runtime.state;
  const configKey = JSON.stringify(vm.config.shares);

  useEffect(() => {
    if (!active) return;
    let live = true;
    void loadShares(vm.id).then((r) => {
      if (!live) return;
      if (r.ok) {
        setList(r.value);
        setLoadError(null);
      } else setLoadError(r.message);
    });
    return () => {
      live = false;
    };
  }, [vm.id, active, state, configKey]);

  const close = () => {
    setOpen(false);
    setDraft(EMPTY);
    setTried(false);
    setError(null);
    onAddDone();
  };

  const locked = list?.locked ?? null;
  const tag = draft.tag.trim() || (draft.path ? tagFromPath(draft.path) : '');
  const problems = {
    path: draft.path.trim()
      ? sharePathProblem(draft.path.trim(), draft.mode)
      : 'Give the folder on this computer to share',
    tag: shareTagProblem(tag),
    readOnly: shareReadOnlyProblem(draft.mode, draft.readOnly),
  };
  const shown = tried ? problems : { path: null, tag: null, readOnly: null };
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setError(null);
    setDraft((d) => ({ ...d, [key]: value }));
  };

  const submit = () => {
    setTried(true);
    if (problems.path || problems.tag || problems.readOnly) return;
    setBusy(true);
    setError(null);
    void addShare({
      vm: vm.id,
      path: draft.path.trim(),
      ...(draft.tag.trim() ? { tag: draft.tag.trim() } : {}),
      readOnly: draft.readOnly,
      mode: draft.mode,
    }).then((r) => {
      setBusy(false);
      if (!r.ok) {
        setError(r.message);
        return;
      }
      setList(r.value);
      close();
    });
  };

  const remove = (t: string) => {
    setRemoving(t);
    void removeShare(vm.id, t).then((r) => {
      setRemoving(null);
      if (r.ok) setList(r.value);
      else setLoadError(r.message);
    });
  };

  return (
    <div className="shares" data-testid="shares-panel">
      <div className="shares__head">
        <div>
          <h2>Shared folders</h2>
          <p className="muted">
            Folders of this computer the guest mounts: 9p for Linux guests, SMB for Windows guests
            (through the NAT card), virtiofs where virtiofsd can run.
          </p>
        </div>
        {!open ? (
          <button
            type="button"
            className="btn btn--primary"
            data-testid="share-add-open"
            disabled={locked !== null}
            title={locked ?? undefined}
            onClick={() => setOpen(true)}
          >
            <Icon name="plus" size={15} />
            Share a folder
          </button>
        ) : null}
      </div>

      {locked ? (
        <p className="callout callout--info" data-testid="shares-locked">
          <Icon name="lock" size={15} />
          <span>{locked}</span>
        </p>
      ) : null}
      {loadError ? (
        <p className="callout callout--error" role="alert">
          <Icon name="alert" size={15} />
          <span>{loadError}</span>
        </p>
      ) : null}

      {open ? (
        <form
          className="card shares__form"
          data-testid="share-form"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <h3 className="card__title">Share a folder</h3>
          <div className={`field${shown.path ? ' field--error' : ''}`}>
            <label htmlFor={`${id}-path`}>
              <Icon name="folder" size={14} />
              Folder on this computer
            </label>
            <input
              id={`${id}-path`}
              className="mono"
              data-testid="share-path"
              placeholder="/home/you/projects"
              value={draft.path}
              onChange={(e) => set('path', e.target.value)}
              autoFocus
            />
            {shown.path ? (
              <p className="field__error" role="alert">
                {shown.path}
              </p>
            ) : (
              <p className="field__hint">An absolute path; it must exist and be a folder.</p>
            )}
          </div>
          <div className={`field${shown.tag ? ' field--error' : ''}`}>
            <label htmlFor={`${id}-tag`}>Tag (the word the guest mounts it by)</label>
            <input
              id={`${id}-tag`}
              className="mono"
              data-testid="share-tag"
              placeholder={draft.path ? tagFromPath(draft.path) : 'share'}
              value={draft.tag}
              onChange={(e) => set('tag', e.target.value)}
            />
            {shown.tag ? (
              <p className="field__error" role="alert">
                {shown.tag}
              </p>
            ) : null}
          </div>
          <fieldset className="shares__modes">
            <legend className="field__label">How the guest reaches it</legend>
            {SHARE_MODES.map((m) => {
              const avail = list?.modes.find((x) => x.mode === m);
              const off = avail ? !avail.ok : false;
              return (
                <label
                  key={m}
                  className={`shares__mode${draft.mode === m ? ' is-on' : ''}${off ? ' is-off' : ''}`}
                  data-testid={`share-mode-${m}`}
                >
                  <input
                    type="radio"
                    name={`${id}-mode`}
                    value={m}
                    checked={draft.mode === m}
                    disabled={off}
                    onChange={() => set('mode', m)}
                  />
                  <span className="shares__mode-name">{SHARE_MODE_LABELS[m]}</span>
                  {off && avail?.reason ? (
                    <span className="shares__mode-why">{avail.reason}</span>
                  ) : null}
                </label>
              );
            })}
          </fieldset>
          <label className="check">
            <input
              type="checkbox"
              data-testid="share-readonly"
              checked={draft.readOnly}
              onChange={(e) => set('readOnly', e.target.checked)}
            />
            Read-only: the guest may read the folder but not change it
          </label>
          {shown.readOnly ? (
            <p className="field__error" role="alert">
              {shown.readOnly}
            </p>
          ) : null}
          {error ? (
            <p className="field__error" role="alert" data-testid="share-error">
              {error}
            </p>
          ) : null}
          <div className="shares__actions">
            <button type="button" className="btn" onClick={close}>
              Cancel
            </button>
            <button
              type="submit"
              className="btn btn--primary"
              data-testid="share-submit"
              disabled={busy}
            >
              {busy ? <span className="spinner spinner--small" /> : <Icon name="check" size={14} />}
              Share
            </button>
          </div>
        </form>
      ) : null}

      {list && list.shares.length === 0 && !open ? (
        <div className="empty shares__empty">
          <h3>No shared folders</h3>
          <p>Share a folder to reach files of this computer from the guest.</p>
        </div>
      ) : null}

      <ul className="shares__list">
        {(list?.shares ?? []).map((s) => (
          <li key={s.config.tag} className="card share" data-testid={`share-${s.config.tag}`}>
            <div className="share__head">
              <Icon name="folder" size={18} />
              <div className="share__title">
                <strong className="mono">{s.config.tag}</strong>
                <span className="mono share__path" title={s.config.path}>
                  {s.config.path}
                </span>
              </div>
              <span className="chip">{s.config.mode}</span>
              <span className={`chip${s.config.readOnly ? '' : ' chip--good'}`}>
                {s.config.readOnly ? 'Read-only' : 'Read-write'}
              </span>
              <button
                type="button"
                className="icon-btn"
                aria-label={`Stop sharing ${s.config.tag}`}
                title={locked ?? `Stop sharing ${s.config.tag} (the folder itself stays)`}
                disabled={locked !== null || removing === s.config.tag}
                onClick={() => remove(s.config.tag)}
              >
                <Icon name="trash" size={15} />
              </button>
            </div>
            <p className="share__label">In the guest, as root:</p>
            <CopyCommand text={s.mountLine} label={`Mount command for ${s.config.tag}`} />
            {s.fstabLine ? (
              <details className="share__more">
                <summary>Mount it at every boot (/etc/fstab)</summary>
                <CopyCommand text={s.fstabLine} label={`fstab line for ${s.config.tag}`} />
              </details>
            ) : null}
            <p className="field__hint">{s.guestNeeds}</p>
            {s.problem ? (
              <p className="callout callout--error" data-testid="share-problem">
                <Icon name="alert" size={15} />
                <span>{s.problem}</span>
              </p>
            ) : null}
          </li>
        ))}
      </ul>
      {list && list.shares.some((s) => s.config.mode === '9p') ? (
        <p className="muted shares__note">
          While the guest has a 9p folder mounted, QEMU 7.2 cannot take a live snapshot or save the
          VM: unmount it first (or shut the VM down).
        </p>
      ) : null}
    </div>
  );
}
