import type { ApiResults } from '../../../common/contract';
import type { PreloadBridge } from '../../../common/transport/ipc';
import { IpcBridge } from './ipc';
import { rpcProtocols, serverToken } from './token';
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
  const token = serverToken();
  return new WsBridge(rpcUrl(), { protocols: token === null ? [] : rpcProtocols(token) });
}

/**
 * Whether this page runs in a browser without server mode's token (opened without the printed
 * address): it can only say how to get in.
 */
export function missingToken(): boolean {
  const preload = (globalThis as { vivarium?: PreloadBridge }).vivarium;
  if (preload && typeof preload.call === 'function') return false;
  return serverToken() === null;
}

function rpcUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/rpc`;
}
