import { useState } from 'react';
import type { VmSummary } from '../../../../common/contract';
import { ejectInstallMedia } from '../../actions/wizard/eject';
import { Icon } from '../../components/Icon';
import { useMediaName } from '../../hooks/use-media-name';
import { isGuestUp, isOff } from '../../../../common/vm-state';
import './eject.css';

/**
 * After the install: one click empties the CD-ROM, boots from the disk and starts the VM (a
 * running VM is shut down first, after a confirmation). Shown while a VM with a disk still has
 * install media in its drive; renders nothing otherwise. For the VM window's Overview.
 */
export function EjectInstallMedia({ vm }: { vm: VmSummary }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const { cdrom, disks, bootOrder } = vm.config;
  const file = useMediaName(cdrom);
  if (!cdrom || disks.length === 0) return null;
  const state = vm.runtime.state;
  const live = isGuestUp(state) || state === 'stopping';
  const transitional = !live && !isOff(state);
  const bootsFromCd = bootOrder[0] === 'cdrom';

  const run = () => {
    setBusy(true);
    setConfirming(false);
    void ejectInstallMedia(vm.id).finally(() => setBusy(false));
  };

  return (
    <div className="callout callout--info eject" data-testid="eject-install-media">
      <Icon name="disk" size={15} />
      <div className="eject__body">
        <p>
          <strong>Install media in the drive:</strong>{' '}
          <code className="path" title={cdrom}>
            {file}
          </code>
          {bootsFromCd ? ', and the VM boots from it first.' : '.'} Once the OS is installed, boot
          from the disk instead.
        </p>
        {confirming ? (
          <div className="eject__confirm" role="alert">
            <p>
              The VM is shut down (powered off if the guest ignores the power button for 15
              seconds), the media ejected, and it starts again from its disk.
            </p>
            <div className="card__actions eject__actions">
              <button type="button" className="btn btn--primary" onClick={run}>
                Eject and restart
              </button>
              <button type="button" className="btn" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <div className="card__actions eject__actions">
            <button
              type="button"
              className={`btn btn--primary${busy ? ' btn--busy' : ''}`}
              disabled={busy || transitional}
              onClick={() => (live ? setConfirming(true) : run())}
            >
              <Icon name="boot" size={15} />
              {busy ? 'Ejecting…' : 'Eject install media and boot from disk'}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
