/**
 * What the CLI prints: human text or, with `--json`, machine output on stdout and nothing else
 * there; errors as one line on stderr (`vivarium: <message>`), plus `{"error":{code,message}}` on
 * stdout with `--json`.
 */
import type { ApiErrorBody } from '../../common/contract';
import { formatBytes as formatCommonBytes } from '../../common/format';

export const PROG = 'vivarium';

/** Seen before commander parses, so that even a usage error answers in JSON. */
export const jsonMode = process.argv.slice(2).includes('--json');

/** The `--json` option every command takes. */
export interface JsonOpt {
  json?: boolean;
}

/** A mistake in how a command was called (exit 2), as opposed to a failure of the work (exit 1). */
export class UsageError extends Error {}

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  writeOut(JSON.stringify(value, null, 2));
}

/** Collapses a message to the one line the CLI promises on stderr. */
export function oneLine(message: string): string {
  return message.replace(/\s*\r?\n\s*/g, ' ').trim();
}

export function reportError(body: ApiErrorBody): void {
  process.stderr.write(`${PROG}: ${oneLine(body.message)}\n`);
  if (jsonMode) printJson({ error: body });
}

/** Quotes a VM name for a command the user can paste into a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9._\-/:=@+]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Sizes as the CLI has always printed them: one decimal above bytes ("293.0 KiB", "120.5 GiB"),
 * which scripts and the tests read. common/format's formatBytes, for the UI, rounds sizes of 100
 * and more to whole units instead.
 */
/** The CLI's sizes keep one decimal: scripts and table columns read a fixed shape. */
export function formatBytes(n: number): string {
  return formatCommonBytes(n, 'one-decimal');
}

/** Columns padded to their widest cell, two spaces apart, the last one left ragged. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
export function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((res) => {
    if (stream.writableLength === 0) return res();
    stream.write('', () => res());
  });
}
