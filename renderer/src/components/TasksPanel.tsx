import { useMemo } from 'react';
import type { TaskInfo } from '../../../common/contract';
import { cancelTask, hideTask } from '../actions/tasks';
import { formatBytes, formatDuration } from '../../../common/format';
import { useTasksStore } from '../stores/tasks';
import { Icon } from './Icon';

/** Long work (downloads, conversions, snapshots) with progress bars and Cancel. */
export function TasksPanel() {
  const tasks = useTasksStore((s) => s.tasks);
  const hidden = useTasksStore((s) => s.hidden);
  const shown = useMemo(
    () =>
      Object.values(tasks)
        .filter((t) => !hidden.includes(t.id))
        .sort((a, b) => a.startedAt.localeCompare(b.startedAt)),
    [tasks, hidden],
  );
  if (shown.length === 0) return null;
  const running = shown.filter((t) => t.state === 'running').length;
  return (
    <section className="tasks" aria-label="Tasks" data-testid="tasks">
      <header className="tasks__head">
        <Icon name="tasks" size={15} />
        {running > 0 ? `${running} task${running === 1 ? '' : 's'} running` : 'Tasks'}
      </header>
      <ul>
        {shown.map((t) => (
          <TaskRow task={t} key={t.id} />
        ))}
      </ul>
    </section>
  );
}

function TaskRow({ task }: { task: TaskInfo }) {
  const pct =
    task.progress === null ? null : Math.round(Math.min(1, Math.max(0, task.progress)) * 100);
  const facts = [
    task.bytesDone !== null
      ? task.bytesTotal
        ? `${formatBytes(task.bytesDone)} of ${formatBytes(task.bytesTotal)}`
        : formatBytes(task.bytesDone)
      : null,
    task.bytesPerSecond ? `${formatBytes(task.bytesPerSecond)}/s` : null,
    task.etaSeconds !== null && task.state === 'running'
      ? `${formatDuration(task.etaSeconds * 1000)} left`
      : null,
  ].filter(Boolean);
  return (
    <li className={`task task--${task.state}`} data-testid="task">
      <div className="task__line">
        <span className="task__title">{task.title}</span>
        {task.state === 'running' ? (
          <span className="task__pct">{pct === null ? '' : `${pct}%`}</span>
        ) : (
          <span className="task__state">{task.state}</span>
        )}
        {task.state === 'running' && task.cancellable ? (
          <button
            type="button"
            className="btn btn--compact"
            onClick={() => void cancelTask(task.id)}
            aria-label={`Cancel ${task.title}`}
          >
            Cancel
          </button>
        ) : task.state !== 'running' ? (
          <button
            type="button"
            className="icon-btn"
            aria-label={`Close ${task.title}`}
            onClick={() => hideTask(task.id)}
          >
            <Icon name="close" size={14} />
          </button>
        ) : null}
      </div>
      {task.state === 'running' ? (
        <div
          className={`progress${pct === null ? ' progress--indeterminate' : ''}`}
          role="progressbar"
          aria-label={task.title}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct ?? undefined}
        >
          <span style={{ width: pct === null ? undefined : `${pct}%` }} />
        </div>
      ) : null}
      {task.state === 'failed' && task.error ? (
        <p className="task__msg task__msg--error">{task.error.message}</p>
      ) : task.message || facts.length ? (
        <p className="task__msg">{[task.message, ...facts].filter(Boolean).join(' · ')}</p>
      ) : null}
    </li>
  );
}
