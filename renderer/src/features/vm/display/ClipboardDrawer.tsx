import type RFB from '@novnc/novnc';
import { useState, type RefObject } from 'react';
import { CLIPBOARD_GUEST_NEEDS } from '../../../../../common/rules/shares';
import { CopyCommand } from '../../../components/CopyCommand';
import { Icon } from '../../../components/Icon';
import './clipboard.css';

/**
 * The shared clipboard beside the screen (clipboard sharing on): what the guest last copied
 * (also put on this page's clipboard where the browser lets a page write it unasked), and text to
 * hand to the guest's clipboard through QEMU's vdagent (noVNC's clipboardPasteFrom).
 */
export function ClipboardDrawer({
  rfb,
  fromGuest,
  copiedToPage,
  onClose,
}: {
  rfb: RefObject<RFB | null>;
  fromGuest: string | null;
  copiedToPage: boolean;
  onClose: () => void;
}) {
  const [text, setText] = useState('');
  const [sent, setSent] = useState(false);
  const send = () => {
    const r = rfb.current;
    if (!r || !text) return;
    r.clipboardPasteFrom(text);
    setSent(true);
  };
  return (
    <section className="clip-drawer" aria-label="Shared clipboard" data-testid="clipboard-drawer">
      <div className="clip-drawer__head">
        <strong>
          <Icon name="clipboard" size={15} /> Shared clipboard
        </strong>
        <button
          type="button"
          className="icon-btn"
          aria-label="Close the clipboard"
          onClick={onClose}
        >
          <Icon name="close" size={15} />
        </button>
      </div>
      <div className="clip-drawer__col">
        <span className="clip-drawer__label">
          From the guest{copiedToPage ? ' (also on this computer’s clipboard)' : ''}
        </span>
        {fromGuest ? (
          <CopyCommand text={fromGuest} label="Text the guest copied" />
        ) : (
          <span className="muted">Nothing yet: copy something in the guest.</span>
        )}
      </div>
      <div className="clip-drawer__col">
        <label className="clip-drawer__label" htmlFor="clip-to-guest">
          To the guest (then paste there with Ctrl+V)
        </label>
        <div className="clip-drawer__send">
          <textarea
            id="clip-to-guest"
            className="mono"
            rows={2}
            value={text}
            data-testid="clipboard-to-guest"
            onChange={(e) => {
              setText(e.target.value);
              setSent(false);
            }}
          />
          <button
            type="button"
            className="btn btn--compact"
            disabled={!text}
            data-testid="clipboard-send"
            onClick={send}
          >
            <Icon name={sent ? 'check' : 'forward'} size={14} />
            {sent ? 'Sent' : 'Send'}
          </button>
        </div>
      </div>
      <p className="muted clip-drawer__note">{CLIPBOARD_GUEST_NEEDS}</p>
    </section>
  );
}
