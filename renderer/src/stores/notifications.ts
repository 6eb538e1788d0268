import { create } from 'zustand';
import type { BridgeErrorCode } from '../bridge/types';

export type NotificationKind = 'error' | 'warning' | 'info';

/** Something a notification offers to do; each kind is handled in actions/notification-actions.ts. */
export type NotificationAction =
  | { type: 'powerOff'; vmId: string; label: string }
  | { type: 'start'; vmId: string; label: string }
  | { type: 'openVm'; vmId: string; tab: string; label: string };

export interface Notification {
  id: number;
  kind: NotificationKind;
  title: string;
  /** The engine's own message, shown as is. */
  message: string;
  code?: BridgeErrorCode;
  action?: NotificationAction;
}

export interface NotificationsState {
  items: Notification[];
}

/** Only `actions/notifications.ts` writes to it. */
export const useNotificationsStore = create<NotificationsState>()(() => ({ items: [] }));
