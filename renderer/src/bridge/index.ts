import type { PreloadBridge } from '../../../preload/contract';
import { IpcBridge } from './ipc';
import type { Bridge } from './types';
import { WsBridge } from './ws';

export { ApiError, toApiError } from './types';
export type { Bridge, BridgeKind, ConnectionState } from './types';

let bridge: Bridge | null = null;

/** The one bridge for this page: Electron's preload when present, else WebSocket RPC. */
export function getBridge(): Bridge {
  bridge ??= createBridge();
  return bridge;
}

function createBridge(): Bridge {
  const preload = (globalThis as { vivarium?: PreloadBridge }).vivarium;
  if (preload && typeof preload.call === 'function') return new IpcBridge(preload);
  return new WsBridge(rpcUrl(takeUrlToken()));
}

/**
 * Reads `?token=` from the address and removes it from the address bar (and so from history and
 * screen shares). The server set an HttpOnly cookie with the same token, which authorizes reloads
 * and every later request and socket from this page.
 */
function takeUrlToken(): string | null {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token !== null) {
    url.searchParams.delete('token');
    try {
      window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    } catch {
      // Some embedders forbid it; the token then just stays visible.
    }
  }
  return token;
}

function rpcUrl(token: string | null): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${window.location.host}/rpc${query}`;
}
