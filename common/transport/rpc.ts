/** JSON-RPC framing for the WebSocket front door. */
import { z } from 'zod';
import type { ApiErrorBody } from '../contract/errors';
import type { ApiEvent } from '../contract/events';

export const RpcRequestSchema = z.object({
  id: z.number().int(),
  method: z.string(),
  params: z.unknown(),
});
export type RpcRequest = z.infer<typeof RpcRequestSchema>;

export type RpcMessage =
  { id: number; result: unknown } | { id: number; error: ApiErrorBody } | { event: ApiEvent };
