/**
 * QMP wire format, as pure code: newline-delimited JSON framing and message classification.
 *
 * QEMU ends every message with "\r\n" (its monitor turns "\n" into "\r\n"); we accept "\n" too.
 * Chunks from the socket can split a message anywhere (even inside a UTF-8 sequence) or carry
 * several messages at once.
 */
import { StringDecoder } from 'node:string_decoder';

/** Default cap on one message (query-qmp-schema is ~200 KB; nothing legitimate comes near this). */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024 * 1024;

export class QmpFramingError extends Error {
  override readonly name = 'QmpFramingError';
}

/**
 * Splits a byte/text stream into lines. `push` returns the complete lines (without "\r\n"),
 * keeps any trailing partial line for the next call, and skips blank lines.
 */
export class LineFramer {
  private rest = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly maxLineLength = DEFAULT_MAX_LINE_LENGTH) {}

  push(chunk: string | Uint8Array): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines: string[] = [];
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.rest += text;
      this.checkLength();
      return lines;
    }
    // The first line joins the carried-over text; the rest of the chunk is sliced in place.
    let start = 0;
    let first = true;
    while (nl !== -1) {
      let line = text.slice(start, nl);
      if (first) {
        line = this.rest + line;
        this.rest = '';
        first = false;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.length > 0) {
        if (line.length > this.maxLineLength) this.tooLong();
        lines.push(line);
      }
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.rest = start < text.length ? text.slice(start) : '';
    this.checkLength();
    return lines;
  }

  /** The text received after the last newline (an incomplete message). */
  get pending(): string {
    return this.rest;
  }

  private checkLength(): void {
    if (this.rest.length > this.maxLineLength) this.tooLong();
  }

  private tooLong(): never {
    this.rest = '';
    throw new QmpFramingError(`QMP message longer than ${this.maxLineLength} characters`);
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    capabilities: string[];
  };
}

export type QmpMessage =
  | { kind: 'greeting'; greeting: QmpGreeting }
  | { kind: 'return'; id: unknown; value: unknown }
  | { kind: 'error'; id: unknown; errorClass: string; desc: string }
  | { kind: 'event'; event: QmpEvent }
  | { kind: 'invalid'; reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseGreeting(qmp: unknown): QmpGreeting | null {
  if (!isRecord(qmp)) return null;
  const version = qmp['version'];
  if (!isRecord(version)) return null;
  const qemu = version['qemu'];
  if (!isRecord(qemu)) return null;
  const { major, minor, micro } = qemu;
  if (typeof major !== 'number' || typeof minor !== 'number' || typeof micro !== 'number') {
    return null;
  }
  const pkg = version['package'];
  const caps = qmp['capabilities'];
  const capabilities = Array.isArray(caps)
    ? caps.filter((c): c is string => typeof c === 'string')
    : [];
  return {
    QMP: {
      version: { qemu: { major, minor, micro }, package: typeof pkg === 'string' ? pkg : '' },
      capabilities,
    },
  };
}

function parseTimestamp(ts: unknown): QmpEvent['timestamp'] {
  if (isRecord(ts)) {
    const { seconds, microseconds } = ts;
    if (typeof seconds === 'number' && typeof microseconds === 'number') {
      return { seconds, microseconds };
    }
  }
  return { seconds: 0, microseconds: 0 };
}

/** Classifies one line of QMP output. Never throws. */
export function parseQmpMessage(line: string): QmpMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  if (!isRecord(msg)) return { kind: 'invalid', reason: 'not a JSON object' };
  // Most frequent first: replies.
  if ('return' in msg) return { kind: 'return', id: msg['id'], value: msg['return'] };
  const error = msg['error'];
  if (error !== undefined) {
    if (!isRecord(error)) return { kind: 'invalid', reason: '"error" is not an object' };
    const errorClass = error['class'];
    const desc = error['desc'];
    return {
      kind: 'error',
      id: msg['id'],
      errorClass: typeof errorClass === 'string' ? errorClass : 'GenericError',
      desc: typeof desc === 'string' ? desc : '',
    };
  }
  const event = msg['event'];
  if (typeof event === 'string') {
    const data = msg['data'];
    const e: QmpEvent = { event, timestamp: parseTimestamp(msg['timestamp']) };
    if (isRecord(data)) e.data = data;
    return { kind: 'event', event: e };
  }
  if ('QMP' in msg) {
    const greeting = parseGreeting(msg['QMP']);
    return greeting
      ? { kind: 'greeting', greeting }
      : { kind: 'invalid', reason: 'malformed greeting' };
  }
  return { kind: 'invalid', reason: 'neither a reply, an event nor a greeting' };
}
