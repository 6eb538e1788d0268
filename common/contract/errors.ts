/** Errors: the codes and the body that cross a boundary when a call fails. */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'NOT_FOUND',
  'NAME_TAKEN',
  'BAD_STATE',
  'FILE_NOT_FOUND',
  'FILE_UNREADABLE',
  'QEMU_MISSING',
  'QEMU_FAILED',
  'QMP_ERROR',
  'TIMEOUT',
  /** Another process (app, server, CLI command) is changing the same VM or library: retry. */
  'BUSY',
  'RESOURCE_LIMIT',
  'CANCELLED',
  'CHECKSUM_MISMATCH',
  'NETWORK',
  'DISK_FULL',
  'UNAUTHORIZED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** What crosses a boundary when a call fails. */
export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  /** Field-level messages for forms, keyed by dotted path. */
  fields?: Record<string, string>;
}
