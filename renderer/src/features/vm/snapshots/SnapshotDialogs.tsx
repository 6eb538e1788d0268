import { useState } from 'react';
import type { SnapshotList, SnapshotNode, VmSummary } from '../../../../../common/contract';
import { createSnapshot, deleteSnapshot, revertSnapshot } from '../../../actions/snapshots';
import { stopAsking } from '../../../actions/vm';
import { Icon } from '../../../components/Icon';
import { ConfirmModal, Modal } from '../../../components/Modal';
import { plural } from '../../../../../common/format';
import { kindLabel } from './SnapshotCard';

interface Props {
  vm: VmSummary;
  list: SnapshotList;
  onClose: () => void;
}

function nameError(name: string, list: SnapshotList): string | null {
  const n = name.trim();
  if (!n) return 'Give the snapshot a name';
  if (n.length > 120) return 'Keep the name under 120 characters';
  if (list.snapshots.some((s) => s.name === n)) return 'Another snapshot has this name';
  return null;
}

export function TakeDialog({ vm, list, onClose }: Props) {
  const [name, setName] = useState(() => {
    for (let i = list.snapshots.length + 1; ; i++) {
      const n = `Snapshot ${i}`;
      if (!list.snapshots.some((s) => s.name === n)) return n;
    }
  });
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [touched, setTouched] = useState(false);
  const error = nameError(name, list);
  const can = list.canSnapshot;
  const submit = async () => {
    setTouched(true);
    if (error || !can.ok) return;
    setBusy(true);
    const ok = await createSnapshot(vm.id, name.trim(), description);
    setBusy(false);
    if (ok) onClose();
  };
  return (
    <Modal
      title={`Take a snapshot of “${vm.name}”`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form="snapshot-take-form"
            className="btn btn--primary"
            data-testid="snapshot-take-confirm"
            disabled={busy || !can.ok || (touched && !!error)}
          >
            <Icon name="camera" size={15} />
            {busy ? 'Starting…' : 'Take snapshot'}
          </button>
        </>
      }
    >
      <form
        id="snapshot-take-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className={`field${touched && error ? ' field--error' : ''}`}>
          <label htmlFor="snapshot-name">Name</label>
          <input
            id="snapshot-name"
            data-testid="snapshot-name"
            value={name}
            maxLength={120}
            autoFocus
            onFocus={(e) => e.currentTarget.select()}
            onChange={(e) => {
              setName(e.target.value);
              setTouched(true);
            }}
          />
          {touched && error ? <span className="field__error">{error}</span> : null}
        </div>
        <div className="field">
          <label htmlFor="snapshot-description">Description (optional)</label>
          <textarea
            id="snapshot-description"
            data-testid="snapshot-description"
            rows={3}
            value={description}
            placeholder="e.g. Clean install, before updating the kernel"
            onChange={(e) => setDescription(e.target.value)}
          />
        </div>
      </form>
      <p className="modal__note">
        {can.ok
          ? can.kind === 'live'
            ? 'Saves the memory, devices and disks. The guest pauses for a moment and carries on.'
            : 'The VM is off: saves its disks.'
          : can.reason}
      </p>
    </Modal>
  );
}

export function RevertDialog({ vm, list, node, onClose }: Props & { node: SnapshotNode }) {
  const current = list.snapshots.find((s) => s.id === list.current);
  const live = vm.runtime.state !== 'stopped' && vm.runtime.state !== 'crashed';
  const [dontAsk, setDontAsk] = useState(false);
  return (
    <ConfirmModal
      title={`Revert “${vm.name}” to “${node.name}”?`}
      onClose={onClose}
      onConfirm={async () => {
        if (dontAsk && !(await stopAsking(vm.id))) return false;
        return revertSnapshot(vm.id, node);
      }}
      icon="back"
      label="Revert"
      busyLabel="Reverting…"
      testId="snapshot-revert-confirm"
    >
      <div className="callout callout--error callout--block snap-warn">
        <p>
          <strong>Unsaved state is lost.</strong>{' '}
          {live ? 'Everything the VM did' : 'Every change to the disks'}{' '}
          {current ? `since “${current.name}”` : 'since it was created'} that is not in a snapshot
          is thrown away: open programs, unsaved work, files written since.
        </p>
      </div>
      <p className="modal__note">
        {node.kind === 'live'
          ? live
            ? 'The VM jumps back to that moment, memory and all, in the same QEMU process.'
            : 'The VM starts, exactly where it was at that moment.'
          : 'Its disks go back to that moment' + (live ? '; the VM restarts from them.' : '.')}{' '}
        ({kindLabel(node)}.) To keep the present, take a snapshot first.
      </p>
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

export function DeleteDialog({ vm, list, node, onClose }: Props & { node: SnapshotNode }) {
  const parent = list.snapshots.find((s) => s.id === node.parent);
  const kids = node.children.length;
  return (
    <ConfirmModal
      title={`Delete snapshot “${node.name}”?`}
      onClose={onClose}
      onConfirm={() => deleteSnapshot(vm.id, node)}
      icon="trash"
      label="Delete"
      busyLabel="Deleting…"
      testId="snapshot-delete-confirm"
    >
      <p>
        You can no longer go back to this moment. The VM as it is now does not change
        {node.kind === 'live' && node.vmStateSize
          ? `, and the ${kindLabel(node).replace('Live · ', '')} it saved is freed`
          : ''}
        .
      </p>
      {kids > 0 ? (
        <p className="modal__note">
          Its {plural(kids, 'later snapshot')} {kids === 1 ? 'is' : 'are'} kept:{' '}
          {kids === 1 ? 'it' : 'they'} will hang from{' '}
          {parent ? `“${parent.name}”` : 'the start of the timeline'} and still revert.
        </p>
      ) : null}
      {node.status === 'missing' ? (
        <p className="modal__note">
          No disk image holds it any more: this only removes it from the timeline.
        </p>
      ) : null}
    </ConfirmModal>
  );
}
