import { useState } from 'react';
import { CLIPBOARD_GUEST_NEEDS, CLIPBOARD_NEEDS_STOP } from '../../../../../common/rules/shares';
import { isOff } from '../../../../../common/vm-state';
import { setClipboard } from '../../../actions/shares';
import { Icon } from '../../../components/Icon';
import type { HardwarePanelProps } from './panel-props';
import './shares.css';

/**
 * Clipboard sharing, a switch: QEMU's vdagent channel, which carries the clipboard between the
 * guest's spice-vdagent and the Display tab. Changed while the VM is shut down; what it costs
 * (snapshots detach it, a save to disk refuses it) said beside it.
 */
export default function ClipboardPanel({ vm }: HardwarePanelProps) {
  // What the user asked for, shown until the engine's answer (the VM's new config) arrives.
  const [pending, setPending] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = pending !== null;
  const on = pending ?? vm.config.clipboard;
  const locked = isOff(vm.runtime.state) ? null : CLIPBOARD_NEEDS_STOP;

  const toggle = (next: boolean) => {
    setPending(next);
    setError(null);
    void setClipboard(vm.id, next).then((r) => {
      setPending(null);
      if (!r.ok) setError(r.message);
    });
  };

  return (
    <div className="shares clipboard-panel" data-testid="clipboard-panel">
      <div className="shares__head">
        <div>
          <h2>Clipboard sharing</h2>
          <p className="muted">
            Copy in the guest, paste on this computer, and back, through the Display tab.
          </p>
        </div>
      </div>
      {locked ? (
        <p className="callout callout--info" data-testid="clipboard-locked">
          <Icon name="lock" size={15} />
          <span>{locked}</span>
        </p>
      ) : null}
      <div className="card shares__form">
        <label className="check" title={locked ?? undefined}>
          <input
            type="checkbox"
            role="switch"
            data-testid="clipboard-switch"
            checked={on}
            disabled={busy || locked !== null}
            onChange={(e) => toggle(e.target.checked)}
          />
          Share the clipboard with the guest
        </label>
        <p className="field__hint">{CLIPBOARD_GUEST_NEEDS}</p>
        <p className="field__hint">
          QEMU 7.2 cannot save this channel: Vivarium takes it off for each live snapshot and puts
          it back after, but a VM with clipboard sharing on cannot be saved to disk or migrated.
        </p>
        {error ? (
          <p className="field__error" role="alert">
            {error}
          </p>
        ) : null}
      </div>
    </div>
  );
}
