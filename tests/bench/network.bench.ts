/**
 * Networks: what a Vivarium network costs beside the plainest QEMU wiring that does the same job.
 * (a) Guest-to-guest TCP throughput on a private network (two engine VMs whose card is on a
 *     `network:NAME` network: the engine starts its switch) vs two guests joined point to point
 *     by QEMU's socket netdev. A guest serves a 32 MiB file with busybox httpd, the other fetches
 *     it with wget to /dev/null; timed from the command typed on its serial console to the marker
 *     it prints. Goal: >= 0.8x the raw throughput.
 * (b) Round trips through a port forward added live (forward.add) on an engine VM's NAT card vs a
 *     forward fixed at QEMU's start (-netdev user,hostfwd=). Sequential HTTP GETs from the host
 *     to the guest's httpd. Goal: <= 1.1x raw.
 * The Vivarium side goes through the engine (openEngine, network.create, vm.create, vm.start,
 * forward.add, vm.powerOff), TCG. The raw side runs each engine VM's twin by hand: the argv the
 * engine builds for the same config (buildQemuArgs), card 1's netdev swapped for the raw wiring,
 * so the two sides differ in the wiring alone, not in machine or devices.
 * Rounds alternate which side goes first; at most two guests run at a time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { VmConfig, VmSummary } from '../../common/contract';
import { buildQemuArgs, type LaunchContext } from '../../electron/engine/qemu/args';
import { openEngine, type Engine } from '../../electron/engine';
import { guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { median, printTable } from './stats';

const ROUNDS = Number(process.env.NET_BENCH_ROUNDS ?? 3);
const FETCHES_PER_BOOT = 6;
const FILE_MIB = 32;
const ROUND_TRIPS = Number(process.env.NET_BENCH_ROUND_TRIPS ?? 200);
const FORWARD_ROUNDS = Number(process.env.NET_BENCH_FORWARD_ROUNDS ?? 5);
const NETWORK = 'benchnet';

let home: Awaited<ReturnType<typeof tempHome>> | undefined;
let engine: Engine | undefined;
const children = new Set<ChildProcess>();
let guestCount = 0;

beforeAll(async () => {
  requireGuest();
  if (spawnSync('vde_switch', ['--version']).error) {
    throw new Error('vde_switch is missing: install the Debian package vde2');
  }
  home = await tempHome('viv-bench-net-');
  engine = await openEngine({ home: home.dir, role: 'owner' });
  await engine.call('network.create', {
    name: NETWORK,
    subnet: '10.77.0.0/24',
    dhcp: false,
    nat: false,
  });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (engine) {
    const e = engine;
    // Networks outlive the app by design: without this their switches would stay behind.
    const list = await e.call('vm.list', {}).catch(() => []);
    for (const vm of list) await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    const nets = await e.call('network.list', {}).catch(() => []);
    for (const n of nets) {
      await e
        .call('network.delete', { network: n.config.name, detach: true })
        .catch(() => undefined);
    }
    await e.close();
  }
  await home?.remove();
}, 120_000);

function requireEngine(): Engine {
  if (!engine) throw new Error('the engine did not open');
  return engine;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** A guest's serial console: types `command`, resolves with the ms until `marker` follows. */
interface Shell {
  run(command: string, marker: string, timeoutMs?: number): Promise<number>;
}

/** A raw guest: QEMU run by hand, its serial console typed into and read back. */
interface RawGuest extends Shell {
  stop(): Promise<void>;
}

async function connectWhenThere(path: string): Promise<Socket> {
  return waitFor(
    () =>
      new Promise<Socket | undefined>((resolve) => {
        if (!existsSync(path)) return resolve(undefined);
        const socket = connect(path);
        socket.once('connect', () => resolve(socket));
        socket.once('error', () => resolve(undefined));
      }),
    `the socket ${path}`,
    10_000,
  );
}

/**
 * The raw twin of an engine VM: the very argv the engine builds for its config (same machine,
 * devices and kernel line), with its own sockets and logs, not paused at start, and the wiring
 * under test swapped in for card 1's netdev. Only the wiring differs between the two sides.
 */
function twinArgs(
  config: VmConfig,
  dir: string,
  netdev: Record<string, unknown>,
): RawFiles & {
  argv: string[];
} {
  const files = {
    qmpSockets: [join(dir, 'qmp.sock')],
    qgaSock: join(dir, 'qga.sock'),
    vncSock: join(dir, 'vnc.sock'),
    serialSock: join(dir, 'serial.sock'),
    monitorSock: join(dir, 'monitor.sock'),
    pidFile: join(dir, 'qemu.pid'),
    serialLog: join(dir, 'serial.log'),
    nvram: join(dir, 'vars.fd'),
  };
  const ctx: LaunchContext = {
    accel: 'tcg',
    platform: process.platform,
    ovmfCode: null,
    networkSwitches: { [NETWORK]: join(dir, 'unused-switch') },
    vmDir: dir,
    files,
  };
  const argv = buildQemuArgs(config, ctx).filter((a) => a !== '-S');
  const at = argv.findIndex((a, i) => argv[i - 1] === '-netdev' && a.includes('"id":"net0"'));
  if (at < 0) throw new Error(`no card 1 netdev in ${argv.join(' ')}`);
  argv[at] = JSON.stringify({ id: 'net0', ...netdev });
  return { argv, serialSock: files.serialSock, serialLog: files.serialLog };
}

interface RawFiles {
  serialSock: string;
  serialLog: string;
}

/** Boots a raw twin (see twinArgs) of the engine VM `vm` wired by `netdev`. */
async function bootRaw(vm: VmSummary, netdev: Record<string, unknown>): Promise<RawGuest> {
  if (!home) throw new Error('no home');
  const dir = join(home.dir, `raw${++guestCount}`);
  mkdirSync(dir, { recursive: true });
  const { argv, serialSock, serialLog } = twinArgs(vm.config, dir, netdev);
  const child = spawn('qemu-system-x86_64', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitForText(serialLog, guest.banner, 150_000),
    exited.then(() => {
      throw new Error(`QEMU exited early: ${stderr}`);
    }),
  ]);
  const log = readFileSync(serialLog, 'utf8');
  if (!log.includes('NET-UP ')) throw new Error(`the guest's network did not come up:\n${log}`);

  const serial = await connectWhenThere(serialSock);
  let output = '';
  serial.on('data', (c: Buffer) => (output += c.toString()));
  return {
    async run(command, marker, timeoutMs = 120_000) {
      const from = output.length;
      const t0 = performance.now();
      serial.write(`${command}\n`);
      const deadline = Date.now() + timeoutMs;
      // The console echoes the command: the marker is looked for only on a line of its own.
      while (!output.slice(from).includes(`\n${marker}`)) {
        if (Date.now() > deadline) {
          throw new Error(`no "${marker}" after "${command}":\n${output.slice(from)}`);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      return performance.now() - t0;
    },
    async stop() {
      serial.destroy();
      child.kill('SIGKILL');
      await exited;
      children.delete(child);
    },
  };
}

/** An engine VM's serial console (GuestConsole), timed the same way as a raw one. */
function engineShell(guestConsole: GuestConsole): Shell {
  return {
    async run(command, marker, timeoutMs = 120_000) {
      const t0 = performance.now();
      // Only on a line of its own: the echoed command holds `$((...))`, never the marker.
      await guestConsole.run(command, new RegExp(`\\n${marker}\\b`), timeoutMs);
      return performance.now() - t0;
    },
  };
}

function serialLog(vm: VmSummary): string {
  return join(vm.dir, 'logs', 'serial.log');
}

/** An engine VM as these benches make them: the fixture guest, TCG like the raw side. */
function createVm(name: string, cmdline: string, network?: string): Promise<VmSummary> {
  return requireEngine().call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: `${guest.append} ${cmdline}`,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '0',
    accel: 'tcg',
    ...(network ? { network } : {}),
  });
}

/** Starts an engine VM and waits for its guest's banner (and `alsoWait`) on its serial log. */
async function startVm(vm: VmSummary, alsoWait?: string): Promise<void> {
  await requireEngine().call('vm.start', { vm: vm.id });
  const log = await waitForText(serialLog(vm), guest.banner, 150_000);
  if (!log.includes('NET-UP ')) {
    throw new Error(`the guest's network did not come up in ${vm.name}:\n${log}`);
  }
  if (alsoWait) await waitForText(serialLog(vm), alsoWait, 30_000);
}

/** The server makes the file, the client fetches it FETCHES_PER_BOOT times: MiB/s each. */
async function fetches(server: Shell, client: Shell): Promise<number[]> {
  await server.run(
    `dd if=/dev/zero of=/www/big bs=1M count=${FILE_MIB} 2>/dev/null; echo BIG-$((1000+1))`,
    'BIG-1001',
  );
  // The first contact also settles ARP: not part of any figure.
  await client.run(
    'timeout 30 wget -q -O /dev/null http://10.77.0.1/ && echo WARM-$((1000+1))',
    'WARM-1001',
    40_000,
  );
  const mibPerSecond: number[] = [];
  for (let i = 0; i < FETCHES_PER_BOOT; i++) {
    const n = 2000 + i;
    const ms = await client.run(
      `timeout 100 wget -q -O /dev/null http://10.77.0.1/big && echo XFER-$((${n}+0))`,
      `XFER-${n}`,
      110_000,
    );
    mibPerSecond.push(FILE_MIB / (ms / 1000));
  }
  return mibPerSecond;
}

let pair: { server: VmSummary; client: VmSummary } | undefined;

/** The two engine VMs on the private network (their raw twins share their configs). */
async function thePair(): Promise<{ server: VmSummary; client: VmSummary }> {
  pair ??= {
    server: await createVm('net-server', 'viv.net=10.77.0.1/24 viv.httpd=80', `network:${NETWORK}`),
    client: await createVm('net-client', 'viv.net=10.77.0.2/24', `network:${NETWORK}`),
  };
  return pair;
}

/** The engine pair, started for the round and powered off after it. */
async function privateNetwork(): Promise<number[]> {
  const e = requireEngine();
  const { server, client } = await thePair();
  const consoles: GuestConsole[] = [];
  try {
    await Promise.all([startVm(server, 'HTTPD-UP 80'), startVm(client)]);
    consoles.push(await GuestConsole.open(e, server.id), await GuestConsole.open(e, client.id));
    const [s, c] = consoles as [GuestConsole, GuestConsole];
    return await fetches(engineShell(s), engineShell(c));
  } finally {
    for (const c of consoles) c.close();
    await e.call('vm.powerOff', { vm: client.id }).catch(() => undefined);
    await e.call('vm.powerOff', { vm: server.id }).catch(() => undefined);
  }
}

/** The pair's raw twins, joined point to point by QEMU's socket netdev. */
async function pointToPoint(): Promise<number[]> {
  const { server: s, client: c } = await thePair();
  const port = await freePort();
  const server = await bootRaw(s, { type: 'socket', listen: `127.0.0.1:${port}` });
  let client: RawGuest | undefined;
  try {
    client = await bootRaw(c, { type: 'socket', connect: `127.0.0.1:${port}` });
    return await fetches(server, client);
  } finally {
    await client?.stop();
    await server.stop();
  }
}

function httpGet(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** ROUND_TRIPS sequential GETs; the median of their times in ms. */
async function roundTrips(port: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    await httpGet(port);
    times.push(performance.now() - t0);
  }
  return median(times);
}

it('carries guest-to-guest traffic on a private network nearly as fast as a raw point-to-point link', async () => {
  const viv: number[] = [];
  const raw: number[] = [];
  const perRound: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? ['viv', 'raw'] : ['raw', 'viv'];
    for (const side of order) {
      const figures = side === 'viv' ? await privateNetwork() : await pointToPoint();
      (side === 'viv' ? viv : raw).push(...figures);
      perRound.push(`round ${i + 1} ${side}: ${figures.map((f) => f.toFixed(2)).join(', ')} MiB/s`);
    }
  }
  const v = median(viv);
  const r = median(raw);
  printTable(
    `network bench (a): ${FILE_MIB} MiB over HTTP guest to guest, ${ROUNDS} alternating rounds x ` +
      `${FETCHES_PER_BOOT} fetches, medians in MiB/s, TCG, virtio-net; vivarium = two engine VMs ` +
      `on the private network "${NETWORK}" (its vde_switch), raw = the same two guests' argv with -netdev socket listen/connect`,
    ['measure', 'vivarium', 'raw qemu', 'ratio', 'goal'],
    [['guest-to-guest throughput', v, r, `${(v / r).toFixed(3)}x`, '>= 0.8x']],
  );
  console.log(perRound.join('\n'));
  expect(viv).toHaveLength(ROUNDS * FETCHES_PER_BOOT);
});

it('answers through a forward added live as fast as through one fixed at start', async () => {
  const e = requireEngine();
  const livePort = await freePort();
  const fixedPort = await freePort();
  const append = 'viv.net=dhcp viv.httpd=80';
  // The default card: NAT of its own (QEMU's user netdev), no network.
  const vm = await createVm('net-forward', append);
  let fixed: RawGuest | undefined;
  try {
    [, fixed] = await Promise.all([
      startVm(vm, 'HTTPD-UP 80'),
      bootRaw(vm, {
        type: 'user',
        hostfwd: [{ str: `tcp:127.0.0.1:${fixedPort}-:80` }],
      }),
    ]);
    const added = await e.call('forward.add', {
      vm: vm.id,
      forward: { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: livePort, guestPort: 80 },
    });
    expect(added).toMatchObject({ hostPort: livePort, guestPort: 80, live: true });
    // Warm both paths (slirp's first connections, the guest's httpd forks) before any figure.
    for (let i = 0; i < 50; i++) {
      await httpGet(livePort);
      await httpGet(fixedPort);
    }
    const viv: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < FORWARD_ROUNDS; i++) {
      if (i % 2 === 0) {
        viv.push(await roundTrips(livePort));
        raw.push(await roundTrips(fixedPort));
      } else {
        raw.push(await roundTrips(fixedPort));
        viv.push(await roundTrips(livePort));
      }
    }
    const v = median(viv);
    const r = median(raw);
    printTable(
      `network bench (b): HTTP GET round trips to the guest's httpd through a host forward, ` +
        `${FORWARD_ROUNDS} alternating rounds of ${ROUND_TRIPS}, medians in ms, TCG; vivarium = ` +
        "forward.add on an engine VM running with its NAT card, raw = the same guest's argv with -netdev user,hostfwd= at start",
      ['measure', 'vivarium', 'raw qemu', 'ratio', 'goal'],
      [['forwarded round trip', v, r, `${(v / r).toFixed(3)}x`, '<= 1.1x']],
    );
    console.log(
      viv
        .map((x, i) => `round ${i + 1}: vivarium ${x.toFixed(2)} ms, raw ${raw[i]!.toFixed(2)} ms`)
        .join('\n'),
    );
    expect(viv).toHaveLength(FORWARD_ROUNDS);
  } finally {
    await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    await fixed?.stop();
  }
});
