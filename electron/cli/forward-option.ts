/**
 * Forwards and cards as a person types them: `[tcp:|udp:][ADDR:]HOSTPORT:[GUESTADDR:]GUESTPORT`
 * (common's parseForwardSpec: the host address defaults to 127.0.0.1, this computer only; any
 * other listens on every network and the engine wants `--public` for it), a rule to remove by
 * its host side, and card numbers counted from 1 as the app shows them.
 */
import { InvalidArgumentError } from 'commander';
import { NIC_MAX, parseForwardSpec, type ForwardSpec } from '../../common/rules/networks';

export function parseForwardRule(value: string): ForwardSpec {
  const parsed = parseForwardSpec(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.message);
  return parsed.value;
}

/** `[tcp:|udp:]HOSTPORT`, or a whole forward spec (only its protocol and host port count). */
export function parseForwardRef(value: string): { protocol: 'tcp' | 'udp'; hostPort: number } {
  const m = /^(?:(tcp|udp):)?(\d{1,5})$/.exec(value.trim());
  if (m) {
    const hostPort = Number(m[2]);
    if (hostPort < 1 || hostPort > 65535) {
      throw new InvalidArgumentError(`The host port ${hostPort} is out of range: use 1 to 65535`);
    }
    return { protocol: m[1] === 'udp' ? 'udp' : 'tcp', hostPort };
  }
  const parsed = parseForwardSpec(value);
  if (!parsed.ok) {
    throw new InvalidArgumentError(
      `"${value}" is not a forward: give its host port, like 8080 or udp:5353, or the whole rule`,
    );
  }
  return { protocol: parsed.value.protocol, hostPort: parsed.value.hostPort };
}

/** A card number as people count (1 is the first card); the contract's index is one less. */
export function parseCardNumber(value: string): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > NIC_MAX) {
    throw new InvalidArgumentError(`A card number is 1 to ${NIC_MAX} (card 1 is the first)`);
  }
  return n - 1;
}
