import type { ApiEvent, ApiResults, Method, Params } from '../../../common/contract';
import type { IpcReply, PreloadBridge } from '../../../common/transport/ipc';
import { ApiError, isErrorBody, type Bridge, type ConnectionState } from './types';

/** The Electron preload's `window.vivarium`: IPC replies unwrapped into results or ApiErrors. */
export class IpcBridge implements Bridge {
  readonly kind = 'electron' as const;
  constructor(private readonly preload: PreloadBridge) {}

  async call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]> {
    let reply: IpcReply;
    try {
      reply = await this.preload.call(method, params);
    } catch (err) {
      throw new ApiError('INTERNAL', err instanceof Error ? err.message : String(err));
    }
    if (reply.ok) return reply.result as ApiResults[M];
    if (isErrorBody(reply.error)) throw ApiError.fromBody(reply.error);
    throw new ApiError('INTERNAL', 'The app answered with an unreadable error');
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    return this.preload.onEvent(listener);
  }

  /** Where a dropped or chosen file lives on this computer (which runs the engine), or null. */
  pathForFile(file: File): string | null {
    try {
      return this.preload.pathForFile(file) || null;
    } catch {
      return null;
    }
  }

  connection(): ConnectionState {
    return 'open';
  }

  onConnection(): () => void {
    // IPC to the main process cannot drop while the window exists.
    return () => {};
  }
}
