/**
 * How the UI speaks of a VM saved to disk and of its long tasks (suspend, migrate), without React:
 * the words under the badge, the Start button's label, a task's percentage, the lock on settings.
 * The rules themselves are the engine's, from common/rules/vm-settings.ts.
 */
import type { TaskInfo } from '../../../common/contract';
import { timeAgo } from '../../../common/format';
import {
  savedRefusalMessage,
  savedToChangeMessage,
  type SavedRefusal,
} from '../../../common/rules/vm-settings';
import { isSaved, type VmState } from '../../../common/vm-state';
import type { VmOperation } from '../stores/ui';

/** "Saved 2 min ago", "Saved just now"; plain "Saved" when the time is unknown. */
export function savedLabel(savedAt: string | null, now: number): string {
  const ago = savedAt ? timeAgo(savedAt, now) : '';
  return ago ? `Saved ${ago}` : 'Saved';
}

/** Start on a saved VM resumes it where it was: the button says so. */
export function opLabel(op: VmOperation, state: VmState, label: string): string {
  return op === 'start' && isSaved(state) ? 'Resume' : label;
}

/** A task's progress as a whole percentage, from its fraction or its bytes; null when unknown. */
export function taskPercent(task: Pick<TaskInfo, 'progress' | 'bytesDone' | 'bytesTotal'>) {
  const fraction =
    task.progress ??
    (task.bytesDone !== null && task.bytesTotal ? task.bytesDone / task.bytesTotal : null);
  if (fraction === null || !Number.isFinite(fraction)) return null;
  return Math.round(Math.min(1, Math.max(0, fraction)) * 100);
}

/** The newest running task of `kind` for a VM, if any. */
export function runningTask(
  tasks: Readonly<Record<string, TaskInfo>>,
  vmId: string,
  kind: string,
): TaskInfo | undefined {
  let found: TaskInfo | undefined;
  for (const t of Object.values(tasks)) {
    if (t.vmId !== vmId || t.kind !== kind || t.state !== 'running') continue;
    if (!found || t.startedAt > found.startedAt) found = t;
  }
  return found;
}

/**
 * Why the Settings form's hardware fields are locked in this state, or null when they are not:
 * a saved VM gives the common rule's reason and its way out; a live one says to shut it down.
 */
export function settingsLockReason(name: string, state: VmState, off: boolean): string | null {
  if (off) return null;
  if (isSaved(state)) return savedToChangeMessage(['its hardware and disks']);
  return `“${name}” is ${state}: shut it down to change this.`;
}

/** Why a saved VM refuses `what` (snapshots, clones, disks, cards), or null when it is not saved. */
export function savedRefusal(state: VmState, what: SavedRefusal): string | null {
  return isSaved(state) ? savedRefusalMessage(what) : null;
}
