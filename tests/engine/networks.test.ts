/**
 * Private networks on real QEMU: the vde switch carries frames between its ports and no others,
 * the router answers DHCP in the subnet and forwards host ports live, a VM's start brings its
 * network up, and the switch and router keep running when the engine that started them closes
 * and stop when the last VM on them does. Raw ports on the switch (vde_plug) check layer 2 and
 * DHCP without a guest; when the fixture guest can bring its cards up (viv.net=), guests also
 * talk to each other, to this computer and through a forward. Guests boot once, in parallel.
 */
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { networkRunFiles, processRunning } from '../../electron/engine/network/switch';
import { readPidFile } from '../../electron/engine/qemu/pid-file';
import { errorOf, guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { VdePlug, dhcpDiscover, helloFrame, parseDhcpReply } from '../helpers/vde-plug';

/** Addresses well away from the networks other tests (and a default 10.13.x) use. */
const LAB = '10.77.1.0/24';
const OTHER = '10.77.2.0/24';
const NATNET = '10.77.3.0/24';

/** Whether the fixture guest's init brings cards up from `viv.net=` (a newer fixture does). */
function guestHasNetworking(): boolean {
  try {
    return gunzipSync(readFileSync(guest.initrd)).includes('viv.net=');
  } catch {
    return false;
  }
}
const NET = guestHasNetworking();

let home: Awaited<ReturnType<typeof tempHome>> | undefined;
let engine: Engine;
const consoles = new Map<string, GuestConsole>();
const plugs: VdePlug[] = [];
let hostServer: Server | undefined;
const figures: string[] = [];

async function bootOn(name: string, network: string, cmdline: string): Promise<VmSummary> {
  const vm = await engine.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: `${guest.append} ${cmdline}`,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '0',
    network: `network:${network}`,
  });
  await engine.call('vm.start', { vm: vm.id });
  return vm;
}

function httpGet(url: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}

function con(name: string): GuestConsole {
  const c = consoles.get(name);
  if (!c) throw new Error(`no console for ${name}`);
  return c;
}

async function plugInto(network: string): Promise<VdePlug> {
  const config = await engine.networks.requireNetwork(network);
  const plug = await VdePlug.open(networkRunFiles(engine.paths, config.id).switchDir);
  plugs.push(plug);
  return plug;
}

async function switchPid(network: string): Promise<number | null> {
  const config = await engine.networks.requireNetwork(network);
  return readPidFile(networkRunFiles(engine.paths, config.id).switchPid);
}

beforeAll(async () => {
  requireGuest();
  if (!NET) {
    console.log(
      'networks: the fixture guest cannot bring its cards up (no viv.net= in its init): guest-to-guest traffic is skipped; rebuild the fixture guest with networking to run it',
    );
  }
  home = await tempHome('viv-net-');
  const server = createServer((_req, res) => res.end('HOST-SERVER-SAYS-HI\n'));
  hostServer = server;
  engine = await openEngine({ home: home.dir, role: 'owner' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await engine.call('network.create', { name: 'lab', subnet: LAB, dhcp: false, nat: false });
  await engine.call('network.create', { name: 'other', subnet: OTHER, dhcp: false, nat: false });
  await engine.call('network.create', { name: 'natnet', subnet: NATNET, dhcp: true, nat: true });
  const started = Date.now();
  const vms = await Promise.all([
    bootOn('a', 'lab', 'viv.net=10.77.1.10/24 viv.httpd=80'),
    ...(NET
      ? [
          bootOn('b', 'lab', 'viv.net=10.77.1.11/24'),
          // Same IP subnet as a and b, but another switch: only layer 2 keeps it apart.
          bootOn('c', 'other', 'viv.net=10.77.1.12/24'),
        ]
      : []),
    bootOn('d', 'natnet', 'viv.net=dhcp viv.httpd=80'),
  ]);
  for (const vm of vms) {
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, 150_000);
    consoles.set(vm.name, await GuestConsole.open(engine, vm.id));
  }
  figures.push(
    `${vms.length} guests booted in parallel: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}, 240_000);

afterAll(async () => {
  for (const p of plugs) p.close();
  for (const c of consoles.values()) c.close();
  if ((engine as Engine | undefined) !== undefined) {
    const list = await engine.call('vm.list', {}).catch(() => []);
    for (const vm of list) await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    const nets = await engine.call('network.list', {}).catch(() => []);
    for (const n of nets) {
      await engine
        .call('network.delete', { network: n.config.name, detach: true })
        .catch(() => undefined);
    }
    await engine.close();
  }
  hostServer?.close();
  await home?.remove();
  if (figures.length) console.log(`networks figures:\n  ${figures.join('\n  ')}`);
}, 60_000);

describe('the switch and the router (raw ports, no guest needed)', () => {
  it('started with the first VM on it; carries frames between its ports and to no other switch', async () => {
    const lab = await engine.call('network.get', { network: 'lab' });
    expect(lab.running).toBe(true);
    expect(lab.gateway).toBeNull();
    expect(lab.members.find((m) => m.vmName === 'a')?.running).toBe(true);
    const [p1, p2, p3] = [await plugInto('lab'), await plugInto('lab'), await plugInto('other')];
    p1.send(helloFrame('52:54:00:77:00:01', 'VIV-L2-HELLO'));
    const isHello = (f: Buffer): boolean => f.includes('VIV-L2-HELLO');
    expect(await p2.waitFor(isHello, 5000)).not.toBeNull();
    expect(await p3.waitFor(isHello, 1500)).toBeNull();
  });

  it('answers DHCP on a network with DHCP, from its gateway (.2), in the subnet; not on one without', async () => {
    const natnet = await engine.call('network.get', { network: 'natnet' });
    expect(natnet.gateway).toBe('10.77.3.2');
    const plug = await plugInto('natnet');
    plug.send(dhcpDiscover('52:54:00:77:00:02', 0x7701));
    const offer = await plug.waitFor((f) => parseDhcpReply(f)?.xid === 0x7701, 10_000);
    const reply = offer && parseDhcpReply(offer);
    expect(reply?.type).toBe(2); // DHCPOFFER
    expect(reply?.serverId).toBe('10.77.3.2');
    const last = Number(reply?.yourAddress.split('.')[3]);
    expect(reply?.yourAddress.startsWith('10.77.3.')).toBe(true);
    expect(last).toBeGreaterThanOrEqual(15);
    expect(last).toBeLessThanOrEqual(30);
    const quiet = await plugInto('lab');
    quiet.send(dhcpDiscover('52:54:00:77:00:03', 0x7702));
    expect(await quiet.waitFor((f) => parseDhcpReply(f)?.xid === 0x7702, 2000)).toBeNull();
  });

  it('forwards a host port live, refuses a taken one and changes nothing, removes it', async () => {
    const hostPort = await freePort();
    const forward = {
      protocol: 'tcp' as const,
      hostAddress: '127.0.0.1',
      hostPort,
      guestAddress: '10.77.3.15',
      guestPort: 80,
      vmId: null,
    };
    const { networks } = engine;
    await expect(networks.addForward('natnet', forward)).resolves.toEqual({ live: true });
    expect(await accepts(hostPort)).toBe(true);
    if (NET) {
      const body = await waitFor(
        () => httpGet(`http://127.0.0.1:${hostPort}/`).catch(() => null),
        'the forward to answer',
        20_000,
      );
      expect(body).toContain('VIVARIUM-GUEST-HTTP');
    }
    const again = await errorOf(networks.addForward('natnet', { ...forward, guestPort: 81 }));
    expect(again.message).toMatch(/already forwarded on the network "natnet"/);
    // A port another program holds: the router cannot listen there.
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const held = (holder.address() as AddressInfo).port;
    const busy = await errorOf(networks.addForward('natnet', { ...forward, hostPort: held }));
    holder.close();
    expect(busy.code).toBe('BUSY');
    expect(busy.message).toMatch(new RegExp(`Host port ${held} .*pick another port`));
    const outside = await errorOf(
      networks.addForward('natnet', { ...forward, hostPort: held, guestAddress: '10.77.1.10' }),
    );
    expect(outside.message).toMatch(/not on the network "natnet"/);
    const noNat = await errorOf(
      networks.addForward('lab', { ...forward, hostPort: held, guestAddress: '10.77.1.10' }),
    );
    expect(noNat.message).toMatch(/has no NAT/);
    const stored = await engine.call('network.get', { network: 'natnet' });
    expect(stored.config.forwards.map((f) => f.hostPort)).toEqual([hostPort]);
    await networks.removeForward('natnet', 'tcp', hostPort);
    expect(await accepts(hostPort)).toBe(false);
    expect((await engine.call('network.get', { network: 'natnet' })).config.forwards).toEqual([]);
  });

  it('forwards to a VM card on a NAT network through forward.add, listed with the VM', async () => {
    const hostPort = await freePort();
    const added = await engine.call('forward.add', {
      vm: 'd',
      forward: { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort, guestPort: 80 },
      guestAddress: '10.77.3.15',
    });
    expect(added).toMatchObject({ network: 'natnet', guestAddress: '10.77.3.15', live: true });
    expect(await accepts(hostPort)).toBe(true);
    const listed = await engine.call('forward.list', { vm: 'd' });
    expect(listed.map((f) => f.hostPort)).toEqual([hostPort]);
    await engine.call('forward.remove', { vm: 'd', protocol: 'tcp', hostPort });
    expect(await accepts(hostPort)).toBe(false);
  });
});

describe.skipIf(!NET)('guests on a private network', () => {
  it('carries TCP between two VMs on it (static addresses, no DHCP)', async () => {
    await waitForText(join(engine.resolve('a').files.dir, 'logs', 'serial.log'), 'HTTPD-UP 80');
    const got = await con('b').run(
      'timeout 20 wget -q -O - http://10.77.1.10/; echo WGET-END',
      /(VIVARIUM-GUEST-HTTP[^\r\n]*)[\s\S]*WGET-END/,
    );
    expect(got[1]).toContain(engine.resolve('a').config.nics[0]?.mac);
    // A 10 MiB file from a to b, timed from here.
    await con('a').run(
      'dd if=/dev/zero of=/www/big bs=64k count=160 2>/dev/null; echo BIG-READY-$((6*7))',
      /BIG-READY-42/,
    );
    const t0 = Date.now();
    await con('b').run(
      'timeout 120 wget -q -O /dev/null http://10.77.1.10/big && echo XFER-OK-$((6*7))',
      /XFER-OK-42/,
      130_000,
    );
    const seconds = (Date.now() - t0) / 1000;
    figures.push(
      `10 MiB guest to guest over the switch: ${seconds.toFixed(1)} s (${(10 / seconds).toFixed(1)} MiB/s, TCG)`,
    );
  });

  it('is closed to VMs on another network, even with an address in the same range', async () => {
    const got = await con('c').run(
      'timeout 8 wget -q -O - http://10.77.1.10/ || echo NO-REACH-$((6*7))',
      /VIVARIUM-GUEST-HTTP|NO-REACH-42/,
    );
    expect(got[0]).toBe('NO-REACH-42');
  });
});

describe.skipIf(!NET)('a guest on a network with DHCP and NAT', () => {
  let address = '';

  it('gives a guest an address in the subnet by DHCP', async () => {
    const log = await waitForText(
      join(engine.resolve('d').files.dir, 'logs', 'serial.log'),
      'HTTPD-UP 80',
    );
    address = /NET-UP \S+ (10\.77\.3\.\d+)\/24/.exec(log)?.[1] ?? '';
    expect(address).toBe('10.77.3.15');
  });

  it('lets a guest reach a server on this computer through the gateway (.2)', async () => {
    const port = (hostServer?.address() as AddressInfo).port;
    const got = await con('d').run(
      `timeout 15 wget -q -O - http://10.77.3.2:${port}/ || echo NO-REACH-$((6*7))`,
      /HOST-SERVER-SAYS-HI|NO-REACH-42/,
    );
    expect(got[0]).toBe('HOST-SERVER-SAYS-HI');
  });
});

describe('refusals', () => {
  it('refuses an overlapping subnet, a duplicate name, NAT without DHCP, a card on a missing network', async () => {
    const overlap = await errorOf(
      engine.call('network.create', {
        name: 'wide',
        subnet: '10.77.0.0/16',
        dhcp: true,
        nat: false,
      }),
    );
    expect(overlap.message).toMatch(/10\.77\.0\.0\/16 overlaps 10\.77\.\d\.0\/24 of the network/);
    const dup = await errorOf(
      engine.call('network.create', { name: 'Lab', dhcp: true, nat: false }),
    );
    expect(dup.code).toBe('NAME_TAKEN');
    const natNoDhcp = await errorOf(
      engine.call('network.create', { name: 'nd', dhcp: false, nat: true }),
    );
    expect(natNoDhcp.message).toMatch(/keep DHCP on, or turn NAT off/);
    const missing = await errorOf(
      engine.call('vm.create', {
        name: 'lost',
        kernel: guest.kernel,
        diskSize: '0',
        network: 'network:nowhere',
      }),
    );
    expect(missing.message).toContain('vivarium network create nowhere');
  });

  it('refuses to delete a network running VMs are on, naming them; detach unplugs stopped ones', async () => {
    const busy = await errorOf(engine.call('network.delete', { network: 'lab', detach: true }));
    expect(busy.message).toContain(NET ? '"a", "b" (running)' : '"a" (running)');
    expect(busy.message).toMatch(/Shut them down/);
    expect((await engine.call('network.get', { network: 'lab' })).running).toBe(true);
    await engine.call('network.create', { name: 'spare', dhcp: false, nat: false });
    const parked = await engine.call('vm.create', {
      name: 'parked',
      kernel: guest.kernel,
      diskSize: '0',
      network: 'network:spare',
    });
    const refused = await errorOf(engine.call('network.delete', { network: 'spare' }));
    expect(refused.message).toMatch(/in use by "parked".*--detach/);
    const done = await engine.call('network.delete', { network: 'spare', detach: true });
    expect(done.detached).toEqual([{ vmName: 'parked', nic: 0 }]);
    expect(engine.resolve(parked.id).config.nics[0]?.attach).toEqual({ kind: 'none' });
    await engine.call('vm.delete', { vm: parked.id });
  });
});

describe('without the app', () => {
  it('keeps the switch and router running after the engine closes; a new engine finds them', async () => {
    const pid = await switchPid('lab');
    expect(pid).not.toBeNull();
    await engine.close();
    expect(processRunning(pid ?? 0)).toBe(true);
    if (NET) {
      // The consoles are QEMU's sockets: they outlive the engine that opened them.
      const got = await con('b').run(
        'timeout 20 wget -q -O - http://10.77.1.10/ || echo NO-REACH-$((6*7))',
        /VIVARIUM-GUEST-HTTP|NO-REACH-42/,
      );
      expect(got[0]).toBe('VIVARIUM-GUEST-HTTP');
    }
    engine = await openEngine({ home: home?.dir ?? '', role: 'owner' });
    const list = await engine.call('network.list', {});
    const lab = list.find((n) => n.config.name === 'lab');
    expect(lab?.running).toBe(true);
    expect(lab?.members.map((m) => [m.vmName, m.running])).toEqual(
      NET
        ? [
            ['a', true],
            ['b', true],
          ]
        : [['a', true]],
    );
    expect(list.find((n) => n.config.name === 'natnet')?.running).toBe(true);
    expect(await switchPid('lab')).toBe(pid);
    // The raw ports plugged in before are still on the same switch.
    const [p1, p2] = plugs;
    p1?.send(helloFrame('52:54:00:77:00:01', 'VIV-L2-AGAIN'));
    expect(await p2?.waitFor((f) => f.includes('VIV-L2-AGAIN'), 5000)).not.toBeNull();
  });

  it('stops the switch of a network when the last VM on it stops', async () => {
    const pid = await switchPid('lab');
    for (const name of NET ? ['a', 'b'] : ['a']) await engine.call('vm.powerOff', { vm: name });
    await waitFor(
      async () => ((await engine.call('network.get', { network: 'lab' })).running ? null : true),
      'lab to stop',
      30_000,
    );
    expect(processRunning(pid ?? 0)).toBe(false);
    // d still runs on natnet.
    expect((await engine.call('network.get', { network: 'natnet' })).running).toBe(true);
  }, 60_000);
});
