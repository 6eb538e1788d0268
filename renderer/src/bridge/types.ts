import type { ApiErrorBody, ErrorCode, VivariumApi } from '../../../common/contract';

/** Where the renderer talks to the engine from. */
export type BridgeKind = 'electron' | 'websocket';

/** `open`: calls go through. `connecting`: the first attempt. `reconnecting`: lost, retrying. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/** The contract's API plus what the UI needs to know about the connection itself. */
export interface Bridge extends VivariumApi {
  readonly kind: BridgeKind;
  connection(): ConnectionState;
  /** `reconnected` is true when the connection came back after a loss (state may have moved). */
  onConnection(listener: (state: ConnectionState, reconnected: boolean) => void): () => void;
}

/** Codes the bridge adds to the engine's own: the engine could not be reached at all. */
export type BridgeErrorCode = ErrorCode | 'DISCONNECTED';

/** A failed call, keeping the engine's code, message and field messages. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: BridgeErrorCode;
  readonly fields: Record<string, string> | undefined;
  constructor(code: BridgeErrorCode, message: string, fields?: Record<string, string>) {
    super(message);
    this.code = code;
    this.fields = fields;
  }

  static fromBody(body: ApiErrorBody): ApiError {
    return new ApiError(body.code, body.message, body.fields);
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isErrorBody(err)) return ApiError.fromBody(err);
  return new ApiError('INTERNAL', err instanceof Error ? err.message : String(err));
}

export function isErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}
