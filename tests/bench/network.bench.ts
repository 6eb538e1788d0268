/**
 * Networks: what a Vivarium network costs beside the plainest QEMU wiring that does the same job.
 * (a) Guest-to-guest TCP throughput on a private network (two guests on one vde_switch, as the
 *     engine wires a `network:NAME` card) vs two guests joined point to point by QEMU's socket
 *     netdev. A guest serves a 32 MiB file with busybox httpd, the other fetches it with wget to
 *     /dev/null; timed from the command typed on its serial console to the marker it prints.
 *     Goal: >= 0.8x the raw throughput.
 * (b) Round trips through a port forward added live on a NAT card (QMP human-monitor-command
 *     hostfwd_add, as Vivarium does) vs a forward fixed at QEMU's start (-netdev user,hostfwd=).
 *     Sequential HTTP GETs from the host to the guest's httpd. Goal: <= 1.1x raw.
 * The Vivarium side runs QEMU with the argv electron/engine/qemu/args.ts writes for such cards
 * (JSON -netdev/-device, ids net0/net0-dev) and the switch the network service starts, not
 * through the engine: the network service is not on this branch yet.
 * Rounds alternate which side goes first; at most two guests run at a time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';
import { median, printTable } from './stats';

const ROUNDS = Number(process.env.NET_BENCH_ROUNDS ?? 3);
const FETCHES_PER_BOOT = 6;
const FILE_MIB = 32;
const ROUND_TRIPS = Number(process.env.NET_BENCH_ROUND_TRIPS ?? 200);
const FORWARD_ROUNDS = Number(process.env.NET_BENCH_FORWARD_ROUNDS ?? 5);

let home: Awaited<ReturnType<typeof tempHome>>;
const children = new Set<ChildProcess>();
let guestCount = 0;

beforeAll(async () => {
  requireGuest();
  if (spawnSync('vde_switch', ['--version']).error) {
    throw new Error('vde_switch is missing: install the Debian package vde2');
  }
  home = await tempHome('viv-bench-net-');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await home.remove();
});

function json(value: object): string {
  return JSON.stringify(value);
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

/** A booted guest: its serial console (typed into, read back) and, when asked, its QMP socket. */
interface Guest {
  child: ChildProcess;
  dir: string;
  /** Types `command`; resolves with the ms until `marker` follows on the console. */
  run(command: string, marker: string, timeoutMs?: number): Promise<number>;
  hmp(command: string): Promise<string>;
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

async function bootGuest(netArgs: string[], append: string, opts: { qmp?: boolean } = {}) {
  const dir = join(home.dir, `g${++guestCount}`);
  spawnSync('mkdir', ['-p', dir]);
  const serialSock = join(dir, 'serial.sock');
  const serialLog = join(dir, 'serial.log');
  const qmpSock = join(dir, 'qmp.sock');
  const child = spawn(
    'qemu-system-x86_64',
    [
      '-accel',
      'tcg',
      '-m',
      '256',
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-kernel',
      guest.kernel,
      '-initrd',
      guest.initrd,
      '-append',
      `${guest.append} ${append}`,
      '-chardev',
      `socket,id=ser0,path=${serialSock},server=on,wait=off,logfile=${serialLog}`,
      '-serial',
      'chardev:ser0',
      ...(opts.qmp ? ['-qmp', `unix:${qmpSock},server=on,wait=off`] : []),
      ...netArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitForText(serialLog, guest.banner, 120_000),
    exited.then(() => {
      throw new Error(`QEMU exited early: ${stderr}`);
    }),
  ]);
  const log = readFileSync(serialLog, 'utf8');
  if (!log.includes('NET-UP ')) throw new Error(`the guest's network did not come up:\n${log}`);

  const serial = await connectWhenThere(serialSock);
  let output = '';
  serial.on('data', (c: Buffer) => (output += c.toString()));
  let qmp: Socket | undefined;
  let qmpText = '';
  const qmpReplies: Array<(r: { return?: unknown; error?: { desc: string } }) => void> = [];
  if (opts.qmp) {
    qmp = await connectWhenThere(qmpSock);
    qmp.on('data', (c: Buffer) => {
      qmpText += c.toString();
      let nl;
      while ((nl = qmpText.indexOf('\n')) >= 0) {
        const line = qmpText.slice(0, nl).trim();
        qmpText = qmpText.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { return?: unknown; error?: { desc: string } };
        if ('return' in msg || 'error' in msg) qmpReplies.shift()?.(msg);
      }
    });
  }
  const qmpCall = (execute: string, args?: object) =>
    new Promise<unknown>((resolve, reject) => {
      qmpReplies.push((r) => (r.error ? reject(new Error(r.error.desc)) : resolve(r.return)));
      qmp!.write(`${json({ execute, ...(args ? { arguments: args } : {}) })}\n`);
    });
  if (qmp) await qmpCall('qmp_capabilities');

  const g: Guest = {
    child,
    dir,
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
    async hmp(commandLine) {
      return String(await qmpCall('human-monitor-command', { 'command-line': commandLine }));
    },
    async stop() {
      serial.destroy();
      qmp?.destroy();
      child.kill('SIGKILL');
      await exited;
      children.delete(child);
    },
  };
  return g;
}

/** What args.ts writes for card 0 with the given netdev backend. */
function card(backend: object, mac: string): string[] {
  return [
    '-netdev',
    json({ ...backend, id: 'net0' }),
    '-device',
    json({ driver: 'virtio-net-pci', netdev: 'net0', id: 'net0-dev', mac }),
  ];
}

const SERVER_MAC = '52:54:00:be:00:01';
const CLIENT_MAC = '52:54:00:be:00:02';

/** Boots a server/client pair wired by `wire`, fetches the file FETCHES_PER_BOOT times. */
async function throughput(w: { server: string[]; client: string[] }): Promise<number[]> {
  const server = await bootGuest(w.server, 'viv.net=10.77.0.1/24 viv.httpd=80');
  let client: Guest | undefined;
  try {
    client = await bootGuest(w.client, 'viv.net=10.77.0.2/24');
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
  } finally {
    await client?.stop();
    await server.stop();
  }
}

async function privateNetwork(): Promise<number[]> {
  const dir = join(home.dir, `sw${++guestCount}`);
  const pidFile = `${dir}.pid`;
  const started = spawnSync('vde_switch', ['-s', dir, '-d', '-p', pidFile], { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`vde_switch did not start: ${started.stderr}`);
  try {
    return await throughput({
      server: card({ type: 'vde', sock: dir }, SERVER_MAC),
      client: card({ type: 'vde', sock: dir }, CLIENT_MAC),
    });
  } finally {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGTERM');
  }
}

async function pointToPoint(): Promise<number[]> {
  const port = await freePort();
  return throughput({
    server: [
      '-netdev',
      `socket,id=n0,listen=127.0.0.1:${port}`,
      '-device',
      `virtio-net-pci,netdev=n0,mac=${SERVER_MAC}`,
    ],
    client: [
      '-netdev',
      `socket,id=n0,connect=127.0.0.1:${port}`,
      '-device',
      `virtio-net-pci,netdev=n0,mac=${CLIENT_MAC}`,
    ],
  });
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
      `${FETCHES_PER_BOOT} fetches, medians in MiB/s, TCG, virtio-net; vivarium = engine-equivalent ` +
      'argv on a vde_switch (not through the engine), raw = -netdev socket listen/connect',
    ['measure', 'vivarium', 'raw qemu', 'ratio', 'goal'],
    [['guest-to-guest throughput', v, r, `${(v / r).toFixed(3)}x`, '>= 0.8x']],
  );
  console.log(perRound.join('\n'));
  expect(viv).toHaveLength(ROUNDS * FETCHES_PER_BOOT);
});

it('answers through a forward added live as fast as through one fixed at start', async () => {
  const livePort = await freePort();
  const fixedPort = await freePort();
  const append = 'viv.net=dhcp viv.httpd=80';
  const [live, fixed] = await Promise.all([
    bootGuest(card({ type: 'user' }, SERVER_MAC), append, { qmp: true }),
    bootGuest(
      [
        '-netdev',
        `user,id=n0,hostfwd=tcp:127.0.0.1:${fixedPort}-:80`,
        '-device',
        `virtio-net-pci,netdev=n0,mac=${CLIENT_MAC}`,
      ],
      append,
    ),
  ]);
  try {
    // An empty reply is success; a refused rule is a successful reply with text in it.
    expect(await live.hmp(`hostfwd_add net0 tcp:127.0.0.1:${livePort}-:80`)).toBe('');
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
        'hostfwd_add over QMP on the NAT card, raw = -netdev user,hostfwd= at start',
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
    await Promise.all([live.stop(), fixed.stop()]);
  }
});
