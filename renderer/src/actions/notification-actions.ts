import type { NotificationAction } from '../stores/notifications';
import { dismissNotification } from './notifications';
import { openVm } from './ui';
import { requestVmOperation, runVmOperation } from './vm';

/** One handler per kind of action: a new kind is a compile error until it has one. */
const ACTIONS: {
  [K in NotificationAction['type']]: (a: Extract<NotificationAction, { type: K }>) => void;
} = {
  powerOff: (a) => requestVmOperation(a.vmId, 'powerOff'),
  start: (a) => void runVmOperation(a.vmId, 'start'),
  openVm: (a) => openVm(a.vmId, a.tab),
};

/** The user pressed a notification's button: it goes away and its action runs. */
export function runNotificationAction(id: number, action: NotificationAction): void {
  dismissNotification(id);
  (ACTIONS[action.type] as (a: NotificationAction) => void)(action);
}
