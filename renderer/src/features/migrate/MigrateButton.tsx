import type { VmSummary } from '../../../../common/contract';
import { isGuestUp } from '../../../../common/vm-state';
import { openDialog } from '../../actions/ui';
import { Icon } from '../../components/Icon';
import { MIGRATION_TASK } from '../../lib/migration';
import { runningTask } from '../../lib/save-state';
import { useTasksStore } from '../../stores/tasks';

/**
 * Opens the Migrate dialog: offered while the guest is up (a live migration), and while a
 * migration of this VM runs (to watch it again after hiding the dialog).
 */
export function MigrateButton({ vm }: { vm: VmSummary }) {
  const migrating = useTasksStore((s) => runningTask(s.tasks, vm.id, MIGRATION_TASK) !== undefined);
  if (!migrating && !isGuestUp(vm.runtime.state)) return null;
  return (
    <button
      type="button"
      className={`btn btn--ghost${migrating ? ' btn--busy' : ''}`}
      data-testid="migrate-open"
      title="Move this VM, running, to Vivarium on another computer"
      onClick={() => openDialog({ type: 'migrate', vmId: vm.id })}
    >
      <Icon name="globe" size={14} />
      {migrating ? 'Migrating…' : 'Migrate…'}
    </button>
  );
}
