import { useEffect, useState } from 'react';
import type { SnapshotNode } from '../../../../../common/contract';
import { loadThumbnail, updateSnapshot } from '../../../actions/snapshots';
import { Icon } from '../../../components/Icon';
import { formatBytes, timeAgo } from '../../../../../common/format';
import { thumbKey, useSnapshotsStore } from '../../../stores/snapshots';

interface Props {
  node: SnapshotNode;
  vmId: string;
  current: boolean;
  now: number;
  busy: boolean;
  onRevert: (node: SnapshotNode) => void;
  onDelete: (node: SnapshotNode) => void;
}

export function kindLabel(node: SnapshotNode): string {
  if (node.kind === 'disk') return 'Disk only';
  return node.vmStateSize ? `Live · ${formatBytes(node.vmStateSize)} memory` : 'Live';
}

/** One snapshot: its screen, name, description, when, what it holds, and what can be done. */
export function SnapshotCard({ node, vmId, current, now, busy, onRevert, onDelete }: Props) {
  const thumb = useSnapshotsStore((s) => s.thumbs[thumbKey(vmId, node.id)]);
  useEffect(() => {
    void loadThumbnail(vmId, node);
  }, [vmId, node]);
  const [editing, setEditing] = useState(false);
  const created = new Date(node.createdAt);
  return (
    <article
      className={`snap-card${current ? ' snap-card--current' : ''}${
        node.status !== 'ok' ? ' snap-card--missing' : ''
      }`}
      data-testid="snapshot-card"
      data-snapshot={node.name}
      data-current={current ? 'true' : undefined}
    >
      <div className="snap-card__thumb">
        {thumb ? (
          <img
            src={thumb}
            alt={`The screen when “${node.name}” was taken`}
            data-testid="snapshot-thumb"
          />
        ) : thumb === null ? (
          <div className="snap-card__nothumb" title="No screen image was saved with this snapshot">
            <Icon name={node.kind === 'disk' ? 'disk' : 'monitor'} size={22} />
            <span>{node.kind === 'disk' ? 'Taken while off' : 'No screen image'}</span>
          </div>
        ) : (
          <div className="snap-card__nothumb" aria-busy="true">
            <span className="spinner spinner--small" />
          </div>
        )}
      </div>
      <div className="snap-card__body">
        {editing ? (
          <EditForm vmId={vmId} node={node} onDone={() => setEditing(false)} />
        ) : (
          <>
            <div className="snap-card__top">
              <h3 className="snap-card__name" title={node.name}>
                {node.name}
              </h3>
              {current ? (
                <span
                  className="badge badge--good snap-card__here"
                  data-testid="snapshot-current"
                  title="You are here: the VM’s present state grew from this snapshot"
                >
                  <span className="badge__dot" />
                  Current
                </span>
              ) : null}
            </div>
            <p className="snap-card__meta">
              <time dateTime={node.createdAt} title={created.toLocaleString()}>
                <Icon name="clock" size={13} />
                {timeAgo(node.createdAt, now)}
              </time>
              <span className={`snap-kind snap-kind--${node.kind}`}>
                <Icon name={node.kind === 'live' ? 'memory' : 'disk'} size={13} />
                {kindLabel(node)}
              </span>
              {node.external ? (
                <span className="snap-kind" title="Made outside Vivarium (qemu-img, virsh…)">
                  External
                </span>
              ) : null}
              {node.status !== 'ok' ? (
                <span
                  className="snap-kind snap-kind--bad"
                  title={
                    node.status === 'missing'
                      ? 'No disk image holds it any more: it was deleted outside Vivarium. Delete it here to tidy the timeline.'
                      : 'Only some of the disk images hold it: reverting could mix states.'
                  }
                >
                  <Icon name="alert" size={13} />
                  {node.status === 'missing' ? 'Missing' : 'Partial'}
                </span>
              ) : null}
            </p>
            {node.description ? (
              <p className="snap-card__desc">{node.description}</p>
            ) : (
              <p className="snap-card__desc snap-card__desc--none">No description</p>
            )}
            <div className="snap-card__actions">
              <button
                type="button"
                className="btn btn--compact"
                data-testid="snapshot-revert"
                disabled={!node.canRevert.ok || busy}
                title={node.canRevert.ok ? 'Go back to this moment' : node.canRevert.reason}
                onClick={() => onRevert(node)}
              >
                <Icon name="back" size={14} />
                Revert
              </button>
              <button
                type="button"
                className="btn btn--compact btn--ghost"
                data-testid="snapshot-edit"
                onClick={() => setEditing(true)}
              >
                <Icon name="type" size={14} />
                Rename / describe
              </button>
              <button
                type="button"
                className="btn btn--compact btn--ghost snap-card__delete"
                data-testid="snapshot-delete"
                disabled={!node.canDelete.ok || busy}
                title={node.canDelete.ok ? 'Delete this snapshot' : node.canDelete.reason}
                onClick={() => onDelete(node)}
              >
                <Icon name="trash" size={14} />
                Delete
              </button>
            </div>
            {!node.canRevert.ok ? <p className="snap-card__why">{node.canRevert.reason}</p> : null}
          </>
        )}
      </div>
    </article>
  );
}

function EditForm({
  vmId,
  node,
  onDone,
}: {
  vmId: string;
  node: SnapshotNode;
  onDone: () => void;
}) {
  const [name, setName] = useState(node.name);
  const [description, setDescription] = useState(node.description);
  const [saving, setSaving] = useState(false);
  const error = name.trim() === '' ? 'Give the snapshot a name' : null;
  const save = async () => {
    if (error) return;
    setSaving(true);
    const ok = await updateSnapshot(vmId, node, { name: name.trim(), description });
    setSaving(false);
    if (ok) onDone();
  };
  return (
    <form
      className="snap-edit"
      data-testid="snapshot-edit-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          onDone();
        }
      }}
    >
      <div className={`field${error ? ' field--error' : ''}`}>
        <label htmlFor={`snap-name-${node.id}`}>Name</label>
        <input
          id={`snap-name-${node.id}`}
          value={name}
          maxLength={120}
          autoFocus
          onChange={(e) => setName(e.target.value)}
        />
        {error ? <span className="field__error">{error}</span> : null}
      </div>
      <div className="field">
        <label htmlFor={`snap-desc-${node.id}`}>Description</label>
        <textarea
          id={`snap-desc-${node.id}`}
          rows={2}
          value={description}
          placeholder="What state is the guest in? (optional)"
          onChange={(e) => setDescription(e.target.value)}
        />
      </div>
      <div className="snap-card__actions">
        <button
          type="submit"
          className="btn btn--primary btn--compact"
          disabled={!!error || saving}
        >
          <Icon name="check" size={14} />
          {saving ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="btn btn--compact btn--ghost" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
