/**
 * What the guest shows and prints: screenshots, keys sent to it, tickets for its byte streams
 * (VNC, serial, monitor: they never go through the RPC path but through their own WebSocket) and
 * its logs.
 */
import { z } from 'zod';
import { AbsolutePathSchema, VmRefSchema } from './vm-config';

export const STREAM_KINDS = ['vnc', 'serial', 'monitor'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

export interface StreamTicket {
  kind: StreamKind;
  /** Path on the stream server, e.g. /stream/<token>; a front door adds the origin. */
  path: string;
  /** A full ws:// URL when the front door knows it (Electron); browsers use their origin. */
  url: string | null;
  /** Serial and monitor streams first replay what the guest printed before. */
  replay: boolean;
}

export interface ScreenshotResult {
  file: string;
  /** PNG bytes as base64 when no file was asked for (thumbnails). */
  pngBase64: string | null;
  width: number;
  height: number;
}

export const streamMethods = {
  'vm.screenshot': z.object({ vm: VmRefSchema, file: AbsolutePathSchema.optional() }),
  'vm.sendKeys': z.object({
    vm: VmRefSchema,
    keys: z
      .array(z.string().regex(/^[a-z0-9_]+$/))
      .min(1)
      .max(10),
  }),
  'vm.openStream': z.object({ vm: VmRefSchema, kind: z.enum(STREAM_KINDS) }),
  'vm.log': z.object({
    vm: VmRefSchema,
    kind: z.enum(['serial', 'qemu', 'events']),
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
  }),
} as const;

export interface StreamResults {
  'vm.screenshot': ScreenshotResult;
  'vm.sendKeys': { sent: number };
  'vm.openStream': StreamTicket;
  'vm.log': { text: string; truncated: boolean; file: string };
}
