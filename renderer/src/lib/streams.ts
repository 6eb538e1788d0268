import type { StreamKind, StreamTicket } from '../../../common/contract';
import { getBridge } from '../bridge';

/** The WebSocket URL of a ticket: Electron gets a full one, a browser uses its own origin. */
export function streamUrl(ticket: StreamTicket): string {
  if (ticket.url) return ticket.url;
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${ticket.path}`;
}

/** A fresh single-use ticket (they last 60 s): ask for one before every (re)connect. */
export async function openStreamUrl(vmId: string, kind: StreamKind): Promise<string> {
  return streamUrl(await getBridge().call('vm.openStream', { vm: vmId, kind }));
}

/** 250 ms, 500 ms, 1 s ... at most 5 s between attempts. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 250 * 2 ** Math.max(0, Math.min(attempt - 1, 5)));
}
