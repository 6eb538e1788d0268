/** What every wizard action shares: the store, the names taken, notifications, task waits. */
import type { TaskInfo } from '../../../../common/contract';
import { toApiError } from '../../bridge';
import { useLibraryStore } from '../../stores/library';
import { useTasksStore } from '../../stores/tasks';
import { useWizardStore, type WizardState } from '../../stores/wizard';
import { notify } from '../notifications';

export const set = (patch: Partial<WizardState> | ((s: WizardState) => Partial<WizardState>)) =>
  useWizardStore.setState(patch);
export const get = () => useWizardStore.getState();
export const takenNames = () => useLibraryStore.getState().vms.map((v) => v.name);

/** An error notification with the engine's message and what to do next. */
export function notifyNext(title: string, err: unknown, next: string): void {
  const e = toApiError(err);
  notify({ kind: 'error', title, message: `${e.message} ${next}`, code: e.code });
}

/** Resolves when the task has ended (from the tasks store, which task events keep current). */
export function waitForTask(id: string): Promise<TaskInfo> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const t = useTasksStore.getState().tasks[id];
      if (t && t.state !== 'running') {
        resolve(t);
        return true;
      }
      return false;
    };
    if (check()) return;
    const unsubscribe = useTasksStore.subscribe(() => {
      if (check()) unsubscribe();
    });
  });
}
