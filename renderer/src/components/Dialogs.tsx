import { lazy, Suspense, useState } from 'react';
import { POWER_QUESTIONS } from '../../../common/rules/confirmations';
import { deleteVm, runVmOperation, stopAsking } from '../actions/vm';
import { closeDialog } from '../actions/ui';
import { assertNever } from '../lib/assert-never';
import { SHORTCUTS } from '../hooks/use-shortcuts';
import { DeleteMediaDialog } from '../features/host/DeleteMediaDialog';
import { DiscardStateDialog } from '../features/savestate/DiscardStateDialog';
import { ExportDialog } from '../features/interop/ExportDialog';
import { useLibraryStore } from '../stores/library';
import { useUiStore, type Dialog } from '../stores/ui';
import { ConfirmModal, Modal } from './Modal';

/** The New-VM wizard, loaded with its own chunk. */
const NewVmWizard = lazy(() => import('../features/wizard/Wizard'));
/** The Migrate dialog validates with the contract's schemas: its own chunk too. */
const MigrateDialog = lazy(() => import('../features/migrate/MigrateDialog'));

/** The one open dialog, if any. */
export function Dialogs() {
  const dialog = useUiStore((s) => s.dialog);
  if (!dialog) return null;
  return <DialogFor dialog={dialog} />;
}

function DialogFor({ dialog }: { dialog: Dialog }) {
  switch (dialog.type) {
    case 'newVm':
      return (
        <Suspense fallback={null}>
          <NewVmWizard onClose={closeDialog} />
        </Suspense>
      );
    case 'deleteVm':
      return <DeleteVmDialog vmId={dialog.vmId} />;
    case 'shortcuts':
      return <ShortcutsDialog />;
    case 'deleteMedia':
      return <DeleteMediaDialog sha256={dialog.sha256} />;
    case 'discardState':
      return <DiscardStateDialog vmId={dialog.vmId} />;
    case 'migrate':
      return (
        <Suspense fallback={null}>
          <MigrateDialog vmId={dialog.vmId} />
        </Suspense>
      );
    case 'exportLibvirt':
      return <ExportDialog vmId={dialog.vmId} />;
    case 'confirmPower':
      return <ConfirmPowerDialog vmId={dialog.vmId} op={dialog.op} />;
    default:
      return assertNever(dialog);
  }
}

function ShortcutsDialog() {
  return (
    <Modal title="Keyboard shortcuts" onClose={closeDialog}>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.what}>
              <td className="shortcuts__keys">
                {s.keys.map((k, i) => (
                  <kbd key={i}>{k}</kbd>
                ))}
              </td>
              <td>{s.what}</td>
              <td className="shortcuts__where">{s.where}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="modal__note">
        While the VM’s screen or a console has the keyboard, keys go to the guest; click outside it
        to use these shortcuts.
      </p>
    </Modal>
  );
}

function DeleteVmDialog({ vmId }: { vmId: string }) {
  const vm = useLibraryStore((s) => s.vms.find((v) => v.id === vmId));
  const [keepDisks, setKeepDisks] = useState(false);
  if (!vm) return null;
  const hasDisks = vm.config.disks.length > 0;
  return (
    <ConfirmModal
      title={`Delete “${vm.name}”?`}
      onClose={closeDialog}
      onConfirm={async () => {
        await deleteVm(vmId, keepDisks);
        return true;
      }}
      label="Delete VM"
    >
      <div className="callout callout--error callout--block">
        <p>
          <strong>Lost:</strong> the VM’s settings, logs, snapshots
          {vm.runtime.state === 'saved' ? ', its saved state' : ''}
          {hasDisks && !keepDisks ? ' and its disks, with everything stored on them' : ''}. It
          cannot be undone.
        </p>
      </div>
      <p className="modal__note">
        <strong>Stays:</strong> the install media in Vivarium’s cache
        {hasDisks && keepDisks ? ', and the disk images, in the VM’s folder' : ''}
        {vm.config.disks.some((d) => d.file.startsWith('/'))
          ? ', and disk images of yours outside the VM’s folder'
          : ''}
        .
      </p>
      {hasDisks ? (
        <label className="check">
          <input
            type="checkbox"
            checked={keepDisks}
            onChange={(e) => setKeepDisks(e.target.checked)}
          />
          <span>
            Keep the disk images (in <code className="path">{vm.dir}</code>)
          </span>
        </label>
      ) : null}
    </ConfirmModal>
  );
}

/** Power off or Reset, asked first: what is lost, and "don't ask again" for this VM. */
function ConfirmPowerDialog({ vmId, op }: { vmId: string; op: 'powerOff' | 'reset' }) {
  const vm = useLibraryStore((s) => s.vms.find((v) => v.id === vmId));
  const [dontAsk, setDontAsk] = useState(false);
  if (!vm) return null;
  const q = POWER_QUESTIONS[op];
  return (
    <ConfirmModal
      title={q.title(vm.name)}
      onClose={closeDialog}
      onConfirm={async () => {
        if (dontAsk && !(await stopAsking(vmId))) return false;
        closeDialog();
        await runVmOperation(vmId, op);
        return false;
      }}
      icon={op === 'powerOff' ? 'stop' : 'refresh'}
      label={q.button}
      testId="confirm-power"
    >
      <div className="callout callout--error callout--block">
        <p>
          <strong>{q.lost}</strong>
        </p>
      </div>
      <p className="modal__note">{q.next}</p>
      <label className="check">
        <input
          type="checkbox"
          data-testid="dont-ask-again"
          checked={dontAsk}
          onChange={(e) => setDontAsk(e.target.checked)}
        />
        Don’t ask again for this VM (Settings › General turns the question back on)
      </label>
    </ConfirmModal>
  );
}
