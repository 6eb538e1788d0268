/**
 * The sandboxed preload: exposes `window.vivarium` (the IPC transport's PreloadBridge) and
 * nothing else. ipcRenderer itself never reaches the page; listeners get the event payload, not
 * Electron's IpcRendererEvent (which carries `sender`).
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { ApiEvent } from '../common/contract';
import { IPC, type IpcReply, type PreloadBridge } from '../common/transport/ipc';

const bridge: PreloadBridge = {
  call(method: string, params: unknown): Promise<IpcReply> {
    if (typeof method !== 'string') {
      return Promise.reject(new TypeError('vivarium.call: the method must be a string'));
    }
    return ipcRenderer.invoke(IPC.call, method, params) as Promise<IpcReply>;
  },
  onEvent(listener: (event: ApiEvent) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError('vivarium.onEvent: the listener must be a function');
    }
    const forward = (_event: IpcRendererEvent, payload: ApiEvent): void => {
      listener(payload);
    };
    ipcRenderer.on(IPC.event, forward);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ipcRenderer.removeListener(IPC.event, forward);
    };
  },
  pathForFile(file: File): string {
    // Since Electron 32 a File no longer carries `path`; webUtils knows it for files the user
    // dropped or chose, and says '' for files the page made itself (or anything not a File).
    try {
      return webUtils.getPathForFile(file);
    } catch {
      return '';
    }
  },
};

contextBridge.exposeInMainWorld('vivarium', bridge);
