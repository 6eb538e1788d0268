import type { ApiResults } from '../../../common/contract';
import type { PreloadBridge } from '../../../common/transport/ipc';
import { IpcBridge } from './ipc';
import type { Bridge } from './types';
import { WsBridge } from './ws';

export { ApiError, toApiError } from './types';
export type { Bridge, BridgeKind, ConnectionState } from './types';
export { uploadFile, type UploadHandle, type UploadProgress } from './upload';

let bridge: Bridge | null = null;

type Prefetchable = 'vm.list' | 'host.info' | 'task.list';
const prefetched = new Map<Prefetchable, Promise<unknown>>();

/**
 * Opens the connection and asks for what the first screen shows, before React and the app's code
 * have loaded (boot.ts runs first): the answers are on their way while the rest downloads.
 */
export function prefetch(): void {
  const b = getBridge();
  for (const method of ['vm.list', 'host.info', 'task.list'] as const) {
    const p = b.call(method, {});
    p.catch(() => undefined); // whoever takes it sees the error
    prefetched.set(method, p);
  }
}

/** The prefetched answer for `method`, once; later calls go to the engine. */
export function takePrefetched<M extends Prefetchable>(method: M): Promise<ApiResults[M]> | null {
  const p = prefetched.get(method);
  prefetched.delete(method);
  return (p as Promise<ApiResults[M]> | undefined) ?? null;
}

/** The one bridge for this page: Electron's preload when present, else WebSocket RPC. */
export function getBridge(): Bridge {
  bridge ??= createBridge();
  return bridge;
}

/**
 * How a file the user drops or chooses reaches the engine: Electron gives its path (the engine
 * runs on the same computer); a browser may be on another computer, so the file is uploaded.
 */
export function localFiles(): 'path' | 'upload' {
  return getBridge().kind === 'electron' ? 'path' : 'upload';
}

/** The path of a dropped or chosen file where the engine can read it (Electron only), or null. */
export function pathForFile(file: File): string | null {
  const b = getBridge();
  return b instanceof IpcBridge ? b.pathForFile(file) : null;
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
