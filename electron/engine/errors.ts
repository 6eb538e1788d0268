import type { ApiErrorBody, ErrorCode } from '../../common/contract';

/** An error a user can act on: `message` says what happened and what to do next. */
export class VivariumError extends Error {
  override readonly name = 'VivariumError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
  }
}

export function toErrorBody(err: unknown): ApiErrorBody {
  if (err instanceof VivariumError) {
    return { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}
