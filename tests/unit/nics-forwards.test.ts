/**
 * Network cards and port forwards without QEMU: QEMU's HMP answers as text (its `info usernet`
 * table, hostfwd errors), which address each card shows, and the decisions of the card and
 * forward services on a real library of stopped VMs, with the private networks held in memory.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CONFIG_VERSION,
  methods,
  VmConfigSchema,
  type GuestAgentInfo,
  type NetworkConfig,
  type NetworkForward,
  type NetworkSummary,
  type NicConfig,
  type ParsedParams,
} from '../../common/contract';
import { NICS_NEED_STOP, nicLabel } from '../../common/rules/vm-settings';
import { EventBus } from '../../electron/engine/events/event-bus';
import { VivariumError } from '../../electron/engine/errors';
import { VmRegistry } from '../../electron/engine/library/registry';
import { cardAddresses } from '../../electron/engine/network/card-addresses';
import { ForwardService, type NetworkPort } from '../../electron/engine/network/forwards';
import {
  hostfwdAddCommand,
  hostfwdAddProblem,
  hostfwdRemoveCommand,
  hostfwdRemoveOutcome,
  isForwardLive,
  parseUsernet,
} from '../../electron/engine/network/hostfwd';
import { NicService } from '../../electron/engine/network/nics';
import { interfaceFacts } from '../../electron/engine/guest/agent-facts';
import { enginePaths } from '../../electron/engine/paths';

/** `info usernet` as QEMU 7.2 printed it here for two NAT cards (net0 with two rules, net2 one). */
const USERNET =
  'Hub -1 (net0):\r\n' +
  '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n' +
  '  TCP[HOST_FORWARD]   8       127.0.0.1 18181       10.0.2.15    80     0     0\r\n' +
  '  UDP[HOST_FORWARD]  13       127.0.0.1 18182       10.0.2.15    53     0     0\r\n' +
  '  TCP[ESTABLISHED]   15       10.0.2.15 43210   93.184.216.34   443     0     0\r\n' +
  'Hub -1 (net2):\r\n' +
  '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n' +
  '  TCP[HOST_FORWARD]  14               * 18183       10.0.2.15    22     0     0\r\n';

describe('HMP answers', () => {
  it('reads the host forwards of each user-mode network from `info usernet`', () => {
    const live = parseUsernet(USERNET);
    expect([...live.keys()]).toEqual(['net0', 'net2']);
    expect(live.get('net0')).toEqual([
      {
        protocol: 'tcp',
        hostAddress: '127.0.0.1',
        hostPort: 18181,
        guestAddress: '10.0.2.15',
        guestPort: 80,
      },
      {
        protocol: 'udp',
        hostAddress: '127.0.0.1',
        hostPort: 18182,
        guestAddress: '10.0.2.15',
        guestPort: 53,
      },
    ]);
    // `*` is every address.
    expect(live.get('net2')?.[0]).toMatchObject({ hostAddress: '0.0.0.0', hostPort: 18183 });
    const tcp = { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 18181 } as const;
    expect(isForwardLive(live, 0, tcp)).toBe(true);
    expect(isForwardLive(live, 1, tcp)).toBe(false);
    expect(isForwardLive(live, 0, { ...tcp, protocol: 'udp' })).toBe(false);
    expect(isForwardLive(live, 2, { ...tcp, hostAddress: '0.0.0.0', hostPort: 18183 })).toBe(true);
    expect(parseUsernet('')).toEqual(new Map());
  });

  it('writes the commands with the host address always, and reads their text', () => {
    const f = { protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 5353, guestPort: 53 } as const;
    expect(hostfwdAddCommand(1, f)).toBe('hostfwd_add net1 udp:127.0.0.1:5353-:53');
    expect(hostfwdRemoveCommand(1, f)).toBe('hostfwd_remove net1 udp:127.0.0.1:5353');
    expect(hostfwdAddProblem('')).toBeNull();
    expect(
      hostfwdAddProblem("Could not set up host forwarding rule 'tcp:127.0.0.1:1-:80'\r\n"),
    ).toBe("Could not set up host forwarding rule 'tcp:127.0.0.1:1-:80'");
    expect(hostfwdAddProblem("unrecognized netdev id 'net7'\r\n")).toMatch(/unrecognized/);
    expect(hostfwdRemoveOutcome('host forwarding rule for udp:127.0.0.1:18182 removed\r\n')).toBe(
      'removed',
    );
    expect(hostfwdRemoveOutcome('host forwarding rule for tcp:127.0.0.1:18190 not found\r\n')).toBe(
      'absent',
    );
    expect(hostfwdRemoveOutcome("unrecognized netdev id 'nope'\r\n")).toEqual({
      problem: "unrecognized netdev id 'nope'",
    });
  });
});

describe('card addresses', () => {
  const nat: NicConfig = {
    model: 'virtio-net-pci',
    mac: '52:54:00:00:00:01',
    attach: { kind: 'nat', forwards: [], internet: true },
  };
  const lan: NicConfig = {
    model: 'e1000',
    mac: '52:54:00:00:00:02',
    attach: { kind: 'network', network: 'lab' },
  };
  const agent: GuestAgentInfo = {
    os: null,
    hostname: null,
    addresses: ['10.0.2.15', '10.13.1.16'],
    interfaces: interfaceFacts([
      {
        name: 'eth1',
        hardwareAddress: '52:54:00:00:00:02',
        addresses: [{ family: 'ipv4', address: '10.13.1.16', prefix: 24 }],
      },
    ]),
    seenAt: '2026-01-01T00:00:00Z',
  };

  it('come from the agent by MAC, else the NAT address while running, else the network lease', () => {
    expect(cardAddresses(lan, { running: true, cardCount: 2, agent })).toEqual(['10.13.1.16']);
    expect(cardAddresses(nat, { running: true, cardCount: 2, agent })).toEqual(['10.0.2.15']);
    expect(cardAddresses(nat, { running: false, cardCount: 2, agent: null })).toEqual([]);
    const member = {
      vmId: 'x',
      vmName: 'x',
      nic: 1,
      mac: lan.mac,
      running: true,
      addresses: ['10.13.1.20'],
    };
    expect(cardAddresses(lan, { running: true, cardCount: 2, agent: null, member })).toEqual([
      '10.13.1.20',
    ]);
    // Facts saved before they had interfaces: a one-card VM's addresses are that card's.
    const old = { ...agent, interfaces: undefined, addresses: ['192.168.1.9'] };
    const bridged: NicConfig = { ...lan, attach: { kind: 'bridge', bridge: 'br0' } };
    expect(cardAddresses(bridged, { running: true, cardCount: 1, agent: old })).toEqual([
      '192.168.1.9',
    ]);
    expect(cardAddresses(bridged, { running: true, cardCount: 2, agent: old })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

/** The private networks, held in memory: what the network service would keep on disk. */
class MemoryNetworks implements NetworkPort {
  readonly nets = new Map<string, NetworkConfig>();
  members: NetworkSummary['members'] = [];

  make(name: string, nat: boolean): void {
    this.nets.set(name, {
      configVersion: 1,
      id: `0000000000${this.nets.size}`.slice(-12),
      name,
      subnet: '10.13.1.0/24',
      dhcp: true,
      nat,
      forwards: [],
      createdAt: '2026-01-01T00:00:00Z',
    });
  }

  requireNetwork(name: string): Promise<unknown> {
    return this.get(name);
  }

  get(name: string): Promise<NetworkSummary> {
    const config = this.nets.get(name);
    if (!config) {
      return Promise.reject(new VivariumError('NOT_FOUND', `There is no network called "${name}"`));
    }
    return Promise.resolve({ config, running: true, gateway: '10.13.1.2', members: this.members });
  }

  async list(): Promise<NetworkSummary[]> {
    return Promise.all([...this.nets.keys()].map((n) => this.get(n)));
  }

  addForward(network: string, forward: NetworkForward): Promise<{ live: boolean }> {
    const c = this.nets.get(network);
    if (!c) return Promise.reject(new Error('no network'));
    c.forwards.push(forward);
    return Promise.resolve({ live: true });
  }

  removeForward(network: string, protocol: 'tcp' | 'udp', hostPort: number) {
    const c = this.nets.get(network);
    const f = c?.forwards.find((x) => x.protocol === protocol && x.hostPort === hostPort);
    if (!c || !f) return Promise.reject(new Error('no forward'));
    c.forwards = c.forwards.filter((x) => x !== f);
    return Promise.resolve(f);
  }
}

let root: string;
let registry: VmRegistry;
let networks: MemoryNetworks;
let forwards: ForwardService;
let nics: NicService;
const servers: Server[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'viv-nics-'));
  const paths = enginePaths(join(root, 'home'), join(root, 'run'));
  await mkdir(paths.vmsDir, { recursive: true });
  await mkdir(paths.runtimeDir, { recursive: true });
  registry = new VmRegistry(paths, 'oneshot', new EventBus());
  await registry.open();
  networks = new MemoryNetworks();
  forwards = new ForwardService(registry, networks);
  nics = new NicService(registry, networks, forwards);
});

afterEach(async () => {
  registry.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await rm(root, { recursive: true, force: true });
});

let macTail = 0x10;
function card(attach: NicConfig['attach']): NicConfig {
  macTail++;
  return { model: 'virtio-net-pci', mac: `52:54:00:00:01:${macTail.toString(16)}`, attach };
}
const natCard = (fw: { hostPort: number; guestPort: number }[] = []) =>
  card({
    kind: 'nat',
    forwards: fw.map((f) => ({ protocol: 'tcp' as const, hostAddress: '127.0.0.1', ...f })),
    internet: true,
  });

async function addVm(name: string, cards: NicConfig[], cloudUser?: string) {
  const { id, files } = registry.newVmFiles();
  await mkdir(files.logsDir, { recursive: true });
  const config = VmConfigSchema.parse({
    configVersion: CONFIG_VERSION,
    id,
    name,
    createdAt: new Date().toISOString(),
    memoryMiB: 256,
    nics: cards,
    ...(cloudUser
      ? {
          cloudInit: {
            user: cloudUser,
            hostname: name,
            seed: 'seed.iso',
            keyFile: 'key',
            userKeys: false,
            password: false,
            image: { file: '/x.qcow2', format: 'qcow2', mode: 'overlay' },
          },
        }
      : {}),
  });
  return registry.add(config, files);
}

const parse = <M extends keyof typeof methods>(m: M, p: unknown) =>
  methods[m].parse(p) as ParsedParams<M>;
const add = (p: unknown) => forwards.add(parse('forward.add', p));
const onDisk = async (vm: { files: { config: string } }) =>
  VmConfigSchema.parse(JSON.parse(await readFile(vm.files.config, 'utf8')));

async function holdPort(port: number): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

describe('forwards on a stopped VM', () => {
  it('are kept in the config for the next start, not live', async () => {
    const vm = await addVm('web', [natCard()]);
    const info = await add({ vm: 'web', forward: { hostPort: 18080, guestPort: 80 } });
    expect(info).toMatchObject({
      protocol: 'tcp',
      hostAddress: '127.0.0.1',
      hostPort: 18080,
      guestPort: 80,
      nic: 0,
      network: null,
      live: false,
      spec: 'tcp:127.0.0.1:18080:80',
    });
    const nic = (await onDisk(vm)).nics[0];
    expect(nic?.attach).toMatchObject({
      kind: 'nat',
      forwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 18080, guestPort: 80 }],
    });
    expect(await forwards.list('web')).toHaveLength(1);
    const removed = await forwards.remove(parse('forward.remove', { vm: 'web', hostPort: 18080 }));
    expect(removed.removed.hostPort).toBe(18080);
    expect((await onDisk(vm)).nics[0]?.attach).toMatchObject({ forwards: [] });
    await expect(
      forwards.remove(parse('forward.remove', { vm: 'web', hostPort: 18080 })),
    ).rejects.toThrow('"web" has no tcp forward from host port 18080');
  });

  it('refuse a host port any forward in the library has, naming who has it', async () => {
    await addVm('web', [natCard(), natCard()]);
    await addVm('db', [natCard([{ hostPort: 15432, guestPort: 5432 }])]);
    networks.make('lab', true);
    networks.nets.get('lab')?.forwards.push({
      protocol: 'udp',
      hostAddress: '127.0.0.1',
      hostPort: 15353,
      guestPort: 53,
      guestAddress: '10.13.1.15',
      vmId: null,
    });
    await expect(add({ vm: 'web', forward: { hostPort: 15432, guestPort: 80 } })).rejects.toThrow(
      'Host port 15432 (tcp) is already forwarded by "db" (card 1): choose another host port',
    );
    await expect(
      add({ vm: 'web', forward: { protocol: 'udp', hostPort: 15353, guestPort: 53 } }),
    ).rejects.toThrow('Host port 15353 (udp) is already forwarded by the network "lab"');
    // Another protocol on the same port is another forward.
    await add({ vm: 'web', forward: { protocol: 'udp', hostPort: 15432, guestPort: 53 } });
    // Two forwards on one host port of one VM, whatever the card.
    await add({ vm: 'web', forward: { hostPort: 18081, guestPort: 80 } });
    const again = await add({ vm: 'web', nic: 1, forward: { hostPort: 18081, guestPort: 81 } })
      .then(() => null)
      .catch((e: unknown) => e as VivariumError);
    expect(again?.message).toBe(
      'Host port 18081 (tcp) is already forwarded by "web" (card 1): choose another host port',
    );
    expect(again?.fields).toEqual({ 'forward.hostPort': 'Forwarded by "web" (card 1)' });
  });

  it('refuse a card that is bridged, unplugged or missing; the guest address on NAT', async () => {
    await addVm('web', [
      card({ kind: 'bridge', bridge: 'br0' }),
      card({ kind: 'none' }),
      natCard(),
    ]);
    const f = { hostPort: 18082, guestPort: 80 };
    await expect(add({ vm: 'web', nic: 0, forward: f })).rejects.toThrow(
      /Card 1 of "web" is bridged to br0: the guest is on your LAN/,
    );
    await expect(add({ vm: 'web', nic: 1, forward: f })).rejects.toThrow(
      /Card 2 of "web" is not connected: attach it to NAT/,
    );
    await expect(add({ vm: 'web', nic: 3, forward: f })).rejects.toThrow(
      '"web" has no card 4: its cards are 1 to 3',
    );
    await expect(add({ vm: 'web', forward: f, guestAddress: '10.0.2.16' })).rejects.toThrow(
      /Card 3 of "web" is on NAT, where the guest is 10.0.2.15/,
    );
    // The default card is the first on NAT.
    expect((await add({ vm: 'web', forward: f })).nic).toBe(2);
    await addVm('off', [card({ kind: 'none' })]);
    await expect(add({ vm: 'off', forward: { ...f, hostPort: 18083 } })).rejects.toThrow(
      /"off" has no card on NAT, which forwards need/,
    );
  });

  it('a port out of range or on every network without --public is refused by the contract', () => {
    expect(
      methods['forward.add'].safeParse({ vm: 'x', forward: { hostPort: 70000, guestPort: 80 } })
        .success,
    ).toBe(false);
    expect(
      methods['forward.add'].safeParse({
        vm: 'x',
        forward: { hostAddress: '0.0.0.0', hostPort: 8080, guestPort: 80 },
      }).success,
    ).toBe(false);
  });
});

describe('forwards on a NAT network', () => {
  it("go to the network, to the guest's address there (given, or known)", async () => {
    networks.make('lab', true);
    const vm = await addVm('web', [card({ kind: 'network', network: 'lab' })]);
    const stopped = await add({ vm: 'web', forward: { hostPort: 18090, guestPort: 80 } })
      .then(() => null)
      .catch((e: unknown) => (e as Error).message);
    expect(stopped).toMatch(
      /The address of "web" on the network "lab" is not known yet .*: give it, as \[tcp:\]HOSTPORT:GUESTADDR:GUESTPORT, like 18090:10.13.1.15:80/,
    );
    const info = await add({
      vm: 'web',
      forward: { hostPort: 18090, guestPort: 80 },
      guestAddress: '10.13.1.15',
    });
    expect(info).toMatchObject({
      nic: 0,
      network: 'lab',
      guestAddress: '10.13.1.15',
      live: true,
      spec: 'tcp:127.0.0.1:18090:10.13.1.15:80',
    });
    expect(networks.nets.get('lab')?.forwards).toEqual([
      {
        protocol: 'tcp',
        hostAddress: '127.0.0.1',
        hostPort: 18090,
        guestPort: 80,
        guestAddress: '10.13.1.15',
        vmId: vm.id,
      },
    ]);
    expect(await forwards.list('web')).toEqual([info]);
    // The same port on a NAT card elsewhere is refused, naming the network and the VM.
    await addVm('other', [natCard()]);
    await expect(add({ vm: 'other', forward: { hostPort: 18090, guestPort: 80 } })).rejects.toThrow(
      'Host port 18090 (tcp) is already forwarded by the network "lab" (to "web")',
    );
    const { removed } = await forwards.remove(
      parse('forward.remove', { vm: 'web', hostPort: 18090 }),
    );
    expect(removed).toMatchObject({ network: 'lab', hostPort: 18090 });
    expect(networks.nets.get('lab')?.forwards).toEqual([]);
  });

  it('is refused on a network without NAT', async () => {
    networks.make('closed', false);
    await addVm('web', [card({ kind: 'network', network: 'closed' })]);
    await expect(
      add({
        vm: 'web',
        nic: 0,
        forward: { hostPort: 18091, guestPort: 80 },
        guestAddress: '10.13.1.15',
      }),
    ).rejects.toThrow(/The network "closed" has no NAT, so nothing outside it reaches its guests/);
  });
});

describe('forward.ssh', () => {
  it('picks the first free port from 2222 that no forward in the library has, to port 22', async () => {
    await addVm('a', [natCard([{ hostPort: 2222, guestPort: 22 }])]);
    await holdPort(2223);
    await addVm('b', [natCard()], 'ada');
    const r = await forwards.ssh(parse('forward.ssh', { vm: 'b' }));
    expect(r.forward).toMatchObject({ hostPort: 2224, guestPort: 22, auto: true, nic: 0 });
    expect(r.command).toBe('ssh -p 2224 ada@127.0.0.1');
    // Asked again: the forward it has.
    expect((await forwards.ssh(parse('forward.ssh', { vm: 'b' }))).forward.hostPort).toBe(2224);
    await addVm('c', [natCard()]);
    const c = await forwards.ssh(parse('forward.ssh', { vm: 'c' }));
    expect(c.command).toBe('ssh -p 2225 user@127.0.0.1');
  });
});

describe('network cards', () => {
  it('are added with a new MAC, at most four, and a given MAC used elsewhere is refused', async () => {
    const web = await addVm('web', [natCard()]);
    const db = await addVm('db', []);
    const taken = web.config.nics[0]?.mac ?? '';
    const list = await nics.add('db', parse('nic.add', { vm: 'db', nic: {} }).nic);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      index: 0,
      config: { model: 'virtio-net-pci', attach: { kind: 'nat', forwards: [], internet: true } },
      addresses: [],
      forwards: [],
      problem: null,
    });
    expect(list[0]?.config.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(list[0]?.config.mac).not.toBe(taken);
    const clash = await nics
      .add('db', parse('nic.add', { vm: 'db', nic: { mac: taken.toUpperCase() } }).nic)
      .then(() => null)
      .catch((e: unknown) => e as VivariumError);
    expect(clash?.message).toBe(
      `${taken} is already the MAC of card 1 of "web": choose another, or leave the MAC out for a new one`,
    );
    expect(clash?.fields).toEqual({ 'nic.mac': 'Used by "web"' });
    const multicast = methods['nic.add'].safeParse({ vm: 'db', nic: { mac: '01:00:5e:00:00:01' } });
    expect(multicast.error?.issues[0]?.message).toMatch(/multicast/);
    for (const model of ['e1000', 'rtl8139', 'pcnet']) {
      await nics.add(
        'db',
        parse('nic.add', { vm: 'db', nic: { model, attach: { kind: 'none' } } }).nic,
      );
    }
    await expect(nics.add('db', parse('nic.add', { vm: 'db', nic: {} }).nic)).rejects.toThrow(
      '"db" has 4 network cards, the most a VM can have: remove one first',
    );
    expect((await onDisk(db)).nics.map((n) => n.model)).toEqual([
      'virtio-net-pci',
      'e1000',
      'rtl8139',
      'pcnet',
    ]);
  });

  it('attach to networks that exist; a missing one is a problem shown on the card', async () => {
    await addVm('web', [natCard([{ hostPort: 18100, guestPort: 80 }])]);
    await expect(
      nics.update(
        'web',
        0,
        parse('nic.update', {
          vm: 'web',
          index: 0,
          patch: { attach: { kind: 'network', network: 'lab' } },
        }).patch,
      ),
    ).rejects.toThrow('There is no network called "lab"');
    networks.make('lab', false);
    // Staying on NAT keeps the card's forwards; a new model and MAC are taken.
    let list = await nics.update(
      'web',
      0,
      parse('nic.update', {
        vm: 'web',
        index: 0,
        patch: { model: 'e1000', mac: '52:54:00:aa:bb:cc', attach: { kind: 'nat' } },
      }).patch,
    );
    expect(list[0]?.config).toMatchObject({
      model: 'e1000',
      mac: '52:54:00:aa:bb:cc',
      attach: { kind: 'nat', forwards: [{ hostPort: 18100 }] },
    });
    list = await nics.update(
      'web',
      0,
      parse('nic.update', {
        vm: 'web',
        index: 0,
        patch: { attach: { kind: 'network', network: 'lab' } },
      }).patch,
    );
    expect(list[0]?.config.attach).toEqual({ kind: 'network', network: 'lab' });
    networks.nets.delete('lab');
    expect((await nics.list('web'))[0]?.problem).toMatch(
      /There is no network called "lab" any more/,
    );
    list = await nics.remove('web', 0);
    expect(list).toEqual([]);
    await expect(nics.remove('web', 0)).rejects.toThrow('"web" has no network card');
  });

  it('say what they need: the VM shut down, in one sentence the UI shows too', () => {
    expect(NICS_NEED_STOP).toBe(
      'Shut the VM down to add or change network cards; forwards change while it runs.',
    );
    expect(nicLabel(0)).toBe('Card 1');
  });
});
