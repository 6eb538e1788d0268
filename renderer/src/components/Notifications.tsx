import { runNotificationAction } from '../actions/notification-actions';
import { dismissNotification } from '../actions/notifications';
import { useNotificationsStore } from '../stores/notifications';
import { Icon } from './Icon';

export function Notifications() {
  const items = useNotificationsStore((s) => s.items);
  return (
    <section className="toasts" aria-label="Notifications" aria-live="polite">
      {items.map((n) => (
        <div
          key={n.id}
          className={`toast toast--${n.kind}`}
          role={n.kind === 'error' ? 'alert' : 'status'}
          data-testid="notification"
        >
          <Icon name={n.kind === 'info' ? 'info' : 'alert'} size={18} />
          <div className="toast__body">
            <p className="toast__title">{n.title}</p>
            {n.message ? <p className="toast__message">{n.message}</p> : null}
            {n.code && n.code !== 'INTERNAL' ? <p className="toast__code">{n.code}</p> : null}
            {n.action ? (
              <button
                type="button"
                className={`btn btn--small ${n.action.type === 'powerOff' ? 'btn--danger' : 'btn--secondary'}`}
                onClick={() => n.action && runNotificationAction(n.id, n.action)}
              >
                {n.action.label}
              </button>
            ) : null}
          </div>
          <button
            type="button"
            className="icon-btn"
            aria-label="Dismiss notification"
            title="Dismiss"
            onClick={() => dismissNotification(n.id)}
          >
            <Icon name="close" size={16} />
          </button>
        </div>
      ))}
    </section>
  );
}
