/** Parsers for option values that commander hands over as text. */
import { InvalidArgumentError } from 'commander';

const NUMBER_RE = /^[+-]?\d+(\.\d+)?$/;

/** MiB as a number (2048) or a size with a unit (2G, 512M, 1.5GiB). */
export function parseMemory(value: string): number {
  const v = value.trim();
  if (NUMBER_RE.test(v)) return Number(v);
  const m = /^(\d+(?:\.\d+)?)\s*([MGT])(?:i?B)?$/i.exec(v);
  if (m) {
    const factor = { M: 1, G: 1024, T: 1024 * 1024 }[m[2]!.toUpperCase() as 'M' | 'G' | 'T'];
    return Number(m[1]) * factor;
  }
  throw new InvalidArgumentError('Memory is a number of MiB, like 2048, or a size like 2G.');
}

/** A parser for a plain number; `what` names it in the error ("The CPU count is a number."). */
export function parseNumber(what: string) {
  return (value: string): number => {
    if (!NUMBER_RE.test(value.trim())) throw new InvalidArgumentError(`${what} is a number.`);
    return Number(value);
  };
}
