import { create } from 'zustand';
import type { TaskInfo } from '../../../common/contract';

export interface TasksState {
  /** Every task the engine reported in this session, by id, newest last. */
  tasks: Record<string, TaskInfo>;
  /** Finished tasks the user closed (or that faded out). */
  hidden: string[];
}

/** Only `actions/tasks.ts` writes to it. */
export const useTasksStore = create<TasksState>()(() => ({ tasks: {}, hidden: [] }));
