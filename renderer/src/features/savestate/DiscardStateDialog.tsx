import { discardSavedState } from '../../actions/vm';
import { closeDialog } from '../../actions/ui';
import { ConfirmModal } from '../../components/Modal';
import { useLibraryStore } from '../../stores/library';

/** Confirms dropping a saved VM's memory: what was open in the guest is lost, the disks stay. */
export function DiscardStateDialog({ vmId }: { vmId: string }) {
  const vm = useLibraryStore((s) => s.vms.find((v) => v.id === vmId));
  if (!vm) return null;
  return (
    <ConfirmModal
      title={`Discard the saved state of “${vm.name}”?`}
      onClose={closeDialog}
      onConfirm={() => discardSavedState(vmId)}
      label="Discard saved state"
      busyLabel="Discarding…"
      icon="trash"
      testId="discard-state-confirm"
    >
      <p>
        The guest’s memory as it was saved is deleted: programs that were open and anything not
        written to its disks are lost, as after a power cut. Its disks stay as they are, and the
        next start boots it fresh.
      </p>
    </ConfirmModal>
  );
}
