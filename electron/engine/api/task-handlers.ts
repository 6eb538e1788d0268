/** The contract's task methods: long work's progress, its result, and cancelling it. */
import type { TaskManager } from '../tasks/task-manager';
import type { HandlerGroup } from './handlers';

export function taskHandlers(
  tasks: TaskManager,
): HandlerGroup<'task.list' | 'task.get' | 'task.cancel'> {
  return {
    'task.list': () => Promise.resolve(tasks.list()),
    'task.get': ({ id }) => Promise.resolve().then(() => tasks.get(id)),
    'task.cancel': ({ id }) => Promise.resolve().then(() => tasks.cancel(id)),
  };
}
