import { useEffect, useState } from 'react';
import { deleteMedia } from '../../actions/media';
import { closeDialog } from '../../actions/ui';
import { Icon } from '../../components/Icon';
import { ConfirmModal } from '../../components/Modal';
import { StateBadge } from '../../components/StateBadge';
import { formatBytes } from '../../../../common/format';
import { isUploaded } from '../../../../common/media-names';
import { useLibraryStore } from '../../stores/library';
import { useMediaStore } from '../../stores/media';

/**
 * Confirms deleting a cached image. One in a VM's CD-ROM names those VMs and offers "Eject and
 * delete"; the engine decides (a running VM cannot have its drive emptied) and its refusal is
 * shown here.
 */
export function DeleteMediaDialog({ sha256 }: { sha256: string }) {
  const media = useMediaStore((s) =>
    s.cached.status === 'ready' ? s.cached.value.find((m) => m.sha256 === sha256) : undefined,
  );
  const listed = useMediaStore((s) => s.cached.status === 'ready');
  const vms = useLibraryStore((s) => s.vms);
  const [error, setError] = useState<string | null>(null);
  // Deleted meanwhile (another window, the CLI): nothing left to confirm.
  const gone = listed && !media;
  useEffect(() => {
    if (gone) closeDialog();
  }, [gone]);
  if (!media) return null;
  const inUse = media.usedBy.length > 0;

  const run = async () => {
    setError(null);
    const refused = await deleteMedia(sha256, inUse);
    if (refused !== null) setError(refused);
    return refused === null;
  };

  return (
    <ConfirmModal
      title={`Delete “${media.displayName}”?`}
      onClose={closeDialog}
      onConfirm={run}
      icon="trash"
      label={inUse ? 'Eject and delete' : 'Delete'}
      spinner
    >
      <p>
        This removes <code className="path">{media.filename}</code> ({formatBytes(media.bytes)})
        from the media cache.{' '}
        {isUploaded(media)
          ? 'It was uploaded from a browser, so it cannot be downloaded again: to use it later, upload it again.'
          : 'A VM that needs it later downloads it again.'}
      </p>
      {inUse ? (
        <div className="delete-media__used" data-testid="delete-media-used">
          <p>
            It is in the CD-ROM of{' '}
            {media.usedBy.length === 1 ? 'this VM' : `these ${media.usedBy.length} VMs`}:
          </p>
          <ul className="plain-list">
            {media.usedBy.map((u) => {
              const vm = vms.find((v) => v.id === u.id);
              return (
                <li key={u.id}>
                  <Icon name="disk" size={14} />
                  <strong>{vm?.name ?? u.name}</strong>
                  {vm ? <StateBadge state={vm.runtime.state} /> : null}
                </li>
              );
            })}
          </ul>
          <p className="muted">
            <strong>Eject and delete</strong> empties{' '}
            {media.usedBy.length === 1 ? 'its CD-ROM drive' : 'their CD-ROM drives'} first; a VM
            must be stopped for that.
          </p>
        </div>
      ) : null}
      {error ? (
        <p className="callout callout--error" role="alert" data-testid="delete-media-error">
          <Icon name="alert" size={15} />
          <span>{error}</span>
        </p>
      ) : null}
    </ConfirmModal>
  );
}
