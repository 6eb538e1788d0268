/**
 * Private networks on real QEMU with the test guest: VMs on one switch talk to each other and to
 * nobody else, DHCP gives addresses in the subnet, NAT reaches this computer and forwards reach
 * a guest, and the switch and router keep running when the engine that started them closes.
 * Guests are booted once (in parallel) and shared by the tests below.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { errorOf, guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

/** Addresses well away from the networks other tests (and a default 10.13.x) use. */
const LAB = '10.77.1.0/24';
const OTHER = '10.77.2.0/24';
const NATNET = '10.77.3.0/24';

let home: Awaited<ReturnType<typeof tempHome>> | undefined;
let engine: Engine;
const consoles = new Map<string, GuestConsole>();
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

function con(name: string): GuestConsole {
  const c = consoles.get(name);
  if (!c) throw new Error(`no console for ${name}`);
  return c;
}

beforeAll(async () => {
  requireGuest();
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
    bootOn('b', 'lab', 'viv.net=10.77.1.11/24'),
    // Same IP subnet as a and b, but another switch: only layer 2 keeps it apart.
    bootOn('c', 'other', 'viv.net=10.77.1.12/24'),
    bootOn('d', 'natnet', 'viv.net=dhcp viv.httpd=80'),
  ]);
  for (const vm of vms) {
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, 150_000);
    consoles.set(vm.name, await GuestConsole.open(engine, vm.id));
  }
  figures.push(`4 guests booted in parallel: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 240_000);

afterAll(async () => {
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
});

describe('a private network', () => {
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

  it('lists its members and its state', async () => {
    const lab = await engine.call('network.get', { network: 'LAB' });
    expect(lab.running).toBe(true);
    expect(lab.gateway).toBeNull();
    expect(lab.members.map((m) => m.vmName).sort()).toEqual(['a', 'b']);
    expect(lab.members.every((m) => m.running)).toBe(true);
  });
});

describe('DHCP and NAT on a network', () => {
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

  it('forwards a host port to a guest live, refuses a second one on that port, removes it', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const hostPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const forward = {
      protocol: 'tcp' as const,
      hostAddress: '127.0.0.1',
      hostPort,
      guestAddress: address,
      guestPort: 80,
      vmId: null,
    };
    const { networks } = engine;
    await expect(networks.addForward('natnet', forward)).resolves.toEqual({ live: true });
    const body = await waitFor(
      () => httpGet(`http://127.0.0.1:${hostPort}/`).catch(() => null),
      'the forward to answer',
      20_000,
    );
    expect(body).toContain('VIVARIUM-GUEST-HTTP');
    const again = await errorOf(networks.addForward('natnet', { ...forward, guestPort: 81 }));
    expect(again.message).toMatch(/already forwarded on the network "natnet"/);
    const outside = await errorOf(
      networks.addForward('natnet', {
        ...forward,
        hostPort: hostPort + 1,
        guestAddress: '10.77.1.10',
      }),
    );
    expect(outside.message).toMatch(/not on the network "natnet"/);
    const noNat = await errorOf(
      networks.addForward('lab', { ...forward, guestAddress: '10.77.1.10' }),
    );
    expect(noNat.message).toMatch(/has no NAT/);
    const stored = await engine.call('network.get', { network: 'natnet' });
    expect(stored.config.forwards).toHaveLength(1);
    await networks.removeForward('natnet', 'tcp', hostPort);
    await expect(httpGet(`http://127.0.0.1:${hostPort}/`, 3000)).rejects.toThrow();
    expect((await engine.call('network.get', { network: 'natnet' })).config.forwards).toEqual([]);
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
    expect(busy.message).toMatch(/"a", "b" \(running\)/);
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
  it('keeps VMs on a private network connected after the engine closes, and is found again', async () => {
    await engine.close();
    // The consoles are QEMU's sockets: they outlive the engine that opened them.
    const got = await con('b').run(
      'timeout 20 wget -q -O - http://10.77.1.10/ || echo NO-REACH-$((6*7))',
      /VIVARIUM-GUEST-HTTP|NO-REACH-42/,
    );
    expect(got[0]).toBe('VIVARIUM-GUEST-HTTP');
    engine = await openEngine({ home: home?.dir ?? '', role: 'owner' });
    const list = await engine.call('network.list', {});
    const lab = list.find((n) => n.config.name === 'lab');
    expect(lab?.running).toBe(true);
    expect(lab?.members.map((m) => [m.vmName, m.running])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    expect(list.find((n) => n.config.name === 'natnet')?.running).toBe(true);
  });
});
