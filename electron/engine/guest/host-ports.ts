/** Free host ports for forwards Vivarium picks itself (a ready-to-use guest's SSH). */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** Whether a TCP port can be listened on at `address` now (nothing else holds it). */
export function tcpPortFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Whether a UDP port can be bound at `address` now. */
export function udpPortFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => {
      try {
        socket.close();
      } catch {
        // Never bound: nothing to close.
      }
      resolve(false);
    });
    socket.bind({ address, port, exclusive: true }, () => {
      socket.close(() => resolve(true));
    });
  });
}

export function portFree(protocol: 'tcp' | 'udp', address: string, port: number): Promise<boolean> {
  return protocol === 'udp' ? udpPortFree(address, port) : tcpPortFree(address, port);
}

/**
 * The first port from `first` up that is free on the host and not promised to another VM (a
 * stopped VM's forward holds no socket, but it will when that VM starts).
 */
export async function pickFreePort(
  address: string,
  first: number,
  promised: ReadonlySet<number>,
  last = Math.min(65535, first + 2000),
): Promise<number> {
  for (let port = first; port <= last; port++) {
    if (promised.has(port)) continue;
    if (await tcpPortFree(address, port)) return port;
  }
  throw new Error(`No free TCP port between ${first} and ${last} on ${address}`);
}
