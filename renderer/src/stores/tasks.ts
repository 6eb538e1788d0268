import { create } from 'zustand';
import type { TaskInfo } from '../../../common/contract';

export interface TasksState {
  /** Every task the engine reported in this session, by id, newest last. */
  tasks: Record<string, TaskInfo>;
  /** Finished tasks the user closed (or that faded out). */
  hidden: string[];
}

/** Only `actions/tasks.ts` writes to it (events arrive through actions/event-router.ts). */
export const useTasksStore = create<TasksState>()(() => ({ tasks: {}, hidden: [] }));

/** The task's report replaces the one before it. */
export function upsertTask(
  tasks: Readonly<Record<string, TaskInfo>>,
  task: TaskInfo,
): Record<string, TaskInfo> {
  return { ...tasks, [task.id]: task };
}

/** This report is the task's end, seen for the first time (say so once). */
export function justEnded(previous: TaskInfo | undefined, task: TaskInfo): boolean {
  return task.state !== 'running' && previous?.state !== task.state;
}

/**
 * task.list after a (re)load over what this page knew: running tasks join, known ones update,
 * old finished ones stay history.
 */
export function mergeTaskList(
  tasks: Readonly<Record<string, TaskInfo>>,
  list: readonly TaskInfo[],
): Record<string, TaskInfo> {
  const next = { ...tasks };
  for (const t of list) if (t.state === 'running' || next[t.id]) next[t.id] = t;
  return next;
}
