import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Icon, type IconName } from './Icon';

/**
 * A modal on the native <dialog>: focus stays inside, Esc closes, the page behind is inert.
 * `onClose` runs for Esc, the close button and a click on the backdrop.
 */
export function Modal({
  title,
  onClose,
  children,
  footer,
  wide = false,
  labelledBy = 'modal-title',
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  labelledBy?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={`modal${wide ? ' modal--wide' : ''}`}
      aria-labelledby={labelledBy}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onMouseDown={(e) => {
        // A press on the backdrop (the dialog element itself, outside its box) closes it.
        if (e.target !== ref.current) return;
        const r = ref.current.getBoundingClientRect();
        const inside =
          e.clientX >= r.left &&
          e.clientX <= r.right &&
          e.clientY >= r.top &&
          e.clientY <= r.bottom;
        if (!inside) onClose();
      }}
    >
      <div className="modal__box">
        <header className="modal__head">
          <h2 id={labelledBy}>{title}</h2>
          <button type="button" className="icon-btn" aria-label="Close" onClick={onClose}>
            <Icon name="close" size={18} />
          </button>
        </header>
        <div className="modal__body">{children}</div>
        {footer ? <footer className="modal__foot">{footer}</footer> : null}
      </div>
    </dialog>
  );
}

/**
 * A Modal asking to confirm something that cannot be undone: Cancel, and a red button that runs
 * `onConfirm` (disabled meanwhile, showing `busyLabel` or, with `spinner`, a spinner) and closes
 * the modal when it resolves true.
 */
export function ConfirmModal({
  title,
  onClose,
  onConfirm,
  label,
  busyLabel = label,
  icon,
  spinner = false,
  testId,
  children,
}: {
  title: ReactNode;
  onClose: () => void;
  onConfirm: () => Promise<boolean>;
  label: string;
  busyLabel?: string;
  icon?: IconName;
  spinner?: boolean;
  testId?: string;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <Modal
      title={title}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className={`btn btn--danger-solid${spinner && busy ? ' btn--busy' : ''}`}
            data-testid={testId}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              const ok = await onConfirm();
              setBusy(false);
              if (ok) onClose();
            }}
          >
            {icon ? <Icon name={icon} size={15} /> : null}
            {busy ? busyLabel : label}
          </button>
        </>
      }
    >
      {children}
    </Modal>
  );
}
