/**
 * `--forward [tcp:|udp:][ADDRESS:]HOSTPORT:GUESTPORT` (repeatable): a VM's port forwards as a
 * person types them. The address defaults to 127.0.0.1 (this computer only); any other address
 * listens on every network and the engine wants `--public` for it.
 */
import { InvalidArgumentError } from 'commander';
import type { PortForward } from '../../common/contract';

const FORWARD_RE = /^(?:(tcp|udp):)?(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})$/i;

export function parseForward(value: string): PortForward {
  const m = FORWARD_RE.exec(value.trim());
  if (!m) {
    throw new InvalidArgumentError(
      'A forward is [tcp:|udp:][ADDRESS:]HOSTPORT:GUESTPORT, like 2222:22 or 0.0.0.0:8080:80.',
    );
  }
  return {
    protocol: (m[1]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp',
    hostAddress: m[2] ?? '127.0.0.1',
    hostPort: Number(m[3]),
    guestPort: Number(m[4]),
  };
}

/** Commander's collector for a repeatable --forward. */
export function collectForward(value: string, previous: PortForward[] = []): PortForward[] {
  return [...previous, parseForward(value)];
}
