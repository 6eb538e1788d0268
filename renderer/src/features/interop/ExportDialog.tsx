/**
 * Export to libvirt: the folder to write (on the computer running Vivarium), whether the disks
 * are flattened or carry their backing chain, how NAT cards reach the network there. The engine
 * refuses what it cannot do (a running or saved VM, an export already there) before any task;
 * then the copy runs as a task with its progress, and at the end the dialog shows what was not
 * carried over and the commands that define and start the domain, here or on another host.
 */
import { useState } from 'react';
import type { LibvirtExportResult, TaskInfo } from '../../../../common/contract';
import { startLibvirtExport, type LibvirtExportDraft } from '../../actions/interop';
import { cancelTask } from '../../actions/tasks';
import { closeDialog } from '../../actions/ui';
import { CopyCommand } from '../../components/CopyCommand';
import { Icon, type IconName } from '../../components/Icon';
import { Modal } from '../../components/Modal';
import { taskPercent } from '../../lib/save-state';
import { useLibraryStore } from '../../stores/library';
import { useTasksStore } from '../../stores/tasks';
import './interop.css';

const DISK_CHOICES: Array<{
  id: LibvirtExportDraft['disks'];
  title: string;
  desc: string;
  icon: IconName;
}> = [
  {
    id: 'flatten',
    title: 'Flatten',
    desc: 'One self-contained qcow2 per disk: simplest to move.',
    icon: 'disk',
  },
  {
    id: 'carry',
    title: 'Carry the backing chain',
    desc: 'A linked clone’s base or a cloud image is copied too, each layer on the one below by a relative name.',
    icon: 'folder',
  },
];

const NAT_CHOICES: Array<{ id: LibvirtExportDraft['nat']; title: string; desc: string }> = [
  {
    id: 'network',
    title: 'libvirt’s default network',
    desc: 'What virt-manager does: NAT by libvirt (its dnsmasq).',
  },
  {
    id: 'user',
    title: 'QEMU’s user network',
    desc: 'Inside the domain, like Vivarium’s NAT: no libvirt network needed.',
  },
];

function exportResultOf(task: TaskInfo): LibvirtExportResult | null {
  const r = task.result as Partial<LibvirtExportResult> | null;
  return r && typeof r.xmlFile === 'string' && Array.isArray(r.note)
    ? (r as LibvirtExportResult)
    : null;
}

export function ExportDialog({ vmId }: { vmId: string }) {
  const vm = useLibraryStore((s) => s.vms.find((v) => v.id === vmId));
  const [draft, setDraft] = useState<LibvirtExportDraft>({
    dir: '',
    disks: 'flatten',
    nat: 'network',
  });
  const [taskId, setTaskId] = useState<string | null>(null);
  const task = useTasksStore((s) => (taskId ? s.tasks[taskId] : undefined));
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!vm) return null;
  const name = vm.name;
  if (task) return <ExportRun task={task} name={name} />;

  const dirProblem =
    draft.dir.trim() && !draft.dir.trim().startsWith('/')
      ? 'Use an absolute path, like /var/lib/libvirt/images/exports'
      : null;
  const edit = (patch: Partial<LibvirtExportDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setError(null);
  };
  const start = async () => {
    setStarting(true);
    const res = await startLibvirtExport(vmId, draft);
    setStarting(false);
    if (res.ok) setTaskId(res.task.id);
    else setError(res.error.message);
  };

  return (
    <Modal
      title={`Export “${name}” to libvirt`}
      onClose={closeDialog}
      wide
      footer={
        <>
          <button type="button" className="btn" onClick={closeDialog}>
            Cancel
          </button>
          <button
            type="submit"
            form="export-form"
            className={`btn btn--primary${starting ? ' btn--busy' : ''}`}
            data-testid="export-start"
            disabled={starting || !draft.dir.trim() || dirProblem !== null}
          >
            <Icon name="download" size={15} />
            {starting ? 'Starting…' : 'Export'}
          </button>
        </>
      }
    >
      <form
        id="export-form"
        className="export"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <p className="modal__note">
          Writes a libvirt domain (<code>{name.replaceAll('/', '-')}.xml</code>), its disks as
          qcow2, its UEFI variables and TPM state into a folder on the computer running Vivarium,
          ready for <code>virsh define</code>, virt-manager or cockpit.
        </p>
        <div className={`field${dirProblem ? ' field--error' : ''}`}>
          <label htmlFor="export-dir">Folder</label>
          <input
            id="export-dir"
            data-testid="export-dir"
            value={draft.dir}
            placeholder="/var/lib/libvirt/images/exports"
            autoFocus
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => edit({ dir: e.target.value })}
          />
          {dirProblem ? (
            <span className="field__error">{dirProblem}</span>
          ) : (
            <span className="field__hint">
              Made if missing. libvirt’s QEMU user must be able to pass through every folder above
              it.
            </span>
          )}
        </div>
        <fieldset className="export__group">
          <legend>Disks</legend>
          <div className="choice-row" role="radiogroup" aria-label="Disks">
            {DISK_CHOICES.map((c) => (
              <label key={c.id} className={`choice${draft.disks === c.id ? ' is-on' : ''}`}>
                <input
                  type="radio"
                  name="export-disks"
                  value={c.id}
                  data-testid={`export-disks-${c.id}`}
                  checked={draft.disks === c.id}
                  onChange={() => edit({ disks: c.id })}
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
        </fieldset>
        {vm.config.nics.some((n) => n.attach.kind === 'nat') ? (
          <fieldset className="export__group">
            <legend>NAT network cards</legend>
            <div className="choice-row" role="radiogroup" aria-label="NAT network cards">
              {NAT_CHOICES.map((c) => (
                <label key={c.id} className={`choice${draft.nat === c.id ? ' is-on' : ''}`}>
                  <input
                    type="radio"
                    name="export-nat"
                    value={c.id}
                    data-testid={`export-nat-${c.id}`}
                    checked={draft.nat === c.id}
                    onChange={() => edit({ nat: c.id })}
                  />
                  <span className="choice__icon">
                    <Icon name="globe" size={18} />
                  </span>
                  <span className="choice__text">
                    <span className="choice__title">{c.title}</span>
                    <span className="choice__desc">{c.desc}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
        ) : null}
        {error ? (
          <p className="callout callout--error" data-testid="export-error">
            <Icon name="alert" size={15} />
            <span>{error}</span>
          </p>
        ) : null}
      </form>
    </Modal>
  );
}

function ExportRun({ task, name }: { task: TaskInfo; name: string }) {
  const pct = taskPercent(task);
  const result = task.state === 'succeeded' ? exportResultOf(task) : null;
  return (
    <Modal
      title={`Export “${name}” to libvirt`}
      onClose={closeDialog}
      wide
      footer={
        task.state === 'running' ? (
          <button
            type="button"
            className="btn"
            data-testid="export-cancel"
            onClick={() => void cancelTask(task.id)}
          >
            Cancel export
          </button>
        ) : (
          <button
            type="button"
            className="btn btn--primary"
            data-testid="export-close"
            onClick={closeDialog}
          >
            Close
          </button>
        )
      }
    >
      {task.state === 'running' ? (
        <div className="export__bar" role="status" data-testid="export-progress">
          <div className="task-strip__line">
            <strong>{task.message ?? 'Starting…'}</strong>
            <span>{pct === null ? '' : `${pct}%`}</span>
          </div>
          <div
            className={`progress${pct === null ? ' progress--indeterminate' : ''}`}
            role="progressbar"
            aria-label="Export"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct ?? undefined}
          >
            <span style={{ width: pct === null ? undefined : `${pct}%` }} />
          </div>
        </div>
      ) : null}
      {result ? <ExportDone result={result} /> : null}
      {task.state === 'failed' ? (
        <div className="callout callout--error callout--block" data-testid="export-failed">
          <p>
            <strong>The export failed:</strong> {task.error?.message ?? 'unknown error'}. Nothing of
            it was left in the folder.
          </p>
        </div>
      ) : null}
      {task.state === 'cancelled' ? (
        <p className="callout callout--info" data-testid="export-cancelled">
          <Icon name="info" size={15} />
          <span>Cancelled: the files written so far were removed.</span>
        </p>
      ) : null}
    </Modal>
  );
}

/** The note's lines: indented ones are commands (with a Copy button), the others say when. */
function ExportDone({ result }: { result: LibvirtExportResult }) {
  return (
    <div className="export__done" data-testid="export-done">
      <p className="callout callout--info">
        <Icon name="check" size={15} />
        <span>
          Exported as the libvirt domain <strong>{result.name}</strong>:{' '}
          <code className="path">{result.xmlFile}</code>
        </span>
      </p>
      {result.unmapped.length ? (
        <div className="callout callout--warn callout--block" data-testid="export-unmapped">
          <p>
            <strong>Not carried over:</strong>
          </p>
          <ul>
            {result.unmapped.map((u) => (
              <li key={u}>{u}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="export__note" data-testid="export-note">
        {result.note.map((line, i) =>
          line.startsWith('  ') ? (
            <CopyCommand key={i} text={line.trim()} label="Command" />
          ) : (
            <p key={i}>{line}</p>
          ),
        )}
      </div>
    </div>
  );
}
