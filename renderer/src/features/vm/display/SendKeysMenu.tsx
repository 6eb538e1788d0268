import { useEffect, useRef, useState } from 'react';
import { Icon } from '../../../components/Icon';
import { KEY_COMBOS } from './keys';

/** Key combinations the browser would keep for itself, sent to the guest from a menu. */
export function SendKeysMenu({
  disabled,
  onSend,
}: {
  disabled: boolean;
  onSend: (keys: string[]) => void;
}) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey, true);
    };
  }, [open]);
  return (
    <div className="menu-wrap" ref={ref}>
      <button
        type="button"
        className="btn btn--compact"
        aria-haspopup="menu"
        aria-expanded={open}
        disabled={disabled}
        onClick={() => setOpen((o) => !o)}
        title="Send a key combination the browser would keep for itself"
      >
        Send keys
        <Icon name="chevronDown" size={14} />
      </button>
      {open ? (
        <div className="menu" role="menu">
          {KEY_COMBOS.map((c) => (
            <button
              key={c.label}
              type="button"
              role="menuitem"
              className="menu__item"
              onClick={() => {
                setOpen(false);
                onSend(c.keys);
              }}
            >
              {c.label}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
