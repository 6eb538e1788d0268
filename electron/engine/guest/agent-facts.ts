/**
 * What the engine asks the QEMU guest agent, each in one short connection (QEMU serves one client
 * on the channel at a time, and every Vivarium process may ask).
 */
import type { GuestAgentInfo, GuestInterfaceFacts } from '../../../common/contract';
import { normalizeMac } from '../../../common/rules/networks';
import { guestAddresses, withGuestAgent, type GuestInterface } from '../guest-agent/client';

const QUICK_MS = 3000;
/** A freeze flushes every filesystem first: give it time on a busy guest. */
const FREEZE_MS = 20_000;

export async function agentAnswers(socket: string, timeoutMs: number): Promise<boolean> {
  return withGuestAgent(socket, (agent) => agent.ping(), { timeoutMs }).then(
    () => true,
    () => false,
  );
}

export function agentFacts(socket: string): Promise<GuestAgentInfo> {
  return withGuestAgent(
    socket,
    async (agent) => {
      const os = await agent.osInfo().catch(() => null);
      const interfaces = await agent.networkInterfaces().catch(() => []);
      const hostname = await agent
        .execute('guest-get-host-name')
        .then((r) => {
          const name = (r as { 'host-name'?: unknown } | null)?.['host-name'];
          return typeof name === 'string' ? name : null;
        })
        .catch(() => null);
      return {
        os: os
          ? {
              name: os.name ?? os.id ?? 'Unknown',
              version: os.version ?? null,
              prettyName: os.prettyName ?? null,
              kernel: os.kernelRelease ?? null,
            }
          : null,
        hostname,
        addresses: guestAddresses(interfaces),
        interfaces: interfaceFacts(interfaces),
        seenAt: new Date().toISOString(),
      };
    },
    { timeoutMs: QUICK_MS },
  );
}

/** Each interface's MAC and addresses (IPv4 first), to match the VM's cards by MAC. Pure. */
export function interfaceFacts(interfaces: readonly GuestInterface[]): GuestInterfaceFacts[] {
  return interfaces.map((i) => ({
    name: i.name,
    mac: i.hardwareAddress ? normalizeMac(i.hardwareAddress) : null,
    addresses: i.addresses.map((a) => a.address),
  }));
}

/** Asks the guest to power off by its own init system; false when the agent did not take it. */
export async function agentPowerOff(socket: string): Promise<boolean> {
  return withGuestAgent(socket, (agent) => agent.shutdown('powerdown'), {
    timeoutMs: QUICK_MS,
  }).then(
    () => true,
    () => false,
  );
}

/**
 * Runs `work` with the guest's filesystems frozen (flushed and held still), so the disks it saves
 * are consistent; thaws after, whatever happened. Without an answering agent it runs `work` as is
 * and says so (`frozen: false`).
 */
export async function withFrozenFilesystems<T>(
  socket: string,
  work: () => Promise<T>,
): Promise<{ result: T; frozen: boolean }> {
  // Set inside the agent's turn, read after it failed (a box: TypeScript does not track closures).
  const state = { frozen: false };
  try {
    return await withGuestAgent(
      socket,
      async (agent) => {
        await agent.fsfreezeFreeze();
        state.frozen = true;
        try {
          return { result: await work(), frozen: true };
        } finally {
          await agent.fsfreezeThaw();
        }
      },
      { timeoutMs: FREEZE_MS },
    );
  } catch (err) {
    if (state.frozen) throw err;
    return { result: await work(), frozen: false };
  }
}

/** Thaws the guest's filesystems (after loading a snapshot that was taken frozen). */
export async function thaw(socket: string): Promise<boolean> {
  return withGuestAgent(socket, (agent) => agent.fsfreezeThaw(), { timeoutMs: FREEZE_MS }).then(
    () => true,
    () => false,
  );
}
