/**
 * Bridged cards: bridge-check against a bridge of the test's own (made as root, removed after),
 * reading a bridge.conf of the test's own (the engine's conf option); a VM bridged to a bridge
 * that does not exist is refused before QEMU starts, saying what to run; and a VM bridged to the
 * test's bridge reaches a web server in a network namespace of the test's own, wired to the
 * bridge by a veth pair, and is reached from there. QEMU's bridge helper reads only
 * /etc/qemu/bridge.conf, so that case adds its `allow` line there and puts the file back after.
 */
import { execFileSync } from 'node:child_process';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { powerOffAll } from '../helpers/e2e';
import { readBridgeFacts } from '../../electron/engine/network/bridge-check';
import { errorOf, guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

const BR = 'vivtestbr0';
const NS = 'vivtestns0';
const SYSTEM_CONF = '/etc/qemu/bridge.conf';
/** What /etc/qemu/bridge.conf held before the test (null: it did not exist). */
let systemConfBefore: string | null | undefined;
let nsServer: ChildProcess | undefined;
let wwwDir = '';
let guestConsole: GuestConsole | undefined;
const root = typeof process.getuid === 'function' && process.getuid() === 0;

let home: Awaited<ReturnType<typeof tempHome>> | undefined;
let engine: Engine;
let conf = '';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

beforeAll(async () => {
  if (!root) {
    console.log('bridge: making a bridge needs root; run as root to check bridged networking');
    return;
  }
  requireGuest();
  home = await tempHome('viv-br-');
  conf = join(home.dir, 'bridge.conf');
  engine = await openEngine({ home: home.dir, role: 'owner', bridgeConf: conf });
});

afterAll(async () => {
  if (!root) return;
  guestConsole?.close();
  nsServer?.kill('SIGKILL');
  await powerOffAll(engine);
  for (const args of [
    ['netns', 'del', NS],
    ['link', 'del', 'vivtestv0'],
    ['link', 'del', BR],
  ]) {
    try {
      ip(...args);
    } catch {
      // Not made, or gone already.
    }
  }
  if (systemConfBefore === null) await rm(SYSTEM_CONF, { force: true });
  else if (systemConfBefore !== undefined) await writeFile(SYSTEM_CONF, systemConfBefore);
  if (wwwDir) await rm(wwwDir, { recursive: true, force: true });
  await engine.close();
  await home?.remove();
});

describe.skipIf(!root)('bridged cards', () => {
  it('lists each missing piece with its root command, then is ready once they are there', async () => {
    const before = await engine.call('network.bridgeCheck', { bridge: BR });
    expect(before.ok).toBe(false);
    expect(before.problems.map((p) => p.what).join('\n')).toMatch(
      new RegExp(`no bridge called ${BR}[\\s\\S]*${conf} does not exist`),
    );
    expect(before.commands).toContain(
      `sudo ip link add ${BR} type bridge && sudo ip link set ${BR} up`,
    );
    expect(
      before.commands.some((c) => c.includes(`echo 'allow ${BR}' | sudo tee -a ${conf}`)),
    ).toBe(true);

    ip('link', 'add', BR, 'type', 'bridge');
    const halfway = await engine.call('network.bridgeCheck', { bridge: BR });
    expect(halfway.bridges).toContain(BR);
    expect(halfway.problems).toHaveLength(1);
    expect(halfway.problems[0]?.what).toContain(conf);

    await writeFile(conf, `# written by the test\nallow ${BR}\n`);
    const after = await engine.call('network.bridgeCheck', { bridge: BR });
    expect(after).toMatchObject({ ok: true, problems: [], commands: [] });
    expect(after.helper).toMatch(/qemu-bridge-helper$/);
  });

  it('refuses to start a VM bridged to a bridge that does not exist, before QEMU runs', async () => {
    const vm = await engine.call('vm.create', {
      name: 'bridged',
      kernel: guest.kernel,
      initrd: guest.initrd,
      diskSize: '0',
      network: 'bridge:vivnosuchbr9',
    });
    const err = await errorOf(engine.call('vm.start', { vm: vm.id }));
    expect(err.message).toMatch(
      /Card 1 is bridged to vivnosuchbr9, which is not ready: There is no bridge called vivnosuchbr9.*sudo ip link add vivnosuchbr9 type bridge/,
    );
    const after = await engine.call('vm.get', { vm: vm.id });
    expect(after.runtime.state).toBe('stopped');
  });

  it('takes a helper given CAP_NET_ADMIN instead of setuid, as libcap reports it', async () => {
    const plain = join(home?.dir ?? '', 'helper-plain');
    const capped = join(home?.dir ?? '', 'helper-capped');
    await copyFile('/usr/lib/qemu/qemu-bridge-helper', plain);
    await copyFile(plain, capped);
    execFileSync('setcap', ['cap_net_admin+ep', capped]);
    expect((await readBridgeFacts({ helperPaths: [plain] })).helperSetuid).toBe(false);
    expect((await readBridgeFacts({ helperPaths: [capped] })).helperSetuid).toBe(true);
  });

  it('puts a VM on the bridge: it reaches an address in a namespace wired to it, and is reached', async () => {
    // The first case made the bridge and allowed it in the engine's conf; the helper's own conf:
    systemConfBefore = await readFile(SYSTEM_CONF, 'utf8').catch(() => null);
    await mkdir('/etc/qemu', { recursive: true });
    await writeFile(SYSTEM_CONF, `${systemConfBefore ?? ''}\nallow ${BR}\n`);
    // The far side: a namespace of the test's own holding 10.77.9.1, a veth pair into the bridge.
    ip('netns', 'add', NS);
    ip('link', 'add', 'vivtestv0', 'type', 'veth', 'peer', 'name', 'vivtestv1');
    ip('link', 'set', 'vivtestv1', 'netns', NS);
    ip('link', 'set', 'vivtestv0', 'master', BR, 'up');
    ip('link', 'set', BR, 'up');
    ip('-n', NS, 'addr', 'add', '10.77.9.1/24', 'dev', 'vivtestv1');
    ip('-n', NS, 'link', 'set', 'vivtestv1', 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    wwwDir = await mkdtemp(join(tmpdir(), 'viv-br-www-'));
    await writeFile(join(wwwDir, 'index.html'), 'FROM-THE-NAMESPACE\n');
    nsServer = spawn(
      'ip',
      ['netns', 'exec', NS, 'busybox', 'httpd', '-f', '-p', '10.77.9.1:8080', '-h', wwwDir],
      { stdio: 'ignore' },
    );

    const vm = await engine.call('vm.create', {
      name: 'on-the-lan',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: `${guest.append} viv.net=10.77.9.20/24 viv.httpd=80`,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '0',
      network: `bridge:${BR}`,
    });
    await engine.call('vm.start', { vm: vm.id });
    const serial = join(vm.dir, 'logs', 'serial.log');
    await waitForText(serial, 'HTTPD-UP 80', 150_000);
    guestConsole = await GuestConsole.open(engine, vm.id);

    // The guest reaches the namespace's server through the bridge...
    // (The console echoes the command: the failure marker is computed so the echo cannot match.)
    const got = await guestConsole.run(
      'timeout 20 wget -q -O - http://10.77.9.1:8080/ || echo WGET-FAILED-$((6*7))',
      /FROM-THE-NAMESPACE|WGET-FAILED-42/,
    );
    expect(got[0]).toBe('FROM-THE-NAMESPACE');
    // ...and the namespace reaches the guest's page, which names the bridged card's MAC.
    const page = execFileSync(
      'ip',
      ['netns', 'exec', NS, 'busybox', 'wget', '-q', '-O', '-', 'http://10.77.9.20/'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(page).toContain(`VIVARIUM-GUEST-HTTP ${vm.config.nics[0]?.mac}`);
    await engine.call('vm.powerOff', { vm: vm.id });
  }, 240_000);
});
