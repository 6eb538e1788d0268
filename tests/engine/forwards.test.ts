/**
 * Port forwards and an unplugged card on real QEMU, one booted fixture guest shared by the cases:
 * its kernel command line has it take a DHCP lease on its first card and serve a page naming that
 * card's MAC (viv.net=dhcp viv.httpd=80), and its second card has no cable. A forward added while
 * it runs reaches the page at once, on 127.0.0.1 only; removed, the port closes; both are kept in
 * vm.json. UDP forwards bind and unbind the same way. A port another program holds, one another
 * forward has, or one out of range is refused and nothing changes. "Forward SSH" takes the first
 * free port from 2222. A stopped VM's forward applies when it starts.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmConfig, VmSummary } from '../../common/contract';
import { tcpPortFree } from '../../electron/engine/guest/host-ports';
import { errorOf, guest, guestMissingReason, waitFor, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';

const why = guestMissingReason();
if (why) console.warn(`[engine] skipping the forward tests: ${why}`);

/** Ports of this run's own, so that parallel runs on the host do not meet. */
const BASE = 20_000 + Math.floor(Math.random() * 20_000);
const APPEND = `${guest.append} viv.net=dhcp viv.httpd=80`;

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function page(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/** The sockets bound to `port`, as `ss` shows them (local address column). */
function listeners(port: number, protocol: 'tcp' | 'udp' = 'tcp'): string[] {
  const flags = protocol === 'tcp' ? '-Hltn' : '-Hlun';
  const out = spawnSync('ss', [flags, `sport = :${port}`], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/)[3] ?? '');
}

describe.skipIf(why !== null)('port forwards and cards on a running guest', () => {
  let g: GuestEngine;
  let web: VmSummary;
  let mac = '';
  const timings: string[] = [];

  const config = async (name: string): Promise<VmConfig> =>
    JSON.parse(await readFile(g.engine.resolve(name).files.config, 'utf8')) as VmConfig;
  const create = (name: string) =>
    g.engine.call('vm.create', {
      name,
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: APPEND,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '0',
    });
  /** The guest's page through `port`; the guest serves it from the moment it printed READY. */
  const pageOf = (port: number, timeoutMs: number) =>
    waitFor(
      async () => {
        const text = await page(port);
        return text?.includes(`VIVARIUM-GUEST-HTTP ${mac}`) ? text : undefined;
      },
      `the guest's page with ${mac} on port ${port}`,
      timeoutMs,
    );
  const booted = async () => {
    const t = Date.now();
    const log = await waitForText(join(web.dir, 'logs', 'serial.log'), guest.banner, 180_000);
    timings.push(`boot to READY ${Date.now() - t} ms`);
    // Without its page the cases below would time out saying less.
    expect(log, 'a fixture guest with viv.net/viv.httpd: rebuild it (npm run fixtures)').toContain(
      'HTTPD-UP 80',
    );
  };

  beforeAll(async () => {
    g = await openGuestEngine('viv-fwd-');
    web = await create('web');
    mac = web.config.nics[0]?.mac ?? '';
    await g.engine.call('nic.add', { vm: 'web', nic: { attach: { kind: 'none' } } });
    await g.engine.call('vm.start', { vm: 'web' });
    await booted();
  }, 240_000);

  afterAll(async () => {
    if (timings.length) console.log(`[forwards] ${timings.join('; ')}`);
    await g.close();
  });

  it('a forward added while it runs reaches the guest at once, on 127.0.0.1 only; removed, the port closes', async () => {
    const port = BASE;
    expect(await tcpOpen(port)).toBe(false);
    let t = Date.now();
    const f = await g.engine.call('forward.add', {
      vm: 'web',
      forward: { hostPort: port, guestPort: 80 },
    });
    timings.push(`forward.add on a running VM ${Date.now() - t} ms`);
    expect(f).toMatchObject({ hostPort: port, guestPort: 80, nic: 0, live: true });
    t = Date.now();
    const text = await pageOf(port, 10_000);
    timings.push(`page through it ${Date.now() - t} ms later`);
    expect(text).toMatch(new RegExp(`^NIC eth0 ${mac} virtio_net$`, 'm'));
    expect(listeners(port)).toEqual([`127.0.0.1:${port}`]);
    expect(await g.engine.call('forward.list', { vm: 'web' })).toEqual([
      expect.objectContaining({ hostPort: port, live: true, spec: `tcp:127.0.0.1:${port}:80` }),
    ]);
    expect((await config('web')).nics[0]?.attach).toEqual({
      kind: 'nat',
      internet: true,
      forwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: port, guestPort: 80 }],
    });

    t = Date.now();
    const { removed } = await g.engine.call('forward.remove', { vm: 'web', hostPort: port });
    timings.push(`forward.remove ${Date.now() - t} ms`);
    expect(removed).toMatchObject({ hostPort: port, live: false });
    expect(await tcpOpen(port)).toBe(false);
    expect(listeners(port)).toEqual([]);
    expect((await config('web')).nics[0]?.attach).toMatchObject({ forwards: [] });
    expect(await g.engine.call('forward.list', { vm: 'web' })).toEqual([]);
  });

  it('a UDP forward binds at once beside a TCP one on the same port, and unbinds when removed', async () => {
    // The fixture guest has no UDP service (busybox nc has no -u): QEMU's own socket shows it.
    const port = BASE + 7;
    const udp = await g.engine.call('forward.add', {
      vm: 'web',
      forward: { protocol: 'udp', hostPort: port, guestPort: 53 },
    });
    expect(udp).toMatchObject({ protocol: 'udp', live: true, spec: `udp:127.0.0.1:${port}:53` });
    expect(listeners(port, 'udp')).toEqual([`127.0.0.1:${port}`]);
    await g.engine.call('forward.add', { vm: 'web', forward: { hostPort: port, guestPort: 80 } });
    expect(await pageOf(port, 10_000)).toContain(`VIVARIUM-GUEST-HTTP ${mac}`);
    await g.engine.call('forward.remove', { vm: 'web', protocol: 'udp', hostPort: port });
    expect(listeners(port, 'udp')).toEqual([]);
    expect(listeners(port)).toEqual([`127.0.0.1:${port}`]);
    await g.engine.call('forward.remove', { vm: 'web', hostPort: port });
    expect((await config('web')).nics[0]?.attach).toMatchObject({ forwards: [] });
  });

  it('a host port another program holds is refused and changes nothing', async () => {
    const port = BASE + 1;
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const before = await config('web');
      expect(
        await errorOf(
          g.engine.call('forward.add', { vm: 'web', forward: { hostPort: port, guestPort: 80 } }),
        ),
      ).toMatchObject({
        code: 'INVALID_REQUEST',
        message: `Port ${port} on 127.0.0.1 is in use by another program: choose another host port`,
      });
      expect(await config('web')).toEqual(before);
      expect(await g.engine.call('forward.list', { vm: 'web' })).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('two forwards on one host port are refused, naming who has it', async () => {
    const port = BASE + 2;
    // A stopped VM's forward claims its port too: it listens as soon as that VM starts.
    await create('other');
    await g.engine.call('forward.add', {
      vm: 'other',
      forward: { hostPort: port, guestPort: 22 },
    });
    const before = await config('web');
    expect(
      await errorOf(
        g.engine.call('forward.add', { vm: 'web', forward: { hostPort: port, guestPort: 80 } }),
      ),
    ).toMatchObject({
      code: 'INVALID_REQUEST',
      message: `Host port ${port} (tcp) is already forwarded by "other" (card 1): choose another host port`,
    });
    expect(await tcpOpen(port)).toBe(false);

    await g.engine.call('forward.add', {
      vm: 'web',
      forward: { hostPort: port + 1, guestPort: 80 },
    });
    expect(
      await errorOf(
        g.engine.call('forward.add', {
          vm: 'web',
          forward: { hostPort: port + 1, guestPort: 81 },
        }),
      ),
    ).toMatchObject({
      message: `Host port ${port + 1} (tcp) is already forwarded by "web" (card 1): choose another host port`,
    });
    // QEMU and the config have the first one only.
    expect(await g.engine.call('forward.list', { vm: 'web' })).toEqual([
      expect.objectContaining({ hostPort: port + 1, guestPort: 80, live: true }),
    ]);
    expect((await config('web')).nics[0]?.attach).toMatchObject({
      forwards: [expect.objectContaining({ hostPort: port + 1, guestPort: 80 })],
    });
    await g.engine.call('forward.remove', { vm: 'web', hostPort: port + 1 });
    expect(await config('web')).toEqual(before);
  });

  it('a port out of range is refused and changes nothing', async () => {
    const before = await config('web');
    const cases = [
      [{ hostPort: 0, guestPort: 80 }, 'forward.hostPort'],
      [{ hostPort: 65_536, guestPort: 80 }, 'forward.hostPort'],
      [{ hostPort: BASE + 5, guestPort: 70_000 }, 'forward.guestPort'],
    ] as const;
    for (const [forward, field] of cases) {
      expect(await errorOf(g.engine.call('forward.add', { vm: 'web', forward }))).toMatchObject({
        code: 'INVALID_REQUEST',
        message: `${field}: Out of range: use a port from 1 to 65535`,
      });
    }
    expect(await tcpOpen(BASE + 5)).toBe(false);
    expect(await config('web')).toEqual(before);
  });

  it('forward.ssh takes the first free port from 2222 and says how to connect', async () => {
    let expected = 2222;
    while (!(await tcpPortFree('127.0.0.1', expected))) expected++;
    const r = await g.engine.call('forward.ssh', { vm: 'web' });
    expect(r.forward).toMatchObject({ hostPort: expected, guestPort: 22, live: true, auto: true });
    expect(r.command).toBe(`ssh -p ${expected} user@127.0.0.1`);
    expect(listeners(expected)).toEqual([`127.0.0.1:${expected}`]);
    // Asked again: the same forward, not a second one.
    expect((await g.engine.call('forward.ssh', { vm: 'web' })).forward.hostPort).toBe(expected);
    expect(await g.engine.call('forward.list', { vm: 'web' })).toHaveLength(1);
    await g.engine.call('forward.remove', { vm: 'web', hostPort: expected });
    expect(listeners(expected)).toEqual([]);
  });

  it('a card with no cable has its link down in the guest; cards change only while shut down', async () => {
    expect(
      await errorOf(
        g.engine.call('nic.update', { vm: 'web', index: 1, patch: { attach: { kind: 'nat' } } }),
      ),
    ).toMatchObject({
      message:
        '"web" is running. Shut the VM down to add or change network cards; forwards change while it runs.',
    });
    const console = await GuestConsole.open(g.engine, 'web');
    try {
      const carrier = async (iface: string) =>
        (
          await console.run(
            `ip link set ${iface} up; echo "CARRIER-${iface}=$(cat /sys/class/net/${iface}/carrier)"`,
            new RegExp(`CARRIER-${iface}=(\\d)`),
          )
        )[1];
      expect(await carrier('eth1')).toBe('0');
      expect(await carrier('eth0')).toBe('1');
    } finally {
      console.close();
    }
    const cards = await g.engine.call('nic.list', { vm: 'web' });
    expect(cards.map((c) => [c.config.attach.kind, c.addresses])).toEqual([
      ['nat', ['10.0.2.15']],
      ['none', []],
    ]);
  });

  it("a stopped VM's forward applies when it starts", async () => {
    await g.engine.call('vm.powerOff', { vm: 'web' });
    const port = BASE + 6;
    const f = await g.engine.call('forward.add', {
      vm: 'web',
      forward: { hostPort: port, guestPort: 80 },
    });
    expect(f.live).toBe(false);
    expect(await tcpOpen(port)).toBe(false);
    await g.engine.call('vm.start', { vm: 'web' });
    await booted();
    expect(await pageOf(port, 10_000)).toContain(`VIVARIUM-GUEST-HTTP ${mac}`);
    expect(await g.engine.call('forward.list', { vm: 'web' })).toEqual([
      expect.objectContaining({ hostPort: port, live: true }),
    ]);
    await g.engine.call('vm.powerOff', { vm: 'web' });
  }, 240_000);
});
