import { useEffect, useId, useState } from 'react';
import type {
  DiskBus,
  DiskCache,
  DiskConfig,
  DiskInfo,
  VmSummary,
} from '../../../../../common/contract';
import { formatBytes, plural } from '../../../../../common/format';
import { DISK_BUS_LABELS, DISK_CACHE_LABELS, DISK_CACHE_NOTES } from '../../../../../common/labels';
import {
  canAddDisk,
  canChangeDisk,
  canDetachDisk,
  canImportDisk,
  canResizeDisk,
  hotplugProblem,
  type DiskRuleVm,
  type DiskVerdict,
} from '../../../../../common/rules/disks';
import { isLive } from '../../../../../common/vm-state';
import {
  addDisk,
  detachDisk,
  importDisk,
  loadDisks,
  resizeDisk,
  updateDisk,
} from '../../../actions/disks';
import { Icon } from '../../../components/Icon';
import { Modal } from '../../../components/Modal';
import { useDisksStore } from '../../../stores/disks';
import { useTasksStore } from '../../../stores/tasks';
import type { HardwarePanelProps } from './panel-props';
import './disks.css';

const DISK_BUSES = Object.keys(DISK_BUS_LABELS) as DiskBus[];
const DISK_CACHES = Object.keys(DISK_CACHE_LABELS) as DiskCache[];

function ruleVm(vm: VmSummary): DiskRuleVm {
  return {
    machine: vm.config.machine,
    layout: vm.config.layout,
    disks: vm.config.disks,
    state: vm.runtime.state,
  };
}

function why(v: DiskVerdict): string | null {
  return v.ok ? null : v.reason;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function size(n: number | null): string {
  return n === null ? '?' : formatBytes(n);
}

/**
 * The VM's disks: each with its file, bus, cache mode, sizes (virtual and used on this computer),
 * backing file and snapshots inside; Add (new or existing), Import, Grow, Detach, bus and cache
 * mode. Every action is immediate (no draft): what the state does not allow is shown with the
 * engine's own reason (common/rules/disks.ts).
 */
export default function DisksPanel({ vm, active, adding, onAddDone }: HardwarePanelProps) {
  const entry = useDisksStore((s) => s.byVm[vm.id]);
  const disksKey = JSON.stringify(vm.config.disks);
  const state = vm.runtime.state;
  const [importing, setImporting] = useState(false);
  const [addingOpen, setAddingOpen] = useState(false);
  const importTask = useTasksStore((s) =>
    Object.values(s.tasks)
      .filter((t) => t.kind === 'disk.import' && t.vmId === vm.id)
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .find((t) => !s.hidden.includes(t.id)),
  );

  // The sizes come from the host's files: read again when the disks or the state change.
  useEffect(() => {
    if (active) void loadDisks(vm.id);
  }, [active, vm.id, disksKey, state]);
  const importDone = importTask?.state === 'succeeded';
  useEffect(() => {
    if (importDone) void loadDisks(vm.id);
  }, [importDone, vm.id]);

  const rv = ruleVm(vm);
  const addWhy = why(canAddDisk(rv, isLive(state) ? 'virtio' : 'sata'));
  const importWhy = why(canImportDisk(rv, isLive(state) ? 'virtio' : 'sata'));
  const storage = entry?.storage ?? null;
  const infos = new Map((storage?.disks ?? []).map((d) => [d.id, d]));
  const totalVirtual = storage?.disks.reduce((n, d) => n + (d.virtualSize ?? 0), 0) ?? 0;
  const totalUsed = storage?.disks.reduce((n, d) => n + (d.actualSize ?? 0), 0) ?? 0;

  return (
    <div className="disks" data-testid="disks-panel">
      <header className="disks__head">
        <div>
          <h2 className="disks__title">
            <Icon name="disk" size={18} /> Disks
          </h2>
          <p className="muted disks__sum" data-testid="disks-summary">
            {vm.config.disks.length === 0
              ? 'No disks.'
              : `${plural(vm.config.disks.length, 'disk')} · ${formatBytes(totalVirtual)} for the guest · ${formatBytes(totalUsed)} used on this computer`}
          </p>
        </div>
        <div className="disks__actions">
          <button
            type="button"
            className="btn"
            data-testid="disk-import"
            disabled={importWhy !== null}
            title={importWhy ?? 'Copy a qcow2, raw, VMDK, VDI, VHDX or VHD image in as a new qcow2'}
            onClick={() => setImporting(true)}
          >
            <Icon name="download" size={15} /> Import image…
          </button>
          <button
            type="button"
            className="btn btn--primary"
            data-testid="disk-add"
            disabled={addWhy !== null}
            title={addWhy ?? undefined}
            onClick={() => setAddingOpen(true)}
          >
            <Icon name="plus" size={15} /> Add disk
          </button>
        </div>
      </header>

      <StateNote vm={vm} />
      {entry?.error ? (
        <p className="callout callout--error">
          <Icon name="alert" size={15} />
          <span>{entry.error}</span>
        </p>
      ) : null}
      {importTask && importTask.state !== 'succeeded' ? <ImportProgress task={importTask} /> : null}

      {vm.config.disks.length === 0 ? (
        <div className="disks__empty card">
          <p>
            This VM has no disk. Add one to install a system on it, or import an existing image.
          </p>
        </div>
      ) : (
        <ul className="disks__list">
          {vm.config.disks.map((d) => (
            <li key={d.id}>
              <DiskCard vm={vm} disk={d} info={infos.get(d.id) ?? null} />
            </li>
          ))}
        </ul>
      )}

      {adding || addingOpen ? (
        <AddDiskDialog
          vm={vm}
          onClose={() => {
            setAddingOpen(false);
            onAddDone();
          }}
        />
      ) : null}
      {importing ? <ImportDialog vm={vm} onClose={() => setImporting(false)} /> : null}
    </div>
  );
}

/** What the VM's state allows, said once above the list. */
function StateNote({ vm }: { vm: VmSummary }) {
  const state = vm.runtime.state;
  const changeWhy = why(canChangeDisk(ruleVm(vm)));
  if (state === 'saved' || (changeWhy && !isLive(state))) {
    return (
      <p className="callout callout--info" data-testid="disks-state-note">
        <Icon name="info" size={15} />
        <span>{changeWhy}</span>
      </p>
    );
  }
  if (!isLive(state)) return null;
  const hot = hotplugProblem(vm.config, 'virtio');
  return (
    <p className="callout callout--info" data-testid="disks-state-note">
      <Icon name="info" size={15} />
      <span>
        {hot ??
          'The VM is running: VirtIO and SCSI disks are plugged in and out live (the guest must let go of a disk it unplugs), and disks grow live. Bus and cache mode change with the VM shut down.'}
      </span>
    </p>
  );
}

function ImportProgress({
  task,
}: {
  task: {
    title: string;
    state: string;
    progress: number | null;
    message: string | null;
    error?: { message: string } | null;
  };
}) {
  const pct = task.progress === null ? null : Math.round(task.progress * 100);
  return (
    <div className="card disks__import" data-testid="disk-import-progress">
      <div className="disks__import-line">
        <strong>{task.title}</strong>
        <span className="muted">
          {task.state === 'running' ? (pct === null ? '' : `${pct}%`) : task.state}
        </span>
      </div>
      {task.state === 'running' ? (
        <div
          className={`progress${pct === null ? ' progress--indeterminate' : ''}`}
          role="progressbar"
          aria-valuenow={pct ?? undefined}
          aria-valuemin={0}
          aria-valuemax={100}
        >
          <span style={pct === null ? undefined : { width: `${pct}%` }} />
        </div>
      ) : null}
      {task.state === 'failed' && task.error ? (
        <p className="field__error">{task.error.message}</p>
      ) : task.message ? (
        <p className="muted">{task.message}</p>
      ) : null}
    </div>
  );
}

/** One disk: what it is, how full, and what can be done with it now. */
function DiskCard({ vm, disk, info }: { vm: VmSummary; disk: DiskConfig; info: DiskInfo | null }) {
  const [dialog, setDialog] = useState<'grow' | 'detach' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const rv = ruleVm(vm);
  const growWhy =
    why(canResizeDisk(rv, false)) ??
    (disk.readOnly && isLive(vm.runtime.state)
      ? 'Read-only: shut the VM down to resize it.'
      : null);
  const detachWhy = why(canDetachDisk(rv, disk));
  const changeWhy = why(canChangeDisk(rv));
  const file = info?.file ?? disk.file;
  const used = info?.actualSize ?? null;
  const virtual = info?.virtualSize ?? null;
  const pct = used !== null && virtual ? Math.min(100, Math.round((used / virtual) * 100)) : null;

  const change = async (patch: { bus?: DiskBus; cache?: DiskCache }) => {
    setBusy(true);
    setError(null);
    const res = await updateDisk({ vm: vm.id, disk: disk.id, ...patch });
    setBusy(false);
    if (!res.ok) setError(res.message);
  };

  return (
    <article className="card disk-card" data-testid={`disk-${disk.id}`} aria-labelledby={`${id}-t`}>
      <header className="disk-card__head">
        <Icon name="disk" size={20} />
        <div className="disk-card__name">
          <h3 id={`${id}-t`} title={file}>
            {baseName(file)}
          </h3>
          <span className="muted">
            {disk.id}
            {disk === vm.config.disks[0] ? ' · first disk (boots)' : ''}
          </span>
        </div>
        <span className="chip">{DISK_BUS_LABELS[disk.bus]}</span>
        <span className="chip">{disk.format}</span>
        {disk.readOnly ? <span className="chip">read-only</span> : null}
      </header>

      {info && !info.exists ? (
        <p className="callout callout--error">
          <Icon name="alert" size={15} />
          <span>The file is missing: {file}. Put it back, or detach the disk.</span>
        </p>
      ) : null}

      <div className="disk-card__usage" data-testid={`disk-${disk.id}-sizes`}>
        <div className="disk-meter" aria-hidden="true">
          <span style={{ width: `${pct ?? 0}%` }} />
        </div>
        <span>
          <strong data-testid={`disk-${disk.id}-virtual`}>{size(virtual)}</strong> for the guest ·{' '}
          {size(used)} used on this computer
          {pct !== null ? <span className="muted"> ({pct}%)</span> : null}
        </span>
      </div>

      <dl className="facts disk-card__facts">
        <div>
          <dt>File</dt>
          <dd>
            <code className="path">{file}</code>
          </dd>
        </div>
        {info?.backingFile ? (
          <div>
            <dt>Backing file</dt>
            <dd>
              <code className="path">{info.backingFile}</code>
              <span className="muted"> · a linked clone’s base: it must stay</span>
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Snapshots inside</dt>
          <dd>{info ? info.snapshotCount : '…'}</dd>
        </div>
      </dl>

      <div className="disk-card__settings">
        <div className="field">
          <label htmlFor={`${id}-bus`}>Bus</label>
          <select
            id={`${id}-bus`}
            value={disk.bus}
            disabled={changeWhy !== null || busy}
            title={changeWhy ?? undefined}
            data-testid={`disk-${disk.id}-bus`}
            onChange={(e) => void change({ bus: e.target.value as DiskBus })}
          >
            {DISK_BUSES.map((b) => (
              <option key={b} value={b}>
                {DISK_BUS_LABELS[b]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-cache`}>Cache mode</label>
          <select
            id={`${id}-cache`}
            value={disk.cache}
            disabled={changeWhy !== null || busy}
            title={changeWhy ?? DISK_CACHE_NOTES[disk.cache]}
            data-testid={`disk-${disk.id}-cache`}
            onChange={(e) => void change({ cache: e.target.value as DiskCache })}
          >
            {DISK_CACHES.map((c) => (
              <option key={c} value={c}>
                {DISK_CACHE_LABELS[c]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="field__hint">{DISK_CACHE_NOTES[disk.cache]}</p>
      {error ? <p className="field__error">{error}</p> : null}

      <footer className="disk-card__actions">
        <button
          type="button"
          className="btn"
          data-testid={`disk-${disk.id}-grow`}
          disabled={growWhy !== null}
          title={growWhy ?? undefined}
          onClick={() => setDialog('grow')}
        >
          <Icon name="scale" size={15} /> Grow…
        </button>
        <button
          type="button"
          className="btn btn--danger"
          data-testid={`disk-${disk.id}-detach`}
          disabled={detachWhy !== null}
          title={detachWhy ?? undefined}
          onClick={() => setDialog('detach')}
        >
          <Icon name="trash" size={15} /> Detach…
        </button>
        {growWhy || detachWhy ? (
          <p className="muted disk-card__why" data-testid={`disk-${disk.id}-why`}>
            {[...new Set([growWhy, detachWhy].filter(Boolean))].join(' ')}
          </p>
        ) : null}
      </footer>

      {dialog === 'grow' ? (
        <GrowDialog vm={vm} disk={disk} virtual={virtual} onClose={() => setDialog(null)} />
      ) : null}
      {dialog === 'detach' ? (
        <DetachDialog vm={vm} disk={disk} info={info} onClose={() => setDialog(null)} />
      ) : null}
    </article>
  );
}

/** A size typed as "20G" or "+5G": the new size or the growth. */
function GrowDialog({
  vm,
  disk,
  virtual,
  onClose,
}: {
  vm: VmSummary;
  disk: DiskConfig;
  virtual: number | null;
  onClose: () => void;
}) {
  const [value, setValue] = useState('+1G');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const live = isLive(vm.runtime.state);
  const submit = async () => {
    setBusy(true);
    setError(null);
    const res = await resizeDisk({ vm: vm.id, disk: disk.id, size: value.trim(), shrink: false });
    setBusy(false);
    if (res.ok) onClose();
    else setError(res.message);
  };
  return (
    <Modal
      title={`Grow ${disk.id}`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={`${id}-f`}
            className={`btn btn--primary${busy ? ' btn--busy' : ''}`}
            disabled={busy || !value.trim()}
            data-testid="disk-grow-submit"
          >
            Grow
          </button>
        </>
      }
    >
      <form
        id={`${id}-f`}
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <p>
          Now {size(virtual)}.{' '}
          {live
            ? 'The VM is running: the guest sees the new size at once.'
            : 'The guest sees the new size at its next start.'}{' '}
          Grow the partition and file system inside the guest to use the space.
        </p>
        <div className="field">
          <label htmlFor={`${id}-size`}>New size, or growth</label>
          <input
            id={`${id}-size`}
            value={value}
            autoFocus
            className="mono"
            data-testid="disk-grow-size"
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={error ? true : undefined}
          />
          <span className="field__hint">Like 30G (the new size) or +10G (added to it).</span>
        </div>
        <div className="disks__quick">
          {['+1G', '+5G', '+10G', '+50G'].map((q) => (
            <button key={q} type="button" className="btn btn--compact" onClick={() => setValue(q)}>
              {q}
            </button>
          ))}
        </div>
        {error ? <p className="modal__error">{error}</p> : null}
        <p className="modal__note muted">
          Shrinking cuts off whatever the guest keeps at the end of the disk, so it is left to the
          command line, with the VM shut down and the guest’s file systems shrunk first:{' '}
          <code>
            vivarium disk resize {vm.name.includes(' ') ? `"${vm.name}"` : vm.name} SIZE --disk{' '}
            {disk.id} --shrink
          </code>
        </p>
      </form>
    </Modal>
  );
}

/** Asks first, saying what is lost; offers to delete the file only when it is the VM's own. */
function DetachDialog({
  vm,
  disk,
  info,
  onClose,
}: {
  vm: VmSummary;
  disk: DiskConfig;
  info: DiskInfo | null;
  onClose: () => void;
}) {
  const [deleteFile, setDeleteFile] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Relative paths live in the VM's folder: those are Vivarium's to delete.
  const own = !disk.file.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(disk.file);
  const live = isLive(vm.runtime.state);
  const file = info?.file ?? disk.file;
  const submit = async () => {
    setBusy(true);
    setError(null);
    const res = await detachDisk({ vm: vm.id, disk: disk.id, deleteFile: own && deleteFile });
    setBusy(false);
    if (res.ok) onClose();
    else setError(res.message);
  };
  return (
    <Modal
      title={`Detach ${disk.id}?`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className={`btn btn--danger-solid${busy ? ' btn--busy' : ''}`}
            disabled={busy}
            data-testid="disk-detach-confirm"
            onClick={() => void submit()}
          >
            {deleteFile && own ? 'Detach and delete' : 'Detach'}
          </button>
        </>
      }
    >
      <p>
        {live
          ? `The guest is asked to let go of ${baseName(file)}; anything it has not written yet is lost, and a program using the disk sees it vanish. Unmount it in the guest first.`
          : `${vm.name} no longer sees ${baseName(file)}. The file stays where it is and can be added again.`}
      </p>
      {busy && live ? (
        <p className="muted">Waiting for the guest to release the disk (up to 20 s)…</p>
      ) : null}
      {own ? (
        <label className="check disks__delete">
          <input
            type="checkbox"
            checked={deleteFile}
            data-testid="disk-detach-delete"
            onChange={(e) => setDeleteFile(e.target.checked)}
          />
          <span>
            Also delete the file (
            {info?.actualSize != null
              ? `${formatBytes(info.actualSize)} used`
              : 'in the VM’s folder'}
            {info?.snapshotCount ? `, with ${plural(info.snapshotCount, 'snapshot')} inside` : ''}):
            its data is gone for good.
          </span>
        </label>
      ) : (
        <p className="muted">
          The file is outside the VM’s folder ({file}): it is yours, and is never deleted here.
        </p>
      )}
      {error ? <p className="modal__error">{error}</p> : null}
    </Modal>
  );
}

/** The buses to offer: all of them when stopped; while running, those that hot-plug (the rest say why). */
function BusSelect({
  vm,
  value,
  onChange,
  id,
}: {
  vm: VmSummary;
  value: DiskBus;
  onChange: (b: DiskBus) => void;
  id: string;
}) {
  const live = isLive(vm.runtime.state);
  return (
    <>
      <select
        id={id}
        value={value}
        data-testid="disk-add-bus"
        onChange={(e) => onChange(e.target.value as DiskBus)}
      >
        {DISK_BUSES.map((b) => {
          const blocked = live ? hotplugProblem(vm.config, b) : null;
          return (
            <option key={b} value={b} disabled={blocked !== null} title={blocked ?? undefined}>
              {DISK_BUS_LABELS[b]}
              {blocked ? ' — needs the VM shut down' : ''}
            </option>
          );
        })}
      </select>
      {live ? (
        <span className="field__hint">
          {hotplugProblem(vm.config, 'sata') ?? 'Every bus can be plugged in while the VM runs.'}
        </span>
      ) : (
        <span className="field__hint">
          VirtIO is fastest (Linux has it; Windows needs the virtio drivers); SATA works with every
          guest.
        </span>
      )}
    </>
  );
}

function CacheSelect({
  value,
  onChange,
  id,
}: {
  value: DiskCache;
  onChange: (c: DiskCache) => void;
  id: string;
}) {
  return (
    <>
      <select
        id={id}
        value={value}
        data-testid="disk-add-cache"
        onChange={(e) => onChange(e.target.value as DiskCache)}
      >
        {DISK_CACHES.map((c) => (
          <option key={c} value={c}>
            {DISK_CACHE_LABELS[c]}
          </option>
        ))}
      </select>
      <span className="field__hint">{DISK_CACHE_NOTES[value]}</span>
    </>
  );
}

function defaultBus(vm: VmSummary): DiskBus {
  const first = vm.config.disks[0]?.bus ?? 'virtio';
  return isLive(vm.runtime.state) && hotplugProblem(vm.config, first) ? 'virtio' : first;
}

/** A new thin qcow2 of a size, or an existing image used where it is. */
function AddDiskDialog({ vm, onClose }: { vm: VmSummary; onClose: () => void }) {
  const [mode, setMode] = useState<'new' | 'existing'>('new');
  const [sizeText, setSizeText] = useState('8G');
  const [path, setPath] = useState('');
  const [bus, setBus] = useState<DiskBus>(() => defaultBus(vm));
  const [cache, setCache] = useState<DiskCache>('writeback');
  const [readOnly, setReadOnly] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const verdict = why(canAddDisk(ruleVm(vm), bus));
  const live = isLive(vm.runtime.state);
  const submit = async () => {
    setBusy(true);
    setError(null);
    const res = await addDisk({
      vm: vm.id,
      bus,
      cache,
      readOnly: mode === 'existing' && readOnly,
      ...(mode === 'new' ? { size: sizeText.trim() } : { file: path.trim() }),
    });
    setBusy(false);
    if (res.ok) onClose();
    else setError(res.message);
  };
  return (
    <Modal
      title="Add a disk"
      wide
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={`${id}-f`}
            className={`btn btn--primary${busy ? ' btn--busy' : ''}`}
            disabled={busy || verdict !== null}
            title={verdict ?? undefined}
            data-testid="disk-add-submit"
          >
            {live ? 'Plug in' : 'Add disk'}
          </button>
        </>
      }
    >
      <form
        id={`${id}-f`}
        className="disks__form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="segmented" role="radiogroup" aria-label="Which disk">
          <button
            type="button"
            role="radio"
            aria-checked={mode === 'new'}
            className={mode === 'new' ? 'is-on' : ''}
            onClick={() => setMode('new')}
          >
            New disk
          </button>
          <button
            type="button"
            role="radio"
            aria-checked={mode === 'existing'}
            className={mode === 'existing' ? 'is-on' : ''}
            data-testid="disk-add-existing"
            onClick={() => setMode('existing')}
          >
            Existing image
          </button>
        </div>
        {mode === 'new' ? (
          <div className="field">
            <label htmlFor={`${id}-size`}>Size</label>
            <input
              id={`${id}-size`}
              className="mono"
              value={sizeText}
              data-testid="disk-add-size"
              onChange={(e) => setSizeText(e.target.value)}
            />
            <span className="field__hint">
              A thin qcow2 in the VM’s folder: it takes space on this computer only as the guest
              writes. Like 512M, 20G or 1T.
            </span>
          </div>
        ) : (
          <>
            <div className="field">
              <label htmlFor={`${id}-path`}>Image file</label>
              <input
                id={`${id}-path`}
                className="mono"
                value={path}
                placeholder="/path/to/disk.qcow2"
                data-testid="disk-add-path"
                onChange={(e) => setPath(e.target.value)}
              />
              <span className="field__hint">
                The absolute path of a qcow2 or raw image on the computer running Vivarium, used
                where it is (never deleted here). Other formats: Import.
              </span>
            </div>
            <label className="check">
              <input
                type="checkbox"
                checked={readOnly}
                onChange={(e) => setReadOnly(e.target.checked)}
              />
              Read-only: the guest cannot change it
            </label>
          </>
        )}
        <div className="disks__form-row">
          <div className="field">
            <label htmlFor={`${id}-bus`}>Bus</label>
            <BusSelect vm={vm} value={bus} onChange={setBus} id={`${id}-bus`} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-cache`}>Cache mode</label>
            <CacheSelect value={cache} onChange={setCache} id={`${id}-cache`} />
          </div>
        </div>
        {live && verdict === null ? (
          <p className="muted">
            The VM is running: the disk is plugged in now and kept for its next starts.
          </p>
        ) : null}
        {verdict ? <p className="modal__error">{verdict}</p> : null}
        {error ? (
          <p className="modal__error" data-testid="disk-add-error">
            {error}
          </p>
        ) : null}
      </form>
    </Modal>
  );
}

/** Import: a copy converted to qcow2 in the VM's folder, as a task with progress. */
function ImportDialog({ vm, onClose }: { vm: VmSummary; onClose: () => void }) {
  const [path, setPath] = useState('');
  const [bus, setBus] = useState<DiskBus>(() => defaultBus(vm));
  const [cache, setCache] = useState<DiskCache>('writeback');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const verdict = why(canImportDisk(ruleVm(vm), bus));
  const submit = async () => {
    setBusy(true);
    setError(null);
    const res = await importDisk({ vm: vm.id, file: path.trim(), bus, cache });
    setBusy(false);
    if (res.ok) onClose();
    else setError(res.message);
  };
  return (
    <Modal
      title="Import a disk image"
      wide
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={`${id}-f`}
            className={`btn btn--primary${busy ? ' btn--busy' : ''}`}
            disabled={busy || verdict !== null || !path.trim()}
            data-testid="disk-import-submit"
          >
            Import
          </button>
        </>
      }
    >
      <form
        id={`${id}-f`}
        className="disks__form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-path`}>Image file</label>
          <input
            id={`${id}-path`}
            className="mono"
            value={path}
            placeholder="/path/to/disk.vmdk"
            data-testid="disk-import-path"
            onChange={(e) => setPath(e.target.value)}
          />
          <span className="field__hint">
            qcow2, raw/img, VMDK, VDI, VHDX or VHD on the computer running Vivarium. It is copied
            into the VM’s folder as qcow2; the original stays untouched.
          </span>
        </div>
        <div className="disks__form-row">
          <div className="field">
            <label htmlFor={`${id}-bus`}>Bus</label>
            <BusSelect vm={vm} value={bus} onChange={setBus} id={`${id}-bus`} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-cache`}>Cache mode</label>
            <CacheSelect value={cache} onChange={setCache} id={`${id}-cache`} />
          </div>
        </div>
        {verdict ? <p className="modal__error">{verdict}</p> : null}
        {error ? <p className="modal__error">{error}</p> : null}
      </form>
    </Modal>
  );
}
