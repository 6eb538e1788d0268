/**
 * Port forwards to a VM's cards. On a NAT card they are rules of the card's own user-mode network:
 * on a running VM they are added and removed live through QEMU (and kept in the config for the
 * next start), on a stopped one they wait in the config. On a card attached to a NAT network they
 * are the network's rules, to the VM's address there. A host port is forwarded once in the whole
 * library, and a forward that cannot listen changes nothing.
 */
import type {
  ApiResults,
  ForwardInfo,
  NetworkForward,
  NetworkSummary,
  NicConfig,
  ParsedParams,
  PortForward,
  VmConfig,
} from '../../../common/contract';
import {
  formatForward,
  forwardsClash,
  NAT_GUEST_ADDRESS,
  sshCommandLine,
} from '../../../common/rules/networks';
import { SSH_GUEST_PORT, SSH_HOST_PORT_FIRST } from '../../../common/rules/cloud-guest';
import { nicLabel } from '../../../common/rules/vm-settings';
import { isGuestUp, isLive } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import { pickFreePort, portFree } from '../guest/host-ports';
import { connectAddress } from '../guest/ssh-access';
import type { Vm } from '../library/vm';
import { cardAddresses, currentAgentFacts } from './card-addresses';
import {
  addLiveForward,
  isForwardLive,
  parseUsernet,
  removeLiveForward,
  type Hmp,
  type UsernetForward,
} from './hostfwd';

/**
 * What the forwards need of the private networks (the NetworkService): a NAT
 * network keeps its own forwards, to guest addresses on it.
 */
export interface NetworkPort {
  /** Throws NOT_FOUND, saying how to create it, when there is no such network. */
  requireNetwork(name: string): Promise<unknown>;
  /** Members as last known: callers hold VM queues, which a refresh would wait on. */
  get(name: string, opts: { refresh: false }): Promise<NetworkSummary>;
  list(opts: { refresh: false }): Promise<NetworkSummary[]>;
  addForward(network: string, forward: NetworkForward): Promise<{ live: boolean }>;
  removeForward(
    network: string,
    protocol: 'tcp' | 'udp',
    hostPort: number,
  ): Promise<NetworkForward>;
}

/** The library's VMs (the registry). */
export interface VmSource {
  resolve(ref: string): Vm;
  list(): Vm[];
}

type Protocol = 'tcp' | 'udp';

const NO_REFRESH = { refresh: false } as const;

/** The live rules of each of a running VM's user-mode networks; null: unknown (QEMU unreachable). */
type LiveRules = Map<string, UsernetForward[]> | null;

export class ForwardService {
  constructor(
    private readonly vms: VmSource,
    private readonly networks: NetworkPort,
  ) {}

  async list(ref: string): Promise<ForwardInfo[]> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    const live = await this.liveRules(vm);
    const out: ForwardInfo[] = [];
    for (let i = 0; i < vm.config.nics.length; i++) out.push(...(await this.ofCard(vm, i, live)));
    return out;
  }

  /** The forwards that reach card `index` (its own on NAT, the network's to this VM otherwise). */
  async ofCard(vm: Vm, index: number, live?: LiveRules): Promise<ForwardInfo[]> {
    const nic = vm.config.nics[index];
    if (!nic) return [];
    if (nic.attach.kind === 'nat') {
      const rules = live === undefined ? await this.liveRules(vm) : live;
      return nic.attach.forwards.map((f) =>
        natInfo(index, f, rules !== null && isForwardLive(rules, index, f)),
      );
    }
    if (nic.attach.kind === 'network') {
      const summary = await this.networks.get(nic.attach.network, NO_REFRESH).catch(() => null);
      if (!summary) return [];
      return summary.config.forwards
        .filter((f) => f.vmId === vm.id)
        .map((f) => networkInfo(index, f, summary.config.name, summary.running));
    }
    return [];
  }

  async add(req: ParsedParams<'forward.add'>): Promise<ForwardInfo> {
    const vm = this.vms.resolve(req.vm);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      const index = req.nic ?? (await this.defaultCard(vm));
      const nic = cardOf(vm, index);
      const forward = storedForward(req.forward);
      switch (nic.attach.kind) {
        case 'nat':
          if (req.guestAddress && req.guestAddress !== NAT_GUEST_ADDRESS) {
            throw new VivariumError(
              'INVALID_REQUEST',
              `${nicLabel(index)} of "${vm.config.name}" is on NAT, where the guest is ${NAT_GUEST_ADDRESS}: leave the guest address out`,
              { guestAddress: 'Not on a NAT card' },
            );
          }
          return this.addOnNat(vm, index, forward);
        case 'network':
          return this.addOnNetwork(vm, index, nic, nic.attach.network, forward, req.guestAddress);
        case 'bridge':
          throw new VivariumError(
            'INVALID_REQUEST',
            `${nicLabel(index)} of "${vm.config.name}" is bridged to ${nic.attach.bridge}: the guest is on your LAN and reachable without forwards. Forward to a NAT card instead`,
            { nic: 'Bridged: no forwards' },
          );
        case 'none':
          throw new VivariumError(
            'INVALID_REQUEST',
            `${nicLabel(index)} of "${vm.config.name}" is not connected: attach it to NAT (shut the VM down first) to forward ports to it`,
            { nic: 'Not connected' },
          );
      }
    });
  }

  async remove(req: ParsedParams<'forward.remove'>): Promise<ApiResults['forward.remove']> {
    const vm = this.vms.resolve(req.vm);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      const cards = req.nic === undefined ? vm.config.nics.map((_, i) => i) : [req.nic];
      if (req.nic !== undefined) cardOf(vm, req.nic);
      for (const index of cards) {
        const nic = vm.config.nics[index];
        if (nic?.attach.kind === 'nat') {
          const f = nic.attach.forwards.find((x) => matches(x, req.protocol, req.hostPort));
          if (f) return { removed: await this.removeOnNat(vm, index, f) };
        } else if (nic?.attach.kind === 'network') {
          const name = nic.attach.network;
          const summary = await this.networks.get(name, NO_REFRESH).catch(() => null);
          const f = summary?.config.forwards.find(
            (x) => x.vmId === vm.id && matches(x, req.protocol, req.hostPort),
          );
          if (summary && f) {
            const removed = await this.networks.removeForward(name, req.protocol, req.hostPort);
            return { removed: networkInfo(index, removed, summary.config.name, false) };
          }
        }
      }
      const where = req.nic === undefined ? '' : ` on ${nicLabel(req.nic).toLowerCase()}`;
      throw new VivariumError(
        'NOT_FOUND',
        `"${vm.config.name}" has no ${req.protocol} forward from host port ${req.hostPort}${where}: list its forwards to see which it has`,
        { hostPort: 'No such forward' },
      );
    });
  }

  /**
   * Forwards a free host port (from 2222 up, none another forward in the library has) to the
   * guest's SSH; a card that forwards to port 22 already keeps the one it has.
   */
  async ssh(req: ParsedParams<'forward.ssh'>): Promise<ApiResults['forward.ssh']> {
    const vm = this.vms.resolve(req.vm);
    await vm.safeRefresh();
    const index = req.nic ?? (await this.defaultCard(vm));
    cardOf(vm, index);
    const existing = (await this.ofCard(vm, index)).find(
      (f) => f.protocol === 'tcp' && f.guestPort === SSH_GUEST_PORT,
    );
    let forward = existing;
    if (!forward) {
      const taken = await this.takenPorts('tcp');
      const hostPort = await pickFreePort('127.0.0.1', SSH_HOST_PORT_FIRST, taken).catch(() => {
        throw new VivariumError(
          'RESOURCE_LIMIT',
          `No free TCP port from ${SSH_HOST_PORT_FIRST} up on 127.0.0.1: free one, or add a forward to port 22 on a port you choose`,
        );
      });
      forward = await this.add({
        vm: vm.id,
        nic: index,
        forward: {
          protocol: 'tcp',
          hostAddress: '127.0.0.1',
          hostPort,
          guestPort: SSH_GUEST_PORT,
          auto: true,
        },
      });
    }
    const user = vm.config.cloudInit?.user ?? 'user';
    return { forward, command: sshCommandLine(user, connectAddress(forward), forward.hostPort) };
  }

  // -------------------------------------------------------------------------------------------

  private async addOnNat(vm: Vm, index: number, forward: PortForward): Promise<ForwardInfo> {
    await this.assertUnclaimed(forward);
    const state = vm.supervisor.current.state;
    if (isGuestUp(state)) {
      await assertPortFree(forward);
      const hmp = hmpOf(vm);
      await addLiveForward(hmp, index, forward);
      try {
        await vm.update((c) => withNatForwards(c, index, (list) => [...list, forward]));
      } catch (err) {
        // Not kept: not live either.
        await removeLiveForward(hmp, index, forward).catch(() => undefined);
        throw err;
      }
      return natInfo(index, forward, true);
    }
    if (isLive(state)) throw settling(vm);
    await vm.update((c) => withNatForwards(c, index, (list) => [...list, forward]));
    return natInfo(index, forward, false);
  }

  private async removeOnNat(vm: Vm, index: number, forward: PortForward): Promise<ForwardInfo> {
    const state = vm.supervisor.current.state;
    if (isLive(state) && !isGuestUp(state)) throw settling(vm);
    const hmp = isGuestUp(state) ? hmpOf(vm) : null;
    if (hmp) await removeLiveForward(hmp, index, forward);
    try {
      await vm.update((c) =>
        withNatForwards(c, index, (list) =>
          list.filter((x) => !matches(x, forward.protocol, forward.hostPort)),
        ),
      );
    } catch (err) {
      // Still in the config: put it back in QEMU as well.
      if (hmp) await addLiveForward(hmp, index, forward).catch(() => undefined);
      throw err;
    }
    return natInfo(index, forward, false);
  }

  private async addOnNetwork(
    vm: Vm,
    index: number,
    nic: NicConfig,
    network: string,
    forward: PortForward,
    given: string | undefined,
  ): Promise<ForwardInfo> {
    const summary = await this.networks.get(network, NO_REFRESH);
    if (!summary.config.nat) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The network "${summary.config.name}" has no NAT, so nothing outside it reaches its guests: turn its NAT on to forward ports to them`,
        { nic: 'The network has no NAT' },
      );
    }
    const guestAddress = given ?? (await this.addressOnNetwork(vm, index, nic, summary));
    if (!guestAddress) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The address of "${vm.config.name}" on the network "${summary.config.name}" is not known yet (no guest agent answered and no DHCP lease was seen): give it, as [tcp:]HOSTPORT:GUESTADDR:GUESTPORT, like ${forward.hostPort}:10.13.1.15:${forward.guestPort}`,
        { guestAddress: 'Give the guest address' },
      );
    }
    await this.assertUnclaimed(forward);
    const stored: NetworkForward = { ...forward, guestAddress, vmId: vm.id };
    const { live } = await this.networks.addForward(summary.config.name, stored);
    return networkInfo(index, stored, summary.config.name, live);
  }

  private async addressOnNetwork(
    vm: Vm,
    index: number,
    nic: NicConfig,
    summary: NetworkSummary,
  ): Promise<string | null> {
    const member = summary.members.find((m) => m.vmId === vm.id && m.nic === index) ?? null;
    const addresses = cardAddresses(nic, {
      running: isGuestUp(vm.supervisor.current.state),
      cardCount: vm.config.nics.length,
      agent: await currentAgentFacts(vm),
      member,
    });
    return addresses.find((a) => a.includes('.')) ?? member?.addresses[0] ?? null;
  }

  /** The first card with NAT: its own, or a NAT network's. */
  private async defaultCard(vm: Vm): Promise<number> {
    const nics = vm.config.nics;
    const own = nics.findIndex((n) => n.attach.kind === 'nat');
    if (own >= 0) return own;
    for (let i = 0; i < nics.length; i++) {
      const a = nics[i]?.attach;
      if (a?.kind !== 'network') continue;
      const summary = await this.networks.get(a.network, NO_REFRESH).catch(() => null);
      if (summary?.config.nat) return i;
    }
    throw new VivariumError(
      'INVALID_REQUEST',
      `"${vm.config.name}" has no card on NAT, which forwards need: add one (shut the VM down first) or attach a card to a network with NAT`,
      { nic: 'No NAT card' },
    );
  }

  /** Refuses a host port (and protocol) that any forward in the library has, naming whose. */
  private async assertUnclaimed(f: PortForward): Promise<void> {
    const owner = await this.whoForwards(f.protocol, f.hostPort);
    if (owner) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `Host port ${f.hostPort} (${f.protocol}) is already forwarded by ${owner}: choose another host port`,
        { 'forward.hostPort': `Forwarded by ${owner}` },
      );
    }
  }

  /** Who forwards `protocol` `hostPort`: `"web" (card 2)` or `the network "lab"`, or null. */
  private async whoForwards(protocol: Protocol, hostPort: number): Promise<string | null> {
    const probe = { protocol, hostPort };
    for (const other of this.vms.list()) {
      const nics = other.config.nics;
      for (let i = 0; i < nics.length; i++) {
        const a = nics[i]?.attach;
        if (a?.kind === 'nat' && a.forwards.some((f) => forwardsClash(f, probe))) {
          return `"${other.config.name}" (${nicLabel(i).toLowerCase()})`;
        }
      }
    }
    for (const net of await this.networks.list(NO_REFRESH)) {
      const f = net.config.forwards.find((x) => forwardsClash(x, probe));
      if (!f) continue;
      const vm = f.vmId ? this.vms.list().find((v) => v.id === f.vmId) : undefined;
      return `the network "${net.config.name}"${vm ? ` (to "${vm.config.name}")` : ''}`;
    }
    return null;
  }

  /** Every host port of `protocol` a forward in the library has, started or not. */
  private async takenPorts(protocol: Protocol): Promise<Set<number>> {
    const ports = new Set<number>();
    for (const vm of this.vms.list()) {
      for (const n of vm.config.nics) {
        if (n.attach.kind !== 'nat') continue;
        for (const f of n.attach.forwards) if (f.protocol === protocol) ports.add(f.hostPort);
      }
    }
    for (const net of await this.networks.list(NO_REFRESH)) {
      for (const f of net.config.forwards) if (f.protocol === protocol) ports.add(f.hostPort);
    }
    return ports;
  }

  /** The running VM's live rules (`info usernet`); null when it is not up or QEMU did not say. */
  private async liveRules(vm: Vm): Promise<LiveRules> {
    if (!isGuestUp(vm.supervisor.current.state)) return new Map();
    if (!vm.config.nics.some((n) => n.attach.kind === 'nat')) return new Map();
    try {
      return parseUsernet(await hmpOf(vm)('info usernet'));
    } catch {
      return null;
    }
  }
}

function hmpOf(vm: Vm): Hmp {
  return async (commandLine) => {
    const out = await vm.supervisor.command('human-monitor-command', {
      'command-line': commandLine,
    });
    return typeof out === 'string' ? out : '';
  };
}

function cardOf(vm: Vm, index: number): NicConfig {
  const nic = vm.config.nics[index];
  if (!nic) {
    const count = vm.config.nics.length;
    throw new VivariumError(
      'NOT_FOUND',
      count === 0
        ? `"${vm.config.name}" has no network card: add one first`
        : `"${vm.config.name}" has no ${nicLabel(index).toLowerCase()}: its cards are 1 to ${count}`,
      { nic: 'No such card' },
    );
  }
  return nic;
}

function settling(vm: Vm): VivariumError {
  return new VivariumError(
    'BAD_STATE',
    `"${vm.config.name}" is ${vm.supervisor.current.state}: try again once it runs or is stopped`,
  );
}

async function assertPortFree(f: PortForward): Promise<void> {
  if (!(await portFree(f.protocol, f.hostAddress, f.hostPort))) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `Port ${f.hostPort} on ${f.hostAddress} is in use by another program: choose another host port`,
      { 'forward.hostPort': 'In use by another program' },
    );
  }
}

/** The forward as the config keeps it: no flags that say nothing. */
function storedForward(f: PortForward): PortForward {
  return {
    protocol: f.protocol,
    hostAddress: f.hostAddress,
    hostPort: f.hostPort,
    guestPort: f.guestPort,
    ...(f.public ? { public: true } : {}),
    ...(f.auto ? { auto: true } : {}),
  };
}

function matches(f: { protocol: string; hostPort: number }, protocol: Protocol, port: number) {
  return f.protocol === protocol && f.hostPort === port;
}

/** The config with card `index`'s NAT forwards changed (re-checked on the config as it is now). */
function withNatForwards(
  c: VmConfig,
  index: number,
  change: (list: PortForward[]) => PortForward[],
): VmConfig {
  const nic = c.nics[index];
  if (nic?.attach.kind !== 'nat') {
    throw new VivariumError(
      'BAD_STATE',
      `${nicLabel(index)} of "${c.name}" is no longer on NAT (changed meanwhile): look at its cards again`,
    );
  }
  const forwards = change(nic.attach.forwards);
  const seen: PortForward[] = [];
  for (const f of forwards) {
    if (seen.some((s) => forwardsClash(s, f))) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `Host port ${f.hostPort} (${f.protocol}) is already forwarded by "${c.name}": choose another host port`,
        { 'forward.hostPort': 'Already forwarded' },
      );
    }
    seen.push(f);
  }
  return {
    ...c,
    nics: c.nics.map((n, i) => (i === index ? { ...n, attach: { ...nic.attach, forwards } } : n)),
  };
}

function natInfo(nic: number, f: PortForward, live: boolean): ForwardInfo {
  return { ...f, nic, guestAddress: null, network: null, live, spec: formatForward(f) };
}

function networkInfo(nic: number, f: NetworkForward, network: string, live: boolean): ForwardInfo {
  const { vmId: _vmId, guestAddress, ...forward } = f;
  return {
    ...forward,
    nic,
    guestAddress,
    network,
    live,
    spec: formatForward({ ...forward, guestAddress }),
  };
}
