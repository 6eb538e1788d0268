/**
 * Shows and hides notifications, and nothing else: a leaf every action may call. What a
 * notification's button does lives in notification-actions.ts.
 */
import { toApiError } from '../bridge';
import {
  useNotificationsStore,
  type Notification,
  type NotificationAction,
} from '../stores/notifications';

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

/** What to do next, for errors whose message says what went wrong but not what to try. */
const NEXT_STEP: Partial<Record<string, string>> = {
  TIMEOUT: 'QEMU did not answer in time; try again, and if it keeps happening, power the VM off.',
  QMP_ERROR: 'QEMU refused the request; the VM’s Overview shows its state and log.',
  INTERNAL: 'This is a bug in Vivarium; trying again may work.',
};

/** Shows a failed call with the engine's own message (and a next step); errors stay until dismissed. */
export function notifyError(title: string, err: unknown, action?: NotificationAction): number {
  const e = toApiError(err);
  const next = NEXT_STEP[e.code];
  return notify({
    kind: 'error',
    title,
    message: next ? `${e.message} ${next}` : e.message,
    code: e.code,
    ...(action ? { action } : {}),
  });
}

/** Drops offers to start a VM that is no longer stopped (it was started some other way). */
export function dismissStartOffers(vmId: string): void {
  for (const n of useNotificationsStore.getState().items) {
    if (n.action?.type === 'start' && n.action.vmId === vmId) dismissNotification(n.id);
  }
}

export function dismissNotification(id: number): void {
  const t = timers.get(id);
  if (t) clearTimeout(t);
  timers.delete(id);
  useNotificationsStore.setState((s) => ({ items: s.items.filter((n) => n.id !== id) }));
}
