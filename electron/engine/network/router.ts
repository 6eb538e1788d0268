/**
 * A private network's DHCP server and NAT: a small QEMU with no machine, whose user-mode network
 * stack sits on the network's switch through a hub. It hands out .15 to .30, is the gateway
 * (.2) and DNS (.3), and with NAT on lets guests out and forwards host ports in (added and
 * removed live through QMP). Started detached with a pid file, like the switch, so it outlives
 * the app.
 *
 * QEMU 7.2's user-mode stack always serves DHCP (libslirp's disable_dhcp is not exposed), so a
 * network with NAT but without DHCP cannot be made from it: the service refuses that pair.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import type { NetworkConfig, NetworkForward } from '../../../common/contract/networks';
import { VivariumError } from '../errors';
import { escapeOptionValue } from '../qemu/args';
import { liveQemuPid } from '../qemu/pid-file';
import { readTail } from '../qemu/process-info';
import { connectWhenReady } from '../qmp/client';
import { terminate, type NetworkRunFiles } from './switch';

/** The router's user-mode netdev: what `hostfwd_add` names. */
export const ROUTER_NETDEV = 'nat';

/** Whether a network needs a router at all (neither DHCP nor NAT: the switch alone). */
export function needsRouter(c: Pick<NetworkConfig, 'dhcp' | 'nat'>): boolean {
  return c.dhcp || c.nat;
}

/** The id the router's process is known by (`qemu-r<id>`: never a VM's, whose ids are hex). */
export function routerProcessId(networkId: string): string {
  return `r${networkId}`;
}

/** `tcp:127.0.0.1:8080-10.13.1.15:80`, as `-netdev user,hostfwd=` and `hostfwd_add` take it. */
export function routerHostForward(f: NetworkForward): string {
  return `${f.protocol}:${f.hostAddress}:${f.hostPort}-${f.guestAddress}:${f.guestPort}`;
}

/** The router's argv. Pure. */
export function routerArgs(c: NetworkConfig, files: NetworkRunFiles): string[] {
  const user = [
    `user,id=${ROUTER_NETDEV}`,
    `net=${c.subnet}`,
    ...(c.nat ? [] : ['restrict=on']),
    ...c.forwards.map((f) => `hostfwd=${routerHostForward(f)}`),
  ].join(',');
  return [
    '-machine',
    'none',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-name',
    `router-${c.id},process=qemu-${routerProcessId(c.id)}`,
    '-netdev',
    user,
    '-netdev',
    `vde,id=sw,sock=${escapeOptionValue(files.switchDir)}`,
    '-netdev',
    `hubport,id=p0,hubid=0,netdev=${ROUTER_NETDEV}`,
    '-netdev',
    'hubport,id=p1,hubid=0,netdev=sw',
    '-qmp',
    `unix:${escapeOptionValue(files.routerQmp)},server=on,wait=off`,
    '-pidfile',
    files.routerPid,
  ];
}

export function liveRouter(
  c: Pick<NetworkConfig, 'id'>,
  files: NetworkRunFiles,
): Promise<number | null> {
  return liveQemuPid(files.routerPid, routerProcessId(c.id));
}

/** Starts the router (its switch must run); resolves once its QMP answers. */
export async function startRouter(
  c: NetworkConfig,
  files: NetworkRunFiles,
  binary: string,
  logFile: string,
  timeoutMs = 15_000,
): Promise<number> {
  await mkdir(files.run, { recursive: true, mode: 0o700 });
  await rm(files.routerQmp, { force: true });
  const log = await open(logFile, 'a', 0o600);
  let child: ChildProcess;
  let spawned: Promise<Error | null>;
  try {
    child = spawn(binary, routerArgs(c, files), {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    });
    spawned = new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err: Error) => resolve(err));
    });
  } finally {
    await log.close();
  }
  const err = await spawned;
  if (err) {
    throw new VivariumError(
      'QEMU_MISSING',
      `Could not run ${binary} for the network "${c.name}"'s DHCP and NAT: ${err.message}.`,
    );
  }
  child.unref();
  const exited = new AbortController();
  child.once('exit', () => exited.abort());
  try {
    const qmp = await connectWhenReady(files.routerQmp, {
      deadlineMs: timeoutMs,
      signal: exited.signal,
    });
    qmp.close();
  } catch {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const tail = (await readTail(logFile, 2048)).trim().split('\n').slice(-3).join(' ');
    throw new VivariumError(
      'QEMU_FAILED',
      `The DHCP/NAT router of the network "${c.name}" did not start${tail ? `: ${tail}` : ''}.`,
    );
  }
  return child.pid ?? 0;
}

export async function stopRouter(
  c: Pick<NetworkConfig, 'id'>,
  files: NetworkRunFiles,
): Promise<void> {
  const pid = await liveRouter(c, files);
  if (pid !== null) await terminate(pid);
  await rm(files.routerQmp, { force: true });
  await rm(files.routerPid, { force: true });
}

/** One HMP command on the router, whose reply text is its error (empty: done). */
async function routerHmp(files: NetworkRunFiles, command: string): Promise<string> {
  const qmp = await connectWhenReady(files.routerQmp, { deadlineMs: 5000 });
  try {
    return (await qmp.hmp(command)).trim();
  } finally {
    qmp.close();
  }
}

/** Adds a forward to the running router; a port in use is an error and changes nothing. */
export async function routerAddForward(files: NetworkRunFiles, f: NetworkForward): Promise<void> {
  const reply = await routerHmp(files, `hostfwd_add ${ROUTER_NETDEV} ${routerHostForward(f)}`);
  if (reply) {
    throw new VivariumError(
      'BUSY',
      `Host port ${f.hostPort} (${f.protocol}) on ${f.hostAddress} cannot be forwarded: it is in use. Pick another port.`,
      { hostPort: 'This port is in use' },
    );
  }
}

export async function routerRemoveForward(
  files: NetworkRunFiles,
  f: Pick<NetworkForward, 'protocol' | 'hostAddress' | 'hostPort'>,
): Promise<void> {
  await routerHmp(
    files,
    `hostfwd_remove ${ROUTER_NETDEV} ${f.protocol}:${f.hostAddress}:${f.hostPort}`,
  );
}
