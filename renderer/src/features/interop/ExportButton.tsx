import type { VmSummary } from '../../../../common/contract';
import { isLive, isSaved } from '../../../../common/vm-state';
import { openDialog } from '../../actions/ui';
import { Icon } from '../../components/Icon';

/**
 * Opens Export to libvirt: offered while the VM is off (a running guest's disks are not
 * consistent; a saved one's memory cannot go to libvirt).
 */
export function ExportButton({ vm }: { vm: VmSummary }) {
  const state = vm.runtime.state;
  if (isLive(state) || isSaved(state)) return null;
  return (
    <button
      type="button"
      className="btn btn--ghost"
      data-testid="export-open"
      title="Write this VM as a libvirt domain (virsh, virt-manager, cockpit)"
      onClick={() => openDialog({ type: 'exportLibvirt', vmId: vm.id })}
    >
      <Icon name="download" size={14} />
      Export…
    </button>
  );
}
