import { openDialog } from '../../../../actions/ui';
import { Icon } from '../../../../components/Icon';
import { Section } from '../form';

/** Deleting the VM (after a confirmation), only while it is off. */
export function DangerSection({ vmId, off }: { vmId: string; off: boolean }) {
  return (
    <Section title="Danger zone" danger>
      <div className="danger-row">
        <div>
          <strong>Delete this VM</strong>
          <p className="field__hint">
            {off
              ? 'Its settings, logs and (unless you keep them) its disks.'
              : 'Shut it down first.'}
          </p>
        </div>
        <button
          type="button"
          className="btn btn--danger"
          disabled={!off}
          onClick={() => openDialog({ type: 'deleteVm', vmId })}
        >
          <Icon name="trash" size={14} />
          Delete VM…
        </button>
      </div>
    </Section>
  );
}
