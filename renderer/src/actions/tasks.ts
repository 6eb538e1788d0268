import type { TaskInfo } from '../../../common/contract';
import { getBridge, takePrefetched } from '../bridge';
import { useTasksStore } from '../stores/tasks';
import { notify, notifyError } from './notifications';

/** Succeeded tasks leave the panel after this long; failed ones stay until closed. */
const DONE_FADE_MS = 6000;

export function applyTaskEvent(task: TaskInfo): void {
  const previous = useTasksStore.getState().tasks[task.id];
  useTasksStore.setState((s) => ({ tasks: { ...s.tasks, [task.id]: task } }));
  if (previous?.state === task.state || task.state === 'running') return;
  // It just ended: say so once.
  if (task.state === 'failed') {
    notify({
      kind: 'error',
      title: `${task.title} failed`,
      message: task.error?.message ?? task.message ?? 'The task ended with an error.',
      ...(task.error ? { code: task.error.code } : {}),
    });
  } else if (task.state === 'succeeded') {
    notify({ kind: 'info', title: `${task.title}: done`, message: task.message ?? '' }, 4000);
    setTimeout(() => hideTask(task.id), DONE_FADE_MS);
  } else {
    setTimeout(() => hideTask(task.id), DONE_FADE_MS);
  }
}

export async function loadTasks(): Promise<void> {
  try {
    const list = await (takePrefetched('task.list') ?? getBridge().call('task.list', {}));
    useTasksStore.setState((s) => {
      const tasks = { ...s.tasks };
      // Only what is still running matters after a reload; old results are history.
      for (const t of list) if (t.state === 'running' || tasks[t.id]) tasks[t.id] = t;
      return { tasks };
    });
  } catch {
    // Tasks are a side panel: the library works without them.
  }
}

export async function cancelTask(id: string): Promise<void> {
  try {
    const task = await getBridge().call('task.cancel', { id });
    useTasksStore.setState((s) => ({ tasks: { ...s.tasks, [id]: task } }));
  } catch (err) {
    notifyError('Couldn’t cancel the task', err);
  }
}

export function hideTask(id: string): void {
  useTasksStore.setState((s) => (s.hidden.includes(id) ? s : { hidden: [...s.hidden, id] }));
}
