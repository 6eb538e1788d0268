/**
 * How a person reaches a guest over SSH: through the VM's forward to guest port 22, as the login
 * its seed made, with Vivarium's key for the VM when the user gave none of their own.
 */
import { join } from 'node:path';
import type { GuestSsh, PortForward, VmConfig } from '../../../common/contract';
import { SSH_GUEST_PORT } from '../../../common/rules/cloud-guest';
import type { VmFiles } from '../paths';
import { shellQuote, sshCommandLine } from '../ssh/command';

/** The forwards of the VM's NAT cards (their own user-mode networks), first card first. */
export function natForwards(config: VmConfig): PortForward[] {
  return config.nics.flatMap((n) => (n.attach.kind === 'nat' ? n.attach.forwards : []));
}

/** The TCP forward to the guest's SSH port on a NAT card, if the VM has one. */
export function sshForward(config: VmConfig): PortForward | null {
  return (
    natForwards(config).find((f) => f.protocol === 'tcp' && f.guestPort === SSH_GUEST_PORT) ?? null
  );
}

/** Where to connect on the host for a forward: its own address, or loopback for 0.0.0.0. */
export function connectAddress(f: PortForward): string {
  return f.hostAddress === '0.0.0.0' ? '127.0.0.1' : f.hostAddress;
}

/** The ssh command line for the VM, or null when it has no SSH forward or no known login. */
export function guestSsh(config: VmConfig, files: VmFiles): GuestSsh | null {
  const forward = sshForward(config);
  const user = config.cloudInit?.user;
  if (!forward || !user) return null;
  const host = connectAddress(forward);
  const keyFile = config.cloudInit?.keyFile ? join(files.dir, config.cloudInit.keyFile) : undefined;
  const full = sshCommandLine({
    user,
    port: forward.hostPort,
    host,
    ...(keyFile ? { keyFile } : {}),
    knownHostsFile: files.knownHosts,
  });
  // What a person types: their own key works when they gave one; otherwise Vivarium's is needed.
  const identity = keyFile && !config.cloudInit?.userKeys ? `-i ${shellQuote(keyFile)} ` : '';
  const command = `ssh ${identity}-p ${forward.hostPort} ${user}@${host}`;
  // The arguments after `ssh` itself.
  return { user, host, port: forward.hostPort, command, argv: full.argv.slice(1) };
}
