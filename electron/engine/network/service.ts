/**
 * Private networks: their configs (store), their switch and router processes (found again by
 * pid file, so networks keep working while the app is away), the VMs on them, and their port
 * forwards. Nothing here is held in memory between calls: every answer looks at the disk and
 * the processes, so the app, the server and a CLI command agree.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmConfig } from '../../../common/contract';
import type {
  BridgeCheck,
  NetworkConfig,
  NetworkForward,
  NetworkMember,
  NetworkSummary,
} from '../../../common/contract/networks';
import {
  GATEWAY_HOST,
  forwardsClash,
  freeSubnet,
  hostAddress,
  parseSubnet,
  subnetContains,
  type Subnet,
} from '../../../common/rules/networks';
import { isLive } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { EventBus } from '../events/event-bus';
import type { HostService } from '../host/host-service';
import { requireQemuBinary } from '../host/require';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import type { EnginePaths } from '../paths';
import { bridgeNotReadyMessage, checkBridge, type BridgeFactSources } from './bridge-check';
import {
  liveRouter,
  needsRouter,
  routerAddForward,
  routerRemoveForward,
  startRouter,
  stopRouter,
} from './router';
import { NetworkStore, networkDir, networkKey } from './store';
import { ensureSwitch, liveSwitch, networkRunFiles, stopSwitch, VDE_SWITCH } from './switch';

/** How long after a VM was given a network's switch its QEMU may take to be seen running. */
const START_GRACE_MS = 15_000;

/** What a VM's start needs from the networks: its cards' switches, the bridge helper. */
export interface NetworkPreparer {
  prepare(config: VmConfig): Promise<{
    networkSwitches: Record<string, string>;
    bridgeHelper: string | null;
  }>;
}

export interface NetworkCreate {
  name: string;
  subnet?: string | undefined;
  dhcp: boolean;
  nat: boolean;
}

export type NetworkPatch = Partial<Pick<NetworkConfig, 'name' | 'subnet' | 'dhcp' | 'nat'>>;

/** The error for a card or a request naming a network that does not exist. */
export function networkMissing(name: string): VivariumError {
  return new VivariumError(
    'NOT_FOUND',
    `There is no network called "${name}": create it first with \`vivarium network create ${name}\` (or on the Networks page).`,
    { network: 'No such network' },
  );
}

/** QEMU's user-mode NAT always serves DHCP (QEMU 7.2 cannot turn it off). */
function natWithoutDhcpProblem(c: Pick<NetworkConfig, 'dhcp' | 'nat'>): string | null {
  return c.nat && !c.dhcp
    ? 'A network with NAT always hands out addresses by DHCP (QEMU’s user-mode NAT cannot turn it off): keep DHCP on, or turn NAT off. Guests may still use static addresses outside .15 to .30.'
    : null;
}

function subnetOf(c: Pick<NetworkConfig, 'subnet'>): Subnet {
  const parsed = parseSubnet(c.subnet);
  if (!parsed.ok) throw new VivariumError('INTERNAL', parsed.message);
  return parsed.value;
}

function cardsOn(config: VmConfig, network: string): number[] {
  return config.nics.flatMap((nic, i) =>
    nic.attach.kind === 'network' && networkKey(nic.attach.network) === networkKey(network)
      ? [i]
      : [],
  );
}

/** Whether `port` can be listened on at `address` now (nothing else holds it). */
export function hostPortFree(
  protocol: 'tcp' | 'udp',
  address: string,
  port: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, address, () => socket.close(() => resolve(true)));
      return;
    }
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}

export interface NetworkServiceOptions {
  /** Default: vde_switch on the PATH. */
  switchBinary?: string;
  /** Where bridge-check reads the host's facts (default: /etc/qemu/bridge.conf, /sys/class/net). */
  bridge?: BridgeFactSources;
}

/**
 * Whether the VM's QEMU runs now. A oneshot engine (a CLI command) has not looked yet, so a
 * state that says stopped is checked against the pid file; one that says live is trusted (keeping
 * a network up by mistake costs little, pulling it from under a VM does not).
 */
export interface SummaryOptions {
  /** Check each member VM's QEMU first (default), or trust its last known state. */
  refresh?: boolean;
}

async function liveNow(vm: Vm): Promise<boolean> {
  if (isLive(vm.supervisor.current.state)) return true;
  await vm.safeRefresh();
  return isLive(vm.supervisor.current.state);
}

export class NetworkService implements NetworkPreparer {
  readonly store: NetworkStore;

  constructor(
    private readonly paths: EnginePaths,
    private readonly registry: VmRegistry,
    private readonly events: EventBus,
    private readonly host: HostService,
    private readonly opts: NetworkServiceOptions = {},
  ) {
    this.store = new NetworkStore(paths);
  }

  /**
   * `refresh: false` trusts each member VM's last known state: callers that hold a VM's queue
   * (cards, forwards) must not wait on it, nor on another VM's, which may be waiting on theirs.
   */
  async list(opts: SummaryOptions = {}): Promise<NetworkSummary[]> {
    const configs = await this.store.list();
    return Promise.all(configs.map((c) => this.summary(c, opts)));
  }

  async get(name: string, opts: SummaryOptions = {}): Promise<NetworkSummary> {
    return this.summary(await this.requireNetwork(name), opts);
  }

  /** The network called `name`, or the error that says how to create it. */
  async requireNetwork(name: string): Promise<NetworkConfig> {
    const found = await this.store.find(name);
    if (!found) throw networkMissing(name);
    return found;
  }

  async create(req: NetworkCreate): Promise<NetworkSummary> {
    const problem = natWithoutDhcpProblem(req);
    if (problem) throw new VivariumError('INVALID_REQUEST', problem, { dhcp: problem });
    const config = await this.registry.locks.library(async () => {
      const taken = (await this.store.list()).map(subnetOf);
      const subnet = req.subnet ?? freeSubnet(taken);
      return this.store.write(
        this.store.newConfig({ name: req.name, subnet, dhcp: req.dhcp, nat: req.nat }),
      );
    });
    return this.announce(config);
  }

  async update(ref: string, patch: NetworkPatch): Promise<NetworkSummary> {
    const before = await this.requireNetwork(ref);
    const next: NetworkConfig = { ...before, ...patch };
    const problem = natWithoutDhcpProblem(next);
    if (problem) throw new VivariumError('INVALID_REQUEST', problem, { dhcp: problem });
    const wiring =
      next.subnet !== before.subnet || next.dhcp !== before.dhcp || next.nat !== before.nat;
    if (wiring) {
      const running = (await this.members(before)).filter((m) => m.running);
      if (running.length) {
        throw new VivariumError(
          'BAD_STATE',
          `The subnet, DHCP and NAT of "${before.name}" change only while no VM on it runs: shut down ${[...new Set(running.map((m) => `"${m.vmName}"`))].join(', ')} first.`,
        );
      }
    }
    if (!next.nat && next.forwards.length) {
      throw new VivariumError(
        'BAD_STATE',
        `"${before.name}" has port forwards, which need NAT: remove them before turning NAT off.`,
      );
    }
    const outside = next.forwards.filter((f) => !subnetContains(subnetOf(next), f.guestAddress));
    if (outside.length) {
      throw new VivariumError(
        'BAD_STATE',
        `Forwards of "${before.name}" point at ${outside.map((f) => f.guestAddress).join(', ')}, outside ${next.subnet}: remove them first.`,
      );
    }
    const written = await this.registry.locks.library(() => this.store.write(next));
    if (written.name !== before.name) {
      // Cards name their network: they follow the rename.
      for (const vm of this.registry.list()) {
        if (!cardsOn(vm.config, before.name).length) continue;
        await vm.update((fresh) => ({
          ...fresh,
          nics: fresh.nics.map((nic) =>
            nic.attach.kind === 'network' &&
            networkKey(nic.attach.network) === networkKey(before.name)
              ? { ...nic, attach: { kind: 'network', network: written.name } }
              : nic,
          ),
        }));
      }
    }
    if (wiring) {
      const files = networkRunFiles(this.paths, written.id);
      await stopRouter(written, files);
      if (needsRouter(written) && (await liveSwitch(files)) !== null)
        await this.startRouterFor(written);
    }
    return this.announce(written);
  }

  /**
   * Refused while a running VM's card is on it; stopped VMs' cards refuse it too unless
   * `detach`, which unplugs them (their cards become "not connected").
   */
  async delete(
    ref: string,
    detach: boolean,
  ): Promise<{ deleted: true; detached: { vmName: string; nic: number }[] }> {
    const config = await this.requireNetwork(ref);
    const members = await this.members(config);
    const running = members.filter((m) => m.running);
    const names = (list: NetworkMember[]): string =>
      [...new Set(list.map((m) => `"${m.vmName}"`))].join(', ');
    if (running.length) {
      throw new VivariumError(
        'BAD_STATE',
        `The network "${config.name}" is in use by running VMs: ${names(running)} (running). Shut them down (or move their cards to another network) before deleting it.`,
      );
    }
    if (members.length && !detach) {
      throw new VivariumError(
        'BAD_STATE',
        `The network "${config.name}" is in use by ${names(members)}: move their cards to another network, or delete with detach (\`vivarium network rm ${config.name} --detach\`) to unplug them.`,
      );
    }
    const detached: { vmName: string; nic: number }[] = [];
    for (const vm of this.vmsOn(config)) {
      // Read before the update: afterwards the cards no longer name the network.
      const cards = cardsOn(vm.config, config.name);
      await vm.update((fresh) => {
        if (isLive(vm.supervisor.current.state)) {
          throw new VivariumError(
            'BAD_STATE',
            `"${fresh.name}" started meanwhile and is on "${config.name}": shut it down first.`,
          );
        }
        return {
          ...fresh,
          nics: fresh.nics.map((nic) =>
            nic.attach.kind === 'network' &&
            networkKey(nic.attach.network) === networkKey(config.name)
              ? { ...nic, attach: { kind: 'none' } }
              : nic,
          ),
        };
      });
      for (const nic of cards) detached.push({ vmName: vm.config.name, nic });
    }
    const files = networkRunFiles(this.paths, config.id);
    await stopRouter(config, files);
    await stopSwitch(files);
    await rm(files.run, { recursive: true, force: true });
    await this.store.remove(config.id);
    this.events.emit({ type: 'network.removed', id: config.id });
    return { deleted: true, detached };
  }

  bridgeCheck(bridge: string): Promise<BridgeCheck> {
    return checkBridge(bridge, this.opts.bridge);
  }

  /**
   * Stops the switch and router of each network no running VM is on any more (a VM stopped,
   * a card moved): nothing would use them. Under the library lock, like their start.
   */
  releaseUnused(): Promise<string[]> {
    // One at a time: stop events come in bursts.
    const next = this.releasing.then(() => this.releaseNow());
    this.releasing = next.catch(() => undefined);
    return next;
  }

  private releasing: Promise<unknown> = Promise.resolve();
  private recheck: NodeJS.Timeout | null = null;

  private async releaseNow(): Promise<string[]> {
    const released: string[] = [];
    for (const config of await this.store.list()) {
      const files = networkRunFiles(this.paths, config.id);
      const up = (await liveSwitch(files)) !== null || (await liveRouter(config, files)) !== null;
      if (!up) continue;
      let used = false;
      for (const vm of this.vmsOn(config)) used ||= await liveNow(vm);
      if (used) continue;
      // A VM that has just been given the network is not running yet (its QEMU is starting, in
      // this process or another): look again once it has had time to.
      const prepared = await stat(files.prepared).catch(() => null);
      const wait = prepared ? prepared.mtimeMs + START_GRACE_MS - Date.now() : 0;
      if (wait > 0) {
        this.recheckIn(wait);
        continue;
      }
      const stopped = await this.registry.locks.library(async () => {
        for (const vm of this.vmsOn(config)) if (isLive(vm.supervisor.current.state)) return false;
        await stopRouter(config, files);
        await stopSwitch(files);
        return true;
      });
      if (stopped) {
        released.push(config.name);
        await this.announce(config);
      }
    }
    return released;
  }

  /** Starts the network's switch (and router) unless they run; returns the switch's folder. */
  async ensureRunning(name: string): Promise<string> {
    const config = await this.requireNetwork(name);
    const files = networkRunFiles(this.paths, config.id);
    const wasRunning = await this.isRunning(config);
    // Under the library lock: two VMs starting at once in two processes make one switch.
    const dir = await this.registry.locks.library(async () => {
      const sock = await ensureSwitch(files, this.opts.switchBinary ?? VDE_SWITCH);
      await writeFile(files.prepared, `${Date.now()}\n`, { mode: 0o600 });
      if (needsRouter(config) && (await liveRouter(config, files)) === null) {
        await this.startRouterFor(config);
      }
      return sock;
    });
    if (!wasRunning) await this.announce(config);
    return dir;
  }

  async prepare(config: VmConfig): Promise<{
    networkSwitches: Record<string, string>;
    bridgeHelper: string | null;
  }> {
    const networkSwitches: Record<string, string> = {};
    let bridgeHelper: string | null = null;
    for (const [i, nic] of config.nics.entries()) {
      const a = nic.attach;
      if (a.kind === 'network' && !(a.network in networkSwitches)) {
        networkSwitches[a.network] = await this.ensureRunning(a.network);
      } else if (a.kind === 'bridge') {
        const check = await checkBridge(a.bridge, this.opts.bridge);
        if (!check.ok) throw new VivariumError('BAD_STATE', bridgeNotReadyMessage(check, i));
        bridgeHelper = check.helper;
      }
    }
    return { networkSwitches, bridgeHelper };
  }

  /**
   * Adds a forward on a NAT network: live in its router when it runs, kept in its config. A
   * host port another forward has, or that something on the host holds, is refused and
   * nothing changes.
   */
  async addForward(network: string, forward: NetworkForward): Promise<{ live: boolean }> {
    const config = await this.requireNetwork(network);
    if (!config.nat) {
      throw new VivariumError(
        'BAD_STATE',
        `The network "${config.name}" has no NAT, so nothing from this computer reaches it: turn NAT on for it first.`,
      );
    }
    if (!subnetContains(subnetOf(config), forward.guestAddress)) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${forward.guestAddress} is not on the network "${config.name}" (${config.subnet}): forward to a guest's address there.`,
        { guestAddress: `Not in ${config.subnet}` },
      );
    }
    const clash = await this.portOwner(forward);
    if (clash) {
      throw new VivariumError(
        'BUSY',
        `Host port ${forward.hostPort} (${forward.protocol}) is already forwarded ${clash}: pick another port.`,
        { hostPort: 'This port is taken' },
      );
    }
    const files = networkRunFiles(this.paths, config.id);
    const live = (await liveRouter(config, files)) !== null;
    if (live) {
      await routerAddForward(files, forward);
    } else if (!(await hostPortFree(forward.protocol, forward.hostAddress, forward.hostPort))) {
      throw new VivariumError(
        'BUSY',
        `Host port ${forward.hostPort} (${forward.protocol}) on ${forward.hostAddress} is in use on this computer: pick another port.`,
        { hostPort: 'This port is in use' },
      );
    }
    try {
      const written = await this.registry.locks.library(async () => {
        const fresh = await this.store.read(config.id);
        return this.store.write({ ...fresh, forwards: [...fresh.forwards, forward] });
      });
      await this.announce(written);
    } catch (err) {
      if (live) await routerRemoveForward(files, forward).catch(() => undefined);
      throw err;
    }
    return { live };
  }

  async removeForward(
    network: string,
    protocol: 'tcp' | 'udp',
    hostPort: number,
  ): Promise<NetworkForward> {
    const config = await this.requireNetwork(network);
    const found = config.forwards.find((f) => forwardsClash(f, { protocol, hostPort }));
    if (!found) {
      throw new VivariumError(
        'NOT_FOUND',
        `The network "${config.name}" has no ${protocol} forward from host port ${hostPort}.`,
      );
    }
    const files = networkRunFiles(this.paths, config.id);
    if ((await liveRouter(config, files)) !== null) await routerRemoveForward(files, found);
    const written = await this.registry.locks.library(async () => {
      const fresh = await this.store.read(config.id);
      return this.store.write({
        ...fresh,
        forwards: fresh.forwards.filter((f) => !forwardsClash(f, found)),
      });
    });
    await this.announce(written);
    return found;
  }

  private recheckIn(ms: number): void {
    if (this.recheck) return;
    this.recheck = setTimeout(() => {
      this.recheck = null;
      this.releaseUnused().catch(() => undefined);
    }, ms + 100);
    this.recheck.unref();
  }

  /** Stops the timers (the engine is closing); the networks keep running. */
  close(): void {
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
  }

  /** Where a host port is forwarded already (a network's or a VM's NAT card), or null. */
  private async portOwner(f: { protocol: string; hostPort: number }): Promise<string | null> {
    for (const n of await this.store.list()) {
      if (n.forwards.some((g) => forwardsClash(g, f))) return `on the network "${n.name}"`;
    }
    for (const vm of this.registry.list()) {
      for (const nic of vm.config.nics) {
        if (nic.attach.kind === 'nat' && nic.attach.forwards.some((g) => forwardsClash(g, f))) {
          return `to the VM "${vm.config.name}"`;
        }
      }
    }
    return null;
  }

  private async startRouterFor(config: NetworkConfig): Promise<void> {
    const binary = requireQemuBinary(await this.host.get(), 'x86_64');
    await startRouter(
      config,
      networkRunFiles(this.paths, config.id),
      binary,
      join(networkDir(this.paths, config.id), 'router.log'),
    );
  }

  private async isRunning(config: NetworkConfig): Promise<boolean> {
    const files = networkRunFiles(this.paths, config.id);
    if ((await liveSwitch(files)) === null) return false;
    return !needsRouter(config) || (await liveRouter(config, files)) !== null;
  }

  private vmsOn(config: NetworkConfig): Vm[] {
    return this.registry.list().filter((vm) => cardsOn(vm.config, config.name).length > 0);
  }

  private async members(config: NetworkConfig, refresh = true): Promise<NetworkMember[]> {
    const subnet = subnetOf(config);
    const vms = this.vmsOn(config).sort((a, b) => a.config.name.localeCompare(b.config.name));
    const live = refresh
      ? await Promise.all(vms.map(liveNow))
      : vms.map((vm) => isLive(vm.supervisor.current.state));
    return vms.flatMap((vm, i) => {
      const summary = vm.summary();
      const running = live[i] ?? false;
      const addresses = running
        ? (summary.guest?.agent?.addresses ?? []).filter((a) => subnetContains(subnet, a))
        : [];
      return cardsOn(vm.config, config.name).map((nic) => ({
        vmId: vm.id,
        vmName: vm.config.name,
        nic,
        mac: vm.config.nics[nic]?.mac ?? '',
        running,
        addresses,
      }));
    });
  }

  private async summary(config: NetworkConfig, opts: SummaryOptions = {}): Promise<NetworkSummary> {
    return {
      config,
      running: await this.isRunning(config),
      gateway: needsRouter(config) ? hostAddress(subnetOf(config), GATEWAY_HOST) : null,
      members: await this.members(config, opts.refresh ?? true),
    };
  }

  private async announce(config: NetworkConfig): Promise<NetworkSummary> {
    const network = await this.summary(config);
    this.events.emit({ type: 'network.changed', network });
    return network;
  }
}
