/**
 * Moves a running VM to another Vivarium (`vivarium serve` there): the destination's URL as it was
 * printed, an optional new name, whether to delete the files here after. The engine checks first
 * (its reasons listed, a free name offered on a clash), then migrates as a task: its phases, disk
 * and memory copied and left, dirty rate and expected downtime while it runs, a Cancel that leaves
 * the VM running here, and at the end the measured downtime and total time.
 */
import { useState } from 'react';
import type { MigrationCheck, TaskInfo } from '../../../../common/contract';
import { formatBytes } from '../../../../common/format';
import { fieldErrors } from '../../../../common/validation';
import { checkMigration, startMigration } from '../../actions/migration';
import { cancelTask } from '../../actions/tasks';
import { closeDialog, openLibrary } from '../../actions/ui';
import { Icon } from '../../components/Icon';
import { Modal } from '../../components/Modal';
import {
  bytesLine,
  destinationShown,
  formatMs,
  migrateRequest,
  migrationProgressOf,
  migrationResultOf,
  MIGRATION_TASK,
  PHASES,
  phaseStatus,
  rateLine,
  type MigrateDraft,
} from '../../lib/migration';
import { runningTask, taskPercent } from '../../lib/save-state';
import { migrationMethods } from '../../lib/schemas';
import { useLibraryStore } from '../../stores/library';
import { useTasksStore } from '../../stores/tasks';
import './migrate.css';

type Checked =
  | { status: 'idle' }
  | { status: 'checking' }
  | { status: 'done'; check: MigrationCheck; key: string }
  | { status: 'error'; message: string };

export default function MigrateDialog({ vmId }: { vmId: string }) {
  const vm = useLibraryStore((s) => s.vms.find((v) => v.id === vmId));
  // The VM leaves this library when it arrives there: the dialog keeps what it showed.
  const [name] = useState(() => vm?.name ?? vmId);
  const [dir] = useState(() => vm?.dir ?? '');
  const running = useTasksStore((s) => runningTask(s.tasks, vmId, MIGRATION_TASK));
  const [taskId, setTaskId] = useState<string | null>(() => running?.id ?? null);
  const task = useTasksStore((s) => (taskId ? s.tasks[taskId] : undefined));
  const [draft, setDraft] = useState<MigrateDraft>({ to: '', name: '', deleteSource: false });
  const [checked, setChecked] = useState<Checked>({ status: 'idle' });
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const [touched, setTouched] = useState(false);

  const request = migrateRequest(vmId, draft);
  const parsed = migrationMethods['migration.start'].safeParse(request);
  const errors = parsed.success ? {} : fieldErrors(parsed.error.issues);
  const key = JSON.stringify([request.to, request.name ?? '']);
  const check = checked.status === 'done' && checked.key === key ? checked.check : null;

  const edit = (patch: Partial<MigrateDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setStartError(null);
  };

  const runCheck = async () => {
    setTouched(true);
    if (!parsed.success) return;
    setChecked({ status: 'checking' });
    const res = await checkMigration(vmId, draft);
    setChecked(
      res.ok
        ? { status: 'done', check: res.check, key }
        : { status: 'error', message: res.error.message },
    );
  };

  const start = async () => {
    setStarting(true);
    const res = await startMigration(vmId, draft);
    setStarting(false);
    if (res.ok) setTaskId(res.task.id);
    else setStartError(res.error.message);
  };

  if (task) {
    return <MigrationRun task={task} name={name} dir={dir} to={destinationShown(draft.to)} />;
  }

  const checking = checked.status === 'checking';
  const ready = check?.ok === true;
  return (
    <Modal
      title={`Migrate “${name}”`}
      onClose={closeDialog}
      wide
      footer={
        <>
          <button type="button" className="btn" onClick={closeDialog}>
            Cancel
          </button>
          {ready ? (
            <button
              type="button"
              className={`btn btn--primary${starting ? ' btn--busy' : ''}`}
              data-testid="migrate-start"
              disabled={starting}
              onClick={() => void start()}
            >
              <Icon name="forward" size={15} />
              {starting ? 'Starting…' : 'Migrate'}
            </button>
          ) : (
            <button
              type="submit"
              form="migrate-form"
              className={`btn btn--primary${checking ? ' btn--busy' : ''}`}
              data-testid="migrate-check"
              disabled={checking}
            >
              <Icon name="check" size={15} />
              {checking ? 'Checking…' : 'Check'}
            </button>
          )}
        </>
      }
    >
      <form
        id="migrate-form"
        className="migrate"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void runCheck();
        }}
      >
        <p className="modal__note migrate__intro">
          Moves the VM to another Vivarium while its guest keeps running. There, run{' '}
          <code>vivarium serve --host ADDRESS</code> and paste the URL it prints, token included.
        </p>
        <div className={`field${touched && errors['to'] ? ' field--error' : ''}`}>
          <label htmlFor="migrate-url">Destination</label>
          <input
            id="migrate-url"
            data-testid="migrate-url"
            value={draft.to}
            placeholder="http://192.168.1.20:8765/#token=…"
            autoFocus
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => edit({ to: e.target.value })}
          />
          {touched && errors['to'] ? <span className="field__error">{errors['to']}</span> : null}
        </div>
        <div className={`field${errors['name'] ? ' field--error' : ''}`}>
          <label htmlFor="migrate-name">Name there (optional)</label>
          <input
            id="migrate-name"
            data-testid="migrate-name"
            value={draft.name}
            placeholder={name}
            maxLength={80}
            onChange={(e) => edit({ name: e.target.value })}
          />
          {errors['name'] ? (
            <span className="field__error">{errors['name']}</span>
          ) : (
            <span className="field__hint">Empty: it keeps its name, “{name}”.</span>
          )}
        </div>
        <label className="check migrate__delete">
          <input
            type="checkbox"
            data-testid="migrate-delete-source"
            checked={draft.deleteSource}
            onChange={(e) => edit({ deleteSource: e.target.checked })}
          />
          <span>
            Delete its files here once it runs there
            <span className="field__hint migrate__hint">
              {draft.deleteSource
                ? 'Its folder and disks on this computer are removed after the switch-over.'
                : `Otherwise they stay in ${dir || 'its folder'}, out of the library, until you delete them.`}
            </span>
          </span>
        </label>

        {checked.status === 'error' ? (
          <p className="callout callout--error" data-testid="migrate-error">
            <Icon name="alert" size={15} />
            <span>{checked.message}</span>
          </p>
        ) : null}
        {check ? <CheckResult check={check} onUseName={(n) => edit({ name: n })} /> : null}
        {startError ? (
          <p className="callout callout--error" data-testid="migrate-error">
            <Icon name="alert" size={15} />
            <span>{startError}</span>
          </p>
        ) : null}
      </form>
    </Modal>
  );
}

function CheckResult({
  check,
  onUseName,
}: {
  check: MigrationCheck;
  onUseName: (name: string) => void;
}) {
  const qemu = check.destination?.qemuVersion;
  return (
    <>
      {check.ok ? (
        <p className="callout callout--info" data-testid="migrate-ready">
          <Icon name="check" size={15} />
          <span>
            <strong>Ready to migrate</strong> as “{check.name}”: {formatBytes(check.diskBytes)} of
            disks to copy
            {check.destinationFreeBytes !== null
              ? `, ${formatBytes(check.destinationFreeBytes)} free there`
              : ''}
            {qemu ? `; QEMU ${qemu} there` : ''}.
          </span>
        </p>
      ) : (
        <div className="callout callout--error callout--block" data-testid="migrate-reasons">
          <p>
            <strong>It cannot move now:</strong>
          </p>
          <ul className="migrate__reasons">
            {check.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
          {check.suggestedName ? (
            <button
              type="button"
              className="btn btn--compact"
              data-testid="migrate-use-name"
              onClick={() => onUseName(check.suggestedName ?? '')}
            >
              Use the name “{check.suggestedName}” there
            </button>
          ) : null}
        </div>
      )}
      {check.warnings.length ? (
        <ul className="callout callout--warn callout--block migrate__reasons">
          {check.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

/** The migration once it runs, and how it ended. */
function MigrationRun({
  task,
  name,
  dir,
  to,
}: {
  task: TaskInfo;
  name: string;
  dir: string;
  to: string | null;
}) {
  const progress = migrationProgressOf(task);
  const result = migrationResultOf(task);
  const pct = taskPercent(task);
  const done = () => {
    closeDialog();
    if (result) openLibrary();
  };
  const where = to ?? 'the destination';
  return (
    <Modal
      title={`Migrate “${name}”`}
      onClose={done}
      wide
      footer={
        task.state === 'running' ? (
          <>
            <button type="button" className="btn" onClick={closeDialog} title="It goes on">
              Hide
            </button>
            <button
              type="button"
              className="btn btn--danger"
              data-testid="migrate-cancel"
              disabled={!task.cancellable}
              title={
                task.cancellable
                  ? 'Stop: the VM keeps running here'
                  : 'Too late: the destination already runs it'
              }
              onClick={() => void cancelTask(task.id)}
            >
              Cancel migration
            </button>
          </>
        ) : (
          <button
            type="button"
            className="btn btn--primary"
            data-testid="migrate-done"
            onClick={done}
          >
            {result ? 'Done' : 'Close'}
          </button>
        )
      }
    >
      <div
        className="migrate"
        data-testid="migrate-run"
        data-state={task.state}
        data-phase={progress?.phase}
      >
        {task.state === 'running' ? (
          <>
            <ol className="migrate__phases" aria-label="Phases">
              {PHASES.map((p) => (
                <li
                  key={p.phase}
                  className={`migrate__phase migrate__phase--${
                    progress ? phaseStatus(progress.phase, p.phase) : 'next'
                  }`}
                  aria-current={progress?.phase === p.phase ? 'step' : undefined}
                >
                  {p.label}
                </li>
              ))}
            </ol>
            <div className="migrate__bar" role="status" data-testid="migrate-progress">
              <div className="task-strip__line">
                <strong>{task.message ?? 'Starting…'}</strong>
                <span>{pct === null ? '' : `${pct}%`}</span>
              </div>
              <div
                className={`progress${pct === null ? ' progress--indeterminate' : ''}`}
                role="progressbar"
                aria-label="Migration"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={pct ?? undefined}
              >
                <span style={{ width: pct === null ? undefined : `${pct}%` }} />
              </div>
            </div>
            <dl className="facts migrate__facts">
              <div>
                <dt>Disks</dt>
                <dd data-testid="migrate-disk">{progress ? bytesLine(progress.disk) : '—'}</dd>
              </div>
              <div>
                <dt>Memory</dt>
                <dd data-testid="migrate-ram">
                  {progress?.ram ? bytesLine(progress.ram) : 'Copied after the disks'}
                </dd>
              </div>
              <div>
                <dt>Dirty rate</dt>
                <dd>
                  {progress?.ram ? rateLine(progress.dirtyBytesPerSecond) : '—'}
                  {progress && progress.iterations > 1 ? (
                    <span className="muted"> · pass {progress.iterations}</span>
                  ) : null}
                </dd>
              </div>
              <div>
                <dt>Expected downtime</dt>
                <dd data-testid="migrate-expected">
                  {progress?.expectedDowntimeMs != null
                    ? formatMs(progress.expectedDowntimeMs)
                    : 'estimated while the memory is copied'}
                </dd>
              </div>
            </dl>
            <p className="modal__note">
              The guest keeps running here until the switch-over; a cancel before it leaves the VM
              running here, untouched.
            </p>
          </>
        ) : result ? (
          <>
            <p className="callout callout--info" data-testid="migrate-finished">
              <Icon name="check" size={15} />
              <span>
                “{result.name}” now runs on {where}. It has left this library.
              </span>
            </p>
            <div className="migrate__figures">
              <Figure
                label="Downtime"
                value={formatMs(result.downtimeMs)}
                testId="migrate-downtime"
              />
              <Figure label="Total time" value={formatMs(result.totalMs)} testId="migrate-total" />
              <Figure
                label="Transferred"
                value={formatBytes(result.transferredBytes)}
                testId="migrate-transferred"
              />
            </div>
            <p className="modal__note">
              {result.qemuDowntimeMs !== null
                ? `QEMU’s own figure for the memory switch-over: ${formatMs(result.qemuDowntimeMs)}. `
                : ''}
              {result.sourceFolder
                ? `Its files here are kept in ${result.sourceFolder} (out of the library): delete them when you no longer need them.`
                : `Its files here${dir ? ` (${dir})` : ''} were deleted.`}
            </p>
          </>
        ) : task.state === 'cancelled' ? (
          <p className="callout callout--info" data-testid="migrate-cancelled">
            <Icon name="info" size={15} />
            <span>Migration cancelled: “{name}” keeps running here, as it was.</span>
          </p>
        ) : (
          <div className="callout callout--error callout--block" data-testid="migrate-failed">
            <p>
              <strong>The migration failed.</strong>{' '}
              {task.error?.message ?? task.message ?? 'It ended with an error.'}
            </p>
            <p>“{name}” stays here; the destination removed what it had prepared.</p>
          </div>
        )}
      </div>
    </Modal>
  );
}

function Figure({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="migrate__figure">
      <span>{label}</span>
      <strong data-testid={testId}>{value}</strong>
    </div>
  );
}
