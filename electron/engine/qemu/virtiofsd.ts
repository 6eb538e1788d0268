/**
 * virtiofsd beside QEMU: one per virtiofs share. Started (detached, like QEMU) before QEMU, which
 * connects to its vhost-user socket; virtiofsd exits when QEMU lets go of that socket, so a power
 * off or a QEMU crash ends it too.
 */
import { rm } from 'node:fs/promises';
import { startSocketHelper } from './socket-helper';

export interface VirtiofsLaunch {
  binary: string;
  tag: string;
  /** The shared folder (refused earlier when its path has a comma: virtiofsd splits on them). */
  source: string;
  socket: string;
  log: string;
}

/** virtiofsd's argv for one share. Pure. */
export function virtiofsdArgs(v: Omit<VirtiofsLaunch, 'binary' | 'tag'>): string[] {
  return [`--socket-path=${v.socket}`, '-o', `source=${v.source}`, '-o', 'cache=auto', '-f'];
}

/** Starts virtiofsd and waits until its socket is there; returns its pid. */
export async function startVirtiofsd(v: VirtiofsLaunch, timeoutMs = 10_000): Promise<number> {
  await rm(v.socket, { force: true });
  return startSocketHelper(
    {
      binary: v.binary,
      args: virtiofsdArgs(v),
      socket: v.socket,
      log: v.log,
      what: `virtiofsd (the shared folder '${v.tag}')`,
      cannotRun: (reason) =>
        `Could not run ${v.binary} for the shared folder '${v.tag}': ${reason}. Share it over 9p instead.`,
      otherwise: 'Share it over 9p instead.',
    },
    timeoutMs,
  );
}
