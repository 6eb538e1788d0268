import type { TaskInfo } from '../../../common/contract';
import { getBridge, takePrefetched } from '../bridge';
import { migrationDoneMessage } from '../lib/migration';
import { justEnded, mergeTaskList, upsertTask, useTasksStore } from '../stores/tasks';
import { notify, notifyError } from './notifications';

/** Succeeded tasks leave the panel after this long; failed ones stay until closed. */
const DONE_FADE_MS = 6000;

/** A task's report: the store follows, and its end is announced once. */
export function applyTaskEvent(task: TaskInfo): void {
  const previous = useTasksStore.getState().tasks[task.id];
  useTasksStore.setState((s) => ({ tasks: upsertTask(s.tasks, task) }));
  if (!justEnded(previous, task)) return;
  // It just ended: say so once.
  if (task.state === 'failed') {
    notify({
      kind: 'error',
      title: `${task.title} failed`,
      message: task.error?.message ?? task.message ?? 'The task ended with an error.',
      ...(task.error ? { code: task.error.code } : {}),
    });
  } else if (task.state === 'succeeded') {
    notify(
      {
        kind: 'info',
        title: `${task.title}: done`,
        message: migrationDoneMessage(task) ?? task.message ?? '',
      },
      4000,
    );
    setTimeout(() => hideTask(task.id), DONE_FADE_MS);
  } else {
    setTimeout(() => hideTask(task.id), DONE_FADE_MS);
  }
}

export async function loadTasks(): Promise<void> {
  try {
    const list = await (takePrefetched('task.list') ?? getBridge().call('task.list', {}));
    useTasksStore.setState((s) => ({ tasks: mergeTaskList(s.tasks, list) }));
  } catch {
    // Tasks are a side panel: the library works without them.
  }
}

export async function cancelTask(id: string): Promise<void> {
  try {
    const task = await getBridge().call('task.cancel', { id });
    useTasksStore.setState((s) => ({ tasks: upsertTask(s.tasks, task) }));
  } catch (err) {
    notifyError('Couldn’t cancel the task', err);
  }
}

export function hideTask(id: string): void {
  useTasksStore.setState((s) => (s.hidden.includes(id) ? s : { hidden: [...s.hidden, id] }));
}
