import type RFB from '@novnc/novnc';
import { useEffect, useRef, useState, type RefObject } from 'react';
import { Icon } from '../../../components/Icon';
import { Modal } from '../../../components/Modal';
import { keyFor, XK_SHIFT_L } from './keys';

/** Types text into the guest as key presses: a guest without an agent has no shared clipboard. */
export function PasteDialog({ onClose, rfb }: { onClose: () => void; rfb: RefObject<RFB | null> }) {
  const [text, setText] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const cancelled = useRef(false);
  useEffect(
    () => () => {
      cancelled.current = true;
    },
    [],
  );
  const chars = Array.from(text);
  const stopped = () => cancelled.current;
  const type = async () => {
    cancelled.current = false;
    setProgress(0);
    for (let i = 0; i < chars.length; i++) {
      const r = rfb.current;
      if (stopped() || !r) break;
      const k = keyFor(chars[i] ?? '');
      if (k) {
        if (k.shift) r.sendKey(XK_SHIFT_L, 'ShiftLeft', true);
        r.sendKey(k.keysym, k.code, true);
        r.sendKey(k.keysym, k.code, false);
        if (k.shift) r.sendKey(XK_SHIFT_L, 'ShiftLeft', false);
        // The guest's keyboard buffer is small: give it time to take each key.
        await new Promise((res) => setTimeout(res, 12));
      }
      if (i % 8 === 0) setProgress(i + 1);
    }
    setProgress(null);
    if (!stopped()) onClose();
  };
  const typing = progress !== null;
  return (
    <Modal
      title="Paste text as keystrokes"
      onClose={() => {
        cancelled.current = true;
        onClose();
      }}
      footer={
        <>
          {typing ? (
            <span className="modal__progress">
              Typing… {progress} / {chars.length}
            </span>
          ) : null}
          <button
            type="button"
            className="btn"
            onClick={() => {
              cancelled.current = true;
              if (!typing) onClose();
            }}
          >
            {typing ? 'Stop' : 'Cancel'}
          </button>
          <button
            type="button"
            className="btn btn--primary"
            disabled={typing || chars.length === 0}
            onClick={() => void type()}
          >
            <Icon name="type" size={15} />
            Type into the VM
          </button>
        </>
      }
    >
      <p className="modal__note">
        Vivarium types the text as if on a US keyboard. Put the cursor where it should go in the
        guest first. Paste here with Ctrl+V.
      </p>
      <textarea
        className="paste-area mono"
        value={text}
        autoFocus
        rows={6}
        spellCheck={false}
        placeholder="Text to type…"
        onChange={(e) => setText(e.target.value)}
        disabled={typing}
      />
    </Modal>
  );
}
