/**
 * The Electron IPC transport: channel names, the reply frame and the preload's bridge. No zod and
 * no other runtime import: the sandboxed preload bundles this module's values, and a sandboxed
 * preload cannot require a package.
 */
import type { ApiErrorBody } from '../contract/errors';
import type { ApiEvent } from '../contract/events';

/** The IPC channel names the preload bridge and the main process share. */
export const IPC = { call: 'vivarium:call', event: 'vivarium:event' } as const;

/** What the main process answers over IPC: errors keep their code instead of Electron's text. */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody };

/** What the preload exposes as `window.vivarium`. */
export interface PreloadBridge {
  call(method: string, params: unknown): Promise<IpcReply>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /**
   * Where a dropped or chosen File lives on disk (Electron's webUtils); '' when it has no path.
   * Typed `object` because common/ knows no DOM; the preload and the renderer pass a File.
   */
  pathForFile(file: object): string;
}
