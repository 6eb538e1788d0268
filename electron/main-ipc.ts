/**
 * The IPC adapter: the one file in the app that touches `ipcMain` (enforced by ESLint). It checks
 * who is calling before anything else, then hands the call to the engine, which validates it.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { isMethod, type ApiEvent } from '../common/contract';
import { IPC, type IpcReply } from '../common/transport/ipc';
import { toErrorBody } from './engine';
import { isRendererUrl, type RendererSource } from './main-security';

/** The part of the engine the adapter needs. */
export interface IpcEngine {
  callUnknown(method: string, params: unknown): Promise<unknown>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

/**
 * Only the main frame of our own window, showing our own renderer, may call the engine. Frames
 * inside it, other windows, and our window after it was navigated elsewhere are all refused.
 */
export function isTrustedSender(
  event: IpcMainInvokeEvent,
  window: BrowserWindow | null,
  source: RendererSource,
): boolean {
  if (!window || window.isDestroyed()) return false;
  const contents = window.webContents;
  if (event.sender !== contents) return false;
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  const main = contents.mainFrame;
  if (frame.processId !== main.processId || frame.routingId !== main.routingId) return false;
  return isRendererUrl(source, frame.url);
}

export function registerIpc(
  engine: IpcEngine,
  getWindow: () => BrowserWindow | null,
  source: RendererSource,
): () => void {
  ipcMain.handle(
    IPC.call,
    async (event: IpcMainInvokeEvent, method: unknown, params: unknown): Promise<IpcReply> => {
      if (!isTrustedSender(event, getWindow(), source)) {
        console.warn(`Refused an IPC call from ${event.senderFrame?.url ?? 'a closed frame'}`);
        return {
          ok: false,
          error: { code: 'UNAUTHORIZED', message: 'This page may not call Vivarium.' },
        };
      }
      if (!isMethod(method)) {
        const name = typeof method === 'string' ? method.slice(0, 100) : typeof method;
        return {
          ok: false,
          error: { code: 'INVALID_REQUEST', message: `Unknown method: ${name}` },
        };
      }
      try {
        return { ok: true, result: await engine.callUnknown(method, params) };
      } catch (err) {
        return { ok: false, error: toErrorBody(err) };
      }
    },
  );

  const unsubscribe = engine.onEvent((event) => {
    const window = getWindow();
    if (!window || window.isDestroyed() || window.webContents.isDestroyed()) return;
    if (!isRendererUrl(source, window.webContents.getURL())) return;
    window.webContents.send(IPC.event, event);
  });

  return () => {
    unsubscribe();
    ipcMain.removeHandler(IPC.call);
  };
}
