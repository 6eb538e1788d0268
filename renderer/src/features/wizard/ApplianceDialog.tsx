import { useId, useState, type ReactNode } from 'react';
import {
  importAppliance,
  readAppliance,
  setApplianceName,
  setAppliancePath,
  showApplianceImport,
  takeApplianceFile,
} from '../../actions/wizard/appliance';
import { cancelTask } from '../../actions/tasks';
import { localFiles } from '../../bridge';
import { Icon } from '../../components/Icon';
import { Modal } from '../../components/Modal';
import { formatBytes, formatMemory, plural } from '../../../../common/format';
import { useApplianceStore } from '../../stores/appliance';
import { useTasksStore } from '../../stores/tasks';
import { HARDWARE_LABELS } from './lib';
import './appliance.css';

const PRODUCER = { virtualbox: 'VirtualBox', vmware: 'VMware', other: 'OVF' } as const;

/**
 * "Import an appliance": an .ova (or an .ovf beside its disks) from VirtualBox, VMware or any OVF
 * tool. The engine reads and checks it first; the user sees the hardware the VM gets and what
 * could not be carried over, names it, and imports (a task with progress).
 */
export default function ApplianceDialog({ onClose }: { onClose: () => void }) {
  const s = useApplianceStore();
  const task = useTasksStore((t) => (s.taskId ? t.tasks[s.taskId] : undefined));
  const id = useId();
  const [over, setOver] = useState(false);
  const uploads = localFiles() === 'upload';
  const importing = s.taskId !== null;
  const uploading = s.upload !== null && s.upload.error === null;
  const close = () => {
    if (importing) return;
    showApplianceImport(false);
    onClose();
  };
  const pct = task?.progress === null || !task ? null : Math.round(task.progress * 100);

  return (
    <Modal
      title="Import an appliance"
      onClose={close}
      wide
      footer={
        <>
          {s.importError ? (
            <p className="modal__error" role="alert">
              <Icon name="alert" size={15} />
              {s.importError}
            </p>
          ) : null}
          <button
            type="button"
            className="btn"
            onClick={() =>
              importing && s.taskId ? void cancelTask(s.taskId) : showApplianceImport(false)
            }
          >
            {importing ? 'Cancel import' : 'Back'}
          </button>
          <button
            type="button"
            className={`btn btn--primary${importing ? ' btn--busy' : ''}`}
            disabled={!s.summary || importing || !s.name.trim()}
            onClick={() => void importAppliance()}
            data-testid="appliance-import"
          >
            <Icon name="plus" size={15} />
            {importing ? 'Importing…' : 'Import'}
          </button>
        </>
      }
    >
      <div className="appliance" data-testid="appliance">
        <div
          className={`dropzone dropzone--compact appliance__source${over ? ' is-over' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            const file = e.dataTransfer.files.item(0);
            if (file && !importing) takeApplianceFile(file);
          }}
        >
          <p className="muted appliance__intro">
            A VirtualBox or VMware appliance (<span className="mono">.ova</span>, or an{' '}
            <span className="mono">.ovf</span> with its disks beside it). Vivarium checks it against
            its manifest and shows what the VM gets before anything is made.
          </p>
          <form
            className="pathrow"
            onSubmit={(e) => {
              e.preventDefault();
              void readAppliance();
            }}
          >
            <label htmlFor={`${id}-path`} className="visually-hidden">
              Appliance file path
            </label>
            <Icon name="folder" size={16} />
            <input
              id={`${id}-path`}
              className="mono"
              value={s.path}
              placeholder="/home/me/Downloads/course-vm.ova"
              spellCheck={false}
              autoComplete="off"
              readOnly={importing || uploading}
              onChange={(e) => setAppliancePath(e.target.value)}
              data-testid="appliance-path"
            />
            <button
              type="submit"
              className="btn btn--compact"
              disabled={!s.path.trim() || importing || s.reading}
            >
              Read
            </button>
          </form>
          <div className="upload-choose upload-choose--compact">
            <input
              id={`${id}-file`}
              className="visually-hidden"
              type="file"
              accept=".ova,.ovf"
              disabled={importing || uploading}
              data-testid="appliance-upload-input"
              onChange={(e) => {
                const file = e.target.files?.item(0);
                e.target.value = '';
                if (file) takeApplianceFile(file);
              }}
            />
            <label htmlFor={`${id}-file`} className="btn btn--compact upload-choose__btn">
              <Icon name={uploads ? 'forward' : 'folder'} size={14} />
              {uploads ? 'Upload an .ova from this computer' : 'Choose an .ova file…'}
            </label>
          </div>
        </div>

        {s.upload ? (
          <div className="appliance__status" role="status">
            {s.upload.error ? (
              <p className="appliance__error">
                <Icon name="alert" size={15} /> {s.upload.name}: {s.upload.error}
              </p>
            ) : (
              <>
                <span>
                  Uploading {s.upload.name}… {formatBytes(s.upload.bytesSent)} of{' '}
                  {formatBytes(s.upload.bytesTotal)}
                </span>
                <div className="progress" role="progressbar" aria-label="Upload">
                  <span
                    style={{
                      width: `${Math.round((s.upload.bytesSent / Math.max(1, s.upload.bytesTotal)) * 100)}%`,
                    }}
                  />
                </div>
              </>
            )}
          </div>
        ) : null}
        {s.reading ? (
          <p className="appliance__status" role="status">
            <span className="spinner spinner--small" /> Reading and checking the appliance…
          </p>
        ) : null}
        {s.error ? (
          <div
            className="callout callout--warn appliance__error"
            role="alert"
            data-testid="appliance-error"
          >
            <Icon name="alert" size={15} />
            <p>{s.error}</p>
          </div>
        ) : null}

        {s.summary ? (
          <div className="appliance__summary" data-testid="appliance-summary">
            <div className="field">
              <label htmlFor={`${id}-name`}>Name</label>
              <input
                id={`${id}-name`}
                value={s.name}
                readOnly={importing}
                onChange={(e) => setApplianceName(e.target.value)}
                data-testid="appliance-name"
              />
            </div>
            <dl className="summary__grid">
              <Row label="From">
                {PRODUCER[s.summary.producer]} appliance ·{' '}
                {s.summary.verifiedWith
                  ? `every file matched its ${s.summary.verifiedWith} checksum`
                  : 'no manifest: not checked'}
              </Row>
              <Row label="Operating system">
                {s.summary.os.entryName}
                {s.summary.os.source ? (
                  <span className="muted"> · {s.summary.os.source}</span>
                ) : null}
              </Row>
              <Row label="CPUs and memory">
                {plural(s.summary.cpus, 'CPU')} · {formatMemory(s.summary.memoryMiB)}
              </Row>
              <Row label="Firmware">
                {HARDWARE_LABELS.firmware[s.summary.firmware]} ·{' '}
                {HARDWARE_LABELS.machine[s.summary.machine]}
              </Row>
              <Row label={plural(s.summary.disks.length, 'Disk')}>
                <ul className="appliance__list">
                  {s.summary.disks.map((d) => (
                    <li key={d.file}>
                      {formatBytes(d.capacityBytes)} on {HARDWARE_LABELS.diskBus[d.bus]}{' '}
                      <span className="muted mono">{d.file}</span>
                    </li>
                  ))}
                </ul>
              </Row>
              <Row label="Network">
                {s.summary.nics.length === 0
                  ? 'None'
                  : s.summary.nics.map((n) => HARDWARE_LABELS.nicModel[n.model]).join(', ') +
                    ' · NAT'}
              </Row>
              <Row label="Sound">{HARDWARE_LABELS.sound[s.summary.sound]}</Row>
            </dl>
            {s.summary.notMapped.length ? (
              <div className="callout callout--warn" role="note" data-testid="appliance-not-mapped">
                <Icon name="alert" size={15} />
                <div>
                  <p>
                    <strong>Not carried over as it was</strong>
                  </p>
                  <ul className="appliance__list">
                    {s.summary.notMapped.map((n) => (
                      <li key={n}>{n}</li>
                    ))}
                  </ul>
                </div>
              </div>
            ) : (
              <p className="muted">Everything in the appliance has a counterpart in Vivarium.</p>
            )}
          </div>
        ) : null}

        {importing ? (
          <div className="appliance__status" role="status" data-testid="appliance-progress">
            <span>{task?.message ?? 'Starting the import…'}</span>
            <div
              className={`progress${pct === null ? ' progress--indeterminate' : ''}`}
              role="progressbar"
              aria-label="Import"
              aria-valuenow={pct ?? undefined}
            >
              <span style={{ width: pct === null ? undefined : `${pct}%` }} />
            </div>
          </div>
        ) : null}
      </div>
    </Modal>
  );
}

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="summary__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
