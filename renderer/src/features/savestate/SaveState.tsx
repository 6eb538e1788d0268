/**
 * The pieces of save-to-disk that the library card and the VM window share: when the VM was saved,
 * the save's progress with its Cancel, and the way to drop the saved state.
 */
import type { VmSummary } from '../../../../common/contract';
import { isSaved } from '../../../../common/vm-state';
import { cancelTask } from '../../actions/tasks';
import { openDialog } from '../../actions/ui';
import { Icon } from '../../components/Icon';
import { useNow } from '../../hooks/use-now';
import { runningTask, savedLabel, taskPercent } from '../../lib/save-state';
import { useTasksStore } from '../../stores/tasks';
import './savestate.css';

/** "Saved 2 min ago" beside the badge of a saved VM, kept current. */
export function SavedSince({ vm }: { vm: VmSummary }) {
  const saved = isSaved(vm.runtime.state);
  const now = useNow(15_000, saved);
  if (!saved) return null;
  const at = vm.runtime.savedAt;
  return (
    <span
      className="saved-since"
      data-testid="saved-since"
      title={at ? `Saved to disk on ${new Date(at).toLocaleString()}` : 'Saved to disk'}
    >
      <Icon name="clock" size={13} />
      {savedLabel(at, now)}
    </span>
  );
}

/** The running save of this VM as a progress bar, with Cancel (the VM then keeps running). */
export function SuspendProgress({ vmId, compact = false }: { vmId: string; compact?: boolean }) {
  const task = useTasksStore((s) => runningTask(s.tasks, vmId, 'vm.suspend'));
  if (!task) return null;
  const pct = taskPercent(task);
  return (
    <div
      className={`task-strip${compact ? ' task-strip--compact' : ''}`}
      data-testid="suspend-progress"
      role="status"
    >
      <div className="task-strip__line">
        <strong>{compact ? 'Saving to disk' : task.title}</strong>
        <span>{pct === null ? 'Starting…' : `${pct}%`}</span>
        {task.cancellable ? (
          <button
            type="button"
            className="btn btn--ghost btn--compact"
            title="Stop saving: the VM keeps running"
            onClick={() => void cancelTask(task.id)}
          >
            Cancel
          </button>
        ) : null}
      </div>
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
    </div>
  );
}

/** Opens the confirmation to drop a saved VM's saved state; shown only while it is saved. */
export function DiscardStateButton({ vm, compact = false }: { vm: VmSummary; compact?: boolean }) {
  if (!isSaved(vm.runtime.state)) return null;
  return (
    <button
      type="button"
      className={`btn btn--ghost${compact ? ' btn--compact' : ''}`}
      data-testid="discard-state"
      title="Forget the saved memory: the next start boots the VM fresh"
      onClick={() => openDialog({ type: 'discardState', vmId: vm.id })}
    >
      <Icon name="trash" size={14} />
      Discard saved state…
    </button>
  );
}
