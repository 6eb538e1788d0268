import type { VmSummary } from '../../../../../../common/contract';
import { navigate } from '../../../../actions/ui';
import { Icon } from '../../../../components/Icon';
import { DiskSizes } from '../../hardware/DiskSizes';
import { Section } from '../form';

/**
 * The disks, read-only: Settings is a form saved as a whole, while adding, growing or detaching a
 * disk happens at once (and some of it while the VM runs), so those live in the Hardware tab.
 */
export function StorageSection({ vm, active }: { vm: VmSummary; active: boolean }) {
  return (
    <Section title="Storage">
      <DiskSizes vm={vm} active={active} />
      <p className="field__hint">
        Disks are added, grown, detached and given their bus and cache mode in the Hardware tab:
        each change applies at once, not with Save.
      </p>
      <div>
        <button
          type="button"
          className="btn btn--compact"
          data-testid="settings-manage-disks"
          onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: 'hardware' })}
        >
          <Icon name="disk" size={14} />
          Open Hardware
        </button>
      </div>
    </Section>
  );
}
