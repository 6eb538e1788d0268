import { toApiError } from '../bridge';
import {
  useNotificationsStore,
  type Notification,
  type NotificationAction,
} from '../stores/notifications';
import { runVmOperation } from './library';

let nextId = 1;
const timers = new Map<number, ReturnType<typeof setTimeout>>();
/** At most this many at once; the oldest go first. */
const MAX_VISIBLE = 5;

export function notify(n: Omit<Notification, 'id'>, autoDismissMs?: number): number {
  const id = nextId++;
  useNotificationsStore.setState((s) => {
    const items = [...s.items, { ...n, id }];
    return { items: items.slice(Math.max(0, items.length - MAX_VISIBLE)) };
  });
  if (autoDismissMs) {
    timers.set(
      id,
      setTimeout(() => dismissNotification(id), autoDismissMs),
    );
  }
  return id;
}

/** Shows a failed call with the engine's own message; errors stay until dismissed. */
export function notifyError(title: string, err: unknown): number {
  const e = toApiError(err);
  return notify({ kind: 'error', title, message: e.message, code: e.code });
}

export function dismissNotification(id: number): void {
  const t = timers.get(id);
  if (t) clearTimeout(t);
  timers.delete(id);
  useNotificationsStore.setState((s) => ({ items: s.items.filter((n) => n.id !== id) }));
}

/** One handler per kind of action: a new kind is a compile error until it has one. */
const ACTIONS: {
  [K in NotificationAction['type']]: (a: Extract<NotificationAction, { type: K }>) => void;
} = {
  powerOff: (a) => void runVmOperation(a.vmId, 'powerOff'),
};

export function runNotificationAction(id: number, action: NotificationAction): void {
  dismissNotification(id);
  ACTIONS[action.type](action);
}
