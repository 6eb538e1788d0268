/**
 * A property-based fuzzer of the contract over server mode's WebSocket RPC (fast-check, a fixed
 * seed printed below). Each run sends a small batch of requests at once: junk (unknown methods,
 * wrong shapes, prototype keys, deep nesting, NaN/Infinity, odd paths, frames that are not JSON
 * or too big) and near-valid ones built from the contract's own vocabulary with one field mutated.
 * After every batch the server must still answer; no reply may be INTERNAL; a request the
 * contract's schema refuses must get INVALID_REQUEST; and every VM a request created or changed
 * must launch with exactly the argv `buildQemuArgs` builds from its config as read back from disk
 * and validated again, in which no user value splits an option. QEMU is never started: methods
 * that would start a guest or run long work only ever get requests their schema refuses.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCELERATORS,
  BOOT_DEVICES,
  DISK_BUSES,
  DISK_CACHES,
  ERROR_CODES,
  FIRMWARES,
  MACHINE_TYPES,
  NIC_MODELS,
  RpcRequestSchema,
  SOUND_MODELS,
  VIDEO_MODELS,
  VmConfigSchema,
  isMethod,
  methods,
  type HostInfo,
  type TaskInfo,
  type VmConfig,
} from '../../common/contract';
import { openEngine, VivariumError, type Engine } from '../../electron/engine';
import { resolveAccelerator } from '../../electron/engine/host/resolve';
import { vmFiles, type VmFiles } from '../../electron/engine/paths';
import { networkKey } from '../../electron/engine/network/store';
import { networkRunFiles } from '../../electron/engine/network/switch';
import { buildQemuArgs } from '../../electron/engine/qemu/args';
import { startServer } from '../../electron/server';
import { guest } from '../helpers/fixtures';
import { argvProblems } from '../helpers/qemu-argv-check';
import { RpcClient, type RpcReply } from '../helpers/rpc-client';

const run = promisify(execFile);

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.FUZZ_RUNS ?? 900);
/** Every request must be answered within this; a task must end within TASK_MS. */
const REPLY_MS = 15_000;
const TASK_MS = 20_000;

/** Methods that would start a guest, touch the network or run long: only invalid requests. */
const NEVER_VALID = new Set([
  'vm.start',
  'vm.reset',
  'vm.shutdown',
  'vm.powerOff',
  'snapshot.create',
  'media.download',
  'catalog.check',
]);

let root: string;
let engine: Engine;
let server: Awaited<ReturnType<typeof startServer>>;
let client: RpcClient;
let host: HostInfo;
let filePool: string[];

interface PoolVm {
  id: string;
  name: string;
  disks: string[];
}
const pool = { vms: [] as PoolVm[], tasks: [] as string[] };
const stats = {
  requests: 0,
  batches: 0,
  ok: 0,
  errors: new Map<string, number>(),
  argv: 0,
  /** method -> [succeeded, failed] */
  byMethod: new Map<string, [number, number]>(),
};

// ---------------------------------------------------------------------------------------------
// Setup: a temp VIVARIUM_HOME, the real engine behind the real server, files with awkward names

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vivarium-fuzz-'));
  const staticDir = join(root, 'static');
  await mkdir(staticDir, { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Vivarium</title>');
  const files = join(root, 'files');
  await mkdir(join(files, 'dir,d'), { recursive: true });
  const small = Buffer.alloc(64 * 1024, 0x41);
  const named = [
    'plain.iso',
    'with,comma.iso',
    'x,process=evil.iso',
    `q"uote'.iso`,
    'space name.img',
    'ünï-😀.iso',
    'file=evil,,x.img',
    'id=disk9,driver=raw.img',
  ];
  for (const name of named) await writeFile(join(files, name), small);
  await copyFile(guest.kernel, join(files, 'vm,linuz')).catch(() =>
    writeFile(join(files, 'vm,linuz'), small),
  );
  await run('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    join(files, 'disk,process=evil.qcow2'),
    '8M',
  ]);
  // An image whose backing file is someone else's: adding or importing it must be refused.
  await run('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-F',
    'raw',
    '-b',
    '/etc/hostname',
    join(files, 'backed,x.qcow2'),
  ]);
  filePool = [
    ...named.map((n) => join(files, n)),
    join(files, 'vm,linuz'),
    join(files, 'disk,process=evil.qcow2'),
    join(files, 'backed,x.qcow2'),
    join(files, 'dir,d'),
    join(files, 'missing,x.iso'),
    `/${'a'.repeat(300)}`,
    `/${'a/'.repeat(2100)}x`,
    'relative,x.iso',
    '',
    `${files}/../files/plain.iso`,
    'C:\\win,dows\\x.iso',
  ];

  process.env.VIVARIUM_HOME = join(root, 'home');
  engine = await openEngine({ home: join(root, 'home'), role: 'owner' });
  server = await startServer({ engine, port: 0, staticDir });
  client = await RpcClient.open(server);
  const info = await client.call('host.info', {});
  if (!('result' in info)) throw new Error(`host.info failed: ${info.error.message}`);
  host = info.result as HostInfo;
  for (const name of ['seed,process=evil', 'seed-plain']) {
    const made = await client.call('vm.create', { name, diskSize: '16M', memoryMiB: 128 });
    if (!('result' in made)) throw new Error(`seed VM: ${made.error.message}`);
  }
  await refreshPool();
  console.log(`fuzz-contract: seed ${SEED}, ${RUNS} batches (FUZZ_SEED / FUZZ_RUNS override)`);
}, 120_000);

afterAll(async () => {
  // Setup may have failed half-way: close what was opened.
  const opened = { client, server, engine } as Partial<{
    client: RpcClient;
    server: Awaited<ReturnType<typeof startServer>>;
    engine: Engine;
  }>;
  opened.client?.close();
  await opened.server?.close();
  // Planning a launch starts the networks' switches, which outlive the engine by design.
  for (const n of (await opened.engine?.call('network.list', {}).catch(() => [])) ?? []) {
    await opened.engine
      ?.call('network.delete', { network: n.config.id, detach: true })
      .catch((err: unknown) => console.log(`network ${n.config.name} left behind: ${String(err)}`));
  }
  await opened.engine?.close();
  delete process.env.VIVARIUM_HOME;
  if (root) await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Generators. Values that name something that exists now (a VM, a disk, a file, a task) are
// placeholders ({$vm: n}, ...) resolved against the current pool when the batch is sent, so a
// counterexample prints as data.

const nastyString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    ',',
    ',,',
    'x,process=evil',
    ',process=evil',
    'guest=x',
    'a"b\'c',
    'a/b\\c',
    '../..',
    '.',
    '\u0000',
    '\u202egpj.exe',
    'a\u200bb',
    '\uFEFF',
    '\uD800',
    '😀',
    'e\u0301',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '$(id)',
    '`id`',
    '-name',
    '/etc/passwd',
    'json:{"driver":"file"}',
    'x'.repeat(81),
    'x'.repeat(20_000),
  ),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 12 }).map((s) => `${s},process=evil`),
);
const nastyNumber = fc.oneof(
  fc.constantFrom(0, -1, -0, 0.5, 1.5, 2 ** 31, 2 ** 53, 2 ** 64, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'vm', 'name', ''),
  fc.string({ maxLength: 10 }),
);
const junk: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyNumber,
  fc.boolean(),
  fc.constant(null),
  fc.anything({
    key: nastyKey,
    values: [nastyString, nastyNumber, fc.boolean(), fc.constant(null)],
    maxDepth: 4,
    maxKeys: 5,
  }),
);

const vmRef = fc.nat().map((n) => ({ $vm: n }));
const fileRef = fc.nat().map((n) => ({ $file: n }));
const diskRef = fc.oneof(
  fc.nat().map((n) => ({ $disk: n })),
  fc.constantFrom('disk0', 'disk1', 'disk9', 'Disk0', 'cd0'),
);
const snapRef = fc.oneof(fc.constantFrom('s1', 'base', 'current', '1'), nastyString);

const vmName = fc.oneof(
  fc.constantFrom(
    'a,process=evil',
    ',process=evil',
    'x,,y',
    'guest=x',
    'a"b\'c',
    'a/b\\c',
    '../x',
    'e\u0301',
    '😀 VM',
    '\u202egpj.exe',
    'a\u200bb',
    '  padded  ',
    'x'.repeat(80),
    'debug-threads=off',
    'n,id=qmp0,path=/tmp/x',
    'n,,process=evil',
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  fc
    .tuple(
      fc.string({ unit: 'grapheme-ascii', maxLength: 10 }),
      fc.constantFrom(',process=evil', ',,', ',', '=', ',debug-threads=off,guest='),
      fc.nat(999),
    )
    .map(([a, b, n]) => `${a}${b}${n}`),
);
const size = fc.constantFrom('0', '1M', '16M', '64M', '1G', '20G', '1.5G', '512', '1T', '9999999T');
const accel = fc.constantFrom('auto', ...ACCELERATORS);
const portForward = fc.record(
  {
    protocol: fc.constantFrom('tcp', 'udp'),
    hostAddress: fc.constantFrom('127.0.0.1', '0.0.0.0', '10.0.0.1'),
    hostPort: fc.integer({ min: 1, max: 65_535 }),
    guestPort: fc.integer({ min: 1, max: 65_535 }),
  },
  { requiredKeys: ['hostPort', 'guestPort'] },
);
const extraArgs = fc.array(
  fc.oneof(
    fc.constantFrom('-name', 'x,process=evil', '-device', '{"driver":"x"}', '-S'),
    nastyString,
  ),
  { maxLength: 4 },
);

/** A record of `required` plus a few (0 to `most`) of the `optional` fields. */
function someOf(
  required: Record<string, fc.Arbitrary<unknown>>,
  optional: Record<string, fc.Arbitrary<unknown>>,
  most: number,
): fc.Arbitrary<Template> {
  return fc
    .uniqueArray(fc.constantFrom(...Object.keys(optional)), { maxLength: most })
    .chain((keys) =>
      fc.record({
        ...required,
        ...Object.fromEntries(keys.map((k) => [k, optional[k] as fc.Arbitrary<unknown>])),
      }),
    );
}

// Valid by the contract's schemas (awkward in content: commas, quotes, missing files); the
// mutation below makes them invalid one field at a time.
const text = fc.oneof(
  nastyString.filter((s) => s.length <= 4096),
  fc.constant(''),
);
const createParams = someOf(
  { name: vmName },
  {
    os: fc.constantFrom('debian', 'win11', 'generic', '__proto__', 'constructor', 'no-such-os'),
    iso: fileRef,
    kernel: fileRef,
    append: text,
    memoryMiB: fc.constantFrom(128, 256, 300, 1024 * 1024),
    cpus: fc.integer({ min: 1, max: 4 }),
    diskSize: size,
    machine: fc.constantFrom(...MACHINE_TYPES),
    firmware: fc.constantFrom(...FIRMWARES),
    diskBus: fc.constantFrom(...DISK_BUSES),
    nicModel: fc.constantFrom(...NIC_MODELS),
    network: fc.constantFrom('nat', 'user', 'none', 'network:lab', 'bridge:br0', 'bogus:x'),
    video: fc.constantFrom(...VIDEO_MODELS),
    sound: fc.constantFrom(...SOUND_MODELS),
    usbTablet: fc.boolean(),
    tpm: fc.boolean(),
    secureBoot: fc.boolean(),
    accel,
    notes: text,
  },
  6,
);

const patch = someOf(
  {},
  {
    name: vmName,
    notes: text,
    memoryMiB: fc.constantFrom(128, 512, 1024 * 1024),
    cpuCount: fc.integer({ min: 1, max: 4 }),
    cpuModel: fc.constantFrom('max', 'host', 'qemu64', 'Skylake-Client', 'a.b_c-d'),
    machine: fc.constantFrom(...MACHINE_TYPES),
    firmware: fc.constantFrom(...FIRMWARES),
    cdrom: fc.option(fileRef, { nil: null }),
    bootOrder: fc.array(fc.constantFrom(...BOOT_DEVICES), { minLength: 1, maxLength: 4 }),
    video: fc.constantFrom(...VIDEO_MODELS),
    sound: fc.constantFrom(...SOUND_MODELS),
    usbTablet: fc.boolean(),
    tpm: fc.boolean(),
    secureBoot: fc.boolean(),
    accel,
    kernelBoot: fc.option(
      fc.record({ kernel: fileRef, initrd: fileRef, append: text }, { requiredKeys: ['kernel'] }),
      { nil: null },
    ),
    extraArgs,
  },
  5,
);

/** A card as nic.add/nic.update give it; its MAC and cable are where user values reach argv. */
const nicRequest = someOf(
  {},
  {
    model: fc.constantFrom(...NIC_MODELS),
    mac: fc.constantFrom(
      '52:54:00:12:34:56',
      '52-54-00-AB-CD-EF',
      '01:00:5e:00:00:01',
      '00:00:00:00:00:00',
      '52:54:00:12:34',
    ),
    attach: fc.constantFrom(
      { kind: 'nat' },
      { kind: 'nat', internet: false },
      { kind: 'nat', forwards: [{ hostPort: 8080, guestPort: 80 }] },
      { kind: 'none' },
      { kind: 'network', network: 'lab' },
      { kind: 'network', network: 'lab,sock=/tmp/x' },
      { kind: 'bridge', bridge: 'br0' },
      { kind: 'bridge', bridge: 'br0,helper=/bin/sh' },
    ),
  },
  3,
);
const nicIndex = fc.integer({ min: 0, max: 3 });
/** Mostly the first card, which most VMs have, so that forwards get past "no such card". */
const forwardNic = fc.constantFrom(0, 0, 0, 1, 3);

type Template = Record<string, unknown>;

/** Mostly the network the cards above name, so that cards and networks meet. */
const networkRef = fc.oneof(
  { arbitrary: fc.constantFrom('lab', 'lab', 'dmz', 'Lab', 'lab,sock=/tmp/x'), weight: 4 },
  { arbitrary: nastyString, weight: 1 },
);
const subnet = fc.oneof(
  fc.constantFrom(
    '10.13.1.0/24',
    '10.13.2.0/24',
    '10.13.1.128/25',
    '10.0.2.0/24',
    '192.168.7.0/30',
    '10.13.1.0/33',
    '300.1.1.0/24',
    '10.13.1.5/24',
  ),
  nastyString,
);

/** Each method's valid-ish params (placeholders unresolved). */
const VALID: Record<string, fc.Arbitrary<Template>> = {
  'vm.list': fc.constant({}),
  'vm.get': fc.record({ vm: vmRef }),
  'vm.create': createParams,
  'vm.update': fc.record({ vm: vmRef, patch }),
  'vm.delete': fc.record({ vm: vmRef, keepDisks: fc.boolean() }),
  'vm.pause': fc.record({ vm: vmRef }),
  'vm.resume': fc.record({ vm: vmRef }),
  'vm.screenshot': fc.record({ vm: vmRef, file: fileRef }, { requiredKeys: ['vm'] }),
  'vm.sendKeys': fc.record({
    vm: vmRef,
    keys: fc.array(fc.constantFrom('ctrl', 'alt', 'delete', 'a', 'X', 'f1'), { maxLength: 11 }),
  }),
  'vm.openStream': fc.record({ vm: vmRef, kind: fc.constantFrom('vnc', 'serial', 'monitor') }),
  'vm.log': fc.record(
    {
      vm: vmRef,
      kind: fc.constantFrom('serial', 'qemu', 'events'),
      maxBytes: fc.integer({ min: 0, max: 20 * 1024 * 1024 }),
    },
    { requiredKeys: ['vm', 'kind'] },
  ),
  'disk.list': fc.record({ vm: vmRef }),
  'disk.add': fc.record(
    {
      vm: vmRef,
      size,
      file: fileRef,
      bus: fc.constantFrom(...DISK_BUSES),
      cache: fc.constantFrom(...DISK_CACHES),
      readOnly: fc.boolean(),
    },
    { requiredKeys: ['vm'] },
  ),
  'disk.update': fc.record(
    {
      vm: vmRef,
      disk: diskRef,
      bus: fc.constantFrom(...DISK_BUSES),
      cache: fc.constantFrom(...DISK_CACHES),
    },
    { requiredKeys: ['vm', 'disk', 'cache'] },
  ),
  'disk.detach': fc.record({ vm: vmRef, disk: diskRef, deleteFile: fc.boolean() }),
  'disk.resize': fc.record(
    {
      vm: vmRef,
      disk: diskRef,
      size: fc.constantFrom('+1M', '+16M', '32M', '1G', '1', '+0', '99999999T', '8M'),
      shrink: fc.boolean(),
    },
    { requiredKeys: ['vm', 'size'] },
  ),
  'disk.import': fc.record({ vm: vmRef, file: fileRef }),
  'disk.check': fc.record(
    { vm: vmRef, disk: diskRef, repair: fc.constantFrom('none', 'leaks', 'all') },
    { requiredKeys: ['vm'] },
  ),
  'vm.clone': fc.record({ vm: vmRef, name: vmName, linked: fc.boolean() }),
  'snapshot.list': fc.record({ vm: vmRef }),
  'snapshot.update': fc.record(
    { vm: vmRef, snapshot: snapRef, name: nastyString, description: nastyString },
    { requiredKeys: ['vm', 'snapshot'] },
  ),
  'snapshot.delete': fc.record({ vm: vmRef, snapshot: snapRef }),
  'snapshot.revert': fc.record({ vm: vmRef, snapshot: snapRef }),
  'snapshot.thumbnail': fc.record({ vm: vmRef, snapshot: snapRef }),
  'task.list': fc.constant({}),
  'task.get': fc.record({
    id: fc.oneof(
      fc.nat().map((n) => ({ $task: n })),
      nastyString,
    ),
  }),
  'task.cancel': fc.record({
    id: fc.oneof(
      fc.nat().map((n) => ({ $task: n })),
      nastyString,
    ),
  }),
  'host.info': fc.constant({}),
  'catalog.list': fc.record(
    {
      query: nastyString,
      family: fc.constantFrom('linux', 'windows', 'bsd', 'other'),
      includeOsinfo: fc.constant(false),
    },
    { requiredKeys: ['includeOsinfo'] },
  ),
  'catalog.get': fc.record({ id: fc.oneof(fc.constantFrom('debian', 'win11'), nastyString) }),
  'catalog.defaults': fc.record(
    {
      os: fc.oneof(fc.constantFrom('debian', 'win11', 'alpine'), nastyString),
      version: nastyString,
    },
    { requiredKeys: ['os'] },
  ),
  'media.detect': fc.record({ file: fileRef }),
  'media.list': fc.constant({}),
  'media.delete': fc.record({
    sha256: fc.oneof(fc.constant('0'.repeat(64)), fc.constant('A'.repeat(64)), nastyString),
    eject: fc.boolean(),
  }),
  'media.partials': fc.constant({}),
  'media.discardPartial': fc.record({ key: fc.oneof(fc.constantFrom('x', 'a.b'), nastyString) }),
  'network.list': fc.constant({}),
  'network.get': fc.record({ network: networkRef }),
  'network.create': fc.record(
    { name: networkRef, subnet, dhcp: fc.boolean(), nat: fc.boolean() },
    { requiredKeys: ['name'] },
  ),
  'network.update': fc.record({
    network: networkRef,
    patch: fc.record(
      { name: networkRef, subnet, dhcp: fc.boolean(), nat: fc.boolean() },
      { requiredKeys: [] },
    ),
  }),
  'network.delete': fc.record({ network: networkRef, detach: fc.boolean() }),
  'network.bridgeCheck': fc.record({
    bridge: fc.oneof(fc.constantFrom('br0', 'virbr0', 'lo', 'br0,helper=/bin/sh'), nastyString),
  }),
  'nic.list': fc.record({ vm: vmRef }),
  'nic.add': fc.record({ vm: vmRef, nic: nicRequest }),
  'nic.update': fc.record({ vm: vmRef, index: nicIndex, patch: nicRequest }),
  'nic.remove': fc.record({ vm: vmRef, index: nicIndex }),
  'forward.list': fc.record({ vm: vmRef }),
  'forward.add': fc.record(
    {
      vm: vmRef,
      nic: forwardNic,
      forward: portForward.chain((f) =>
        fc.boolean().map((pub) => (pub ? { ...f, public: true } : f)),
      ),
      guestAddress: fc.constantFrom('10.0.2.15', '10.0.2.15', '10.13.1.20', '999.1.1.1'),
    },
    { requiredKeys: ['vm', 'forward'] },
  ),
  'forward.remove': fc.record(
    {
      vm: vmRef,
      nic: nicIndex,
      protocol: fc.constantFrom('tcp', 'udp'),
      hostPort: fc.integer({ min: 1, max: 65_535 }),
    },
    { requiredKeys: ['vm', 'hostPort'] },
  ),
  'forward.ssh': fc.record({ vm: vmRef, nic: forwardNic }, { requiredKeys: ['vm'] }),
};

/** Methods that change a VM's cards or forwards: their result is not the VM, but its argv changed. */
const CHANGES_CARDS = new Set([
  'nic.add',
  'nic.update',
  'nic.remove',
  'forward.add',
  'forward.remove',
  'forward.ssh',
]);

/** One field of `t` changed to junk, dropped, or a prototype key added; or `t` as it is. */
function mutate(t: Template): fc.Arbitrary<Template> {
  const keys = Object.keys(t);
  return fc.oneof(
    { arbitrary: fc.constant(t), weight: 6 },
    {
      arbitrary: fc
        .tuple(fc.oneof(fc.constantFrom(...keys, 'extra'), nastyKey), junk)
        .map(([k, v]): Template => Object.fromEntries([...Object.entries(t), [k, v]])),
      weight: 3,
    },
    ...(keys.length
      ? [
          {
            arbitrary: fc
              .constantFrom(...keys)
              .map((k) => Object.fromEntries(Object.entries(t).filter(([key]) => key !== k))),
            weight: 1,
          },
        ]
      : []),
  );
}

type Request =
  | { kind: 'call'; method: string; params: unknown }
  | { kind: 'raw'; text: string }
  | { kind: 'fatal'; frame: 'binary' | 'oversize' };

/** Creating and changing VMs is where user values reach QEMU's argv: asked for more often. */
const WEIGHT: Record<string, number> = {
  'vm.create': 8,
  'vm.update': 10,
  'disk.add': 3,
  'nic.add': 3,
  'network.create': 3,
  'nic.update': 2,
  'forward.add': 3,
  'vm.clone': 2,
  'disk.import': 1,
};

const nearValid: fc.Arbitrary<Request> = fc
  .oneof(...Object.keys(VALID).map((m) => ({ arbitrary: fc.constant(m), weight: WEIGHT[m] ?? 1 })))
  .chain((method) =>
    (VALID[method] as fc.Arbitrary<Template>)
      .chain((t) =>
        method === 'vm.update' && t.patch && typeof t.patch === 'object'
          ? fc.oneof(
              mutate(t),
              mutate(t.patch as Template).map((p) => ({ ...t, patch: p })),
            )
          : mutate(t),
      )
      .map((params): Request => ({ kind: 'call', method, params })),
  );

const junkCall: fc.Arbitrary<Request> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...Object.keys(methods)),
      fc.constantFrom(
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        'vm.list ',
        'VM.LIST',
        'vm',
        'vm.',
        '',
        'vm.list\u0000',
        'engine.close',
        'close',
        'callUnknown',
      ),
      nastyString,
    ),
    fc.oneof(junk, fc.constant(undefined)),
  )
  .map(([method, params]): Request => ({ kind: 'call', method, params }));

const rawFrame: fc.Arbitrary<Request> = fc
  .oneof(
    fc.constantFrom(
      'NaN',
      '{',
      '',
      'null',
      '[]',
      '"x"',
      '{"id":$ID,"method":"vm.get","params":{"vm":NaN}}',
      '{"id":$ID,"method":"vm.update","params":{"vm":"x","patch":{"memoryMiB":1e999}}}',
      '{"id":$ID,"method":"vm.create","params":{"name":"n","memoryMiB":-Infinity}}',
      '{"id":1e999,"method":"vm.list","params":{}}',
      '{"id":"$ID","method":"vm.list"}',
      '{"id":$ID.5,"method":"vm.list"}',
      '{"id":$ID,"method":"vm.list","params":{"__proto__":{"polluted":1}}}',
      '{"id":$ID,"method":"vm.create","params":{"__proto__":{"name":"p"},"name":"proto,process=evil"}}',
      '{"id":$ID,"method":"vm.create","params":{"constructor":{"prototype":{"polluted":1}},"name":"c"}}',
      '{"id":$ID,"method":"__proto__","params":{}}',
      '{"id":$ID,"method":"vm.list","params":{},"id":"dup"}',
      '{"id":$ID,"method":"vm.list","params":"string"}',
      '{"id":$ID,"method":"vm.list","params":[1,2]}',
      '\uFEFF{"id":$ID,"method":"vm.list"}',
    ),
    // Deep nesting, written out when sent (a counterexample prints as its depth).
    fc
      .tuple(fc.integer({ min: 1, max: 250_000 }), fc.constantFrom('[', '{"a":'))
      .map(([depth, open]) => `$DEEP${open}${depth}`),
  )
  .map((text): Request => ({ kind: 'raw', text }));

const request: fc.Arbitrary<Request> = fc.oneof(
  { arbitrary: nearValid, weight: 10 },
  { arbitrary: junkCall, weight: 4 },
  { arbitrary: rawFrame, weight: 2 },
  {
    arbitrary: fc
      .constantFrom('binary' as const, 'oversize' as const)
      .map((frame): Request => ({ kind: 'fatal', frame })),
    weight: 1,
  },
);

/**
 * A delete and a few changes of one VM sent at once (two windows, a script beside the app): work
 * queued behind the delete must fail cleanly, never write the deleted VM back.
 */
const PILE_METHODS = [
  'vm.update',
  'disk.add',
  'disk.detach',
  'disk.resize',
  'vm.clone',
  'disk.check',
];
const pile: fc.Arbitrary<Request[]> = fc
  .tuple(
    fc.nat(),
    fc.boolean(),
    fc.nat(3),
    fc.array(
      fc
        .constantFrom(...PILE_METHODS)
        .chain((m) => (VALID[m] as fc.Arbitrary<Template>).map((params) => ({ m, params }))),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([n, keepDisks, at, ops]) => {
    const onVm = (method: string, params: Template): Request => ({
      kind: 'call',
      method,
      params: { ...params, vm: { $vm: n } },
    });
    const reqs = ops.map(({ m, params }) => onVm(m, params));
    reqs.splice(at % (reqs.length + 1), 0, onVm('vm.delete', { keepDisks }));
    return reqs;
  });

/** Two creates, or a create and a rename, racing for one name (in any case). */
const nameRace: fc.Arbitrary<Request[]> = fc
  .tuple(vmName, fc.nat(), fc.boolean(), fc.constantFrom('0', '1M'))
  .map(([name, n, rename, diskSize]): Request[] => [
    { kind: 'call', method: 'vm.create', params: { name, diskSize: '0' } },
    rename
      ? {
          kind: 'call',
          method: 'vm.update',
          params: { vm: { $vm: n }, patch: { name: name.toUpperCase() } },
        }
      : { kind: 'call', method: 'vm.create', params: { name: name.toLowerCase(), diskSize } },
  ]);

const batch: fc.Arbitrary<Request[]> = fc.oneof(
  { arbitrary: fc.array(request, { minLength: 1, maxLength: 5 }), weight: 12 },
  { arbitrary: pile, weight: 1 },
  { arbitrary: nameRace, weight: 1 },
);

// ---------------------------------------------------------------------------------------------
// Running a batch

function pick<T>(list: readonly T[], n: number): T | undefined {
  return list.length ? list[n % list.length] : undefined;
}

/** Placeholders replaced by what exists now; everything else copied as it is. */
function materialize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(materialize);
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && typeof o[keys[0] as string] === 'number') {
    const n = o[keys[0] as string] as number;
    switch (keys[0]) {
      case '$vm': {
        const vm = pick(pool.vms, n);
        if (!vm) return 'no-such-vm';
        return [vm.id, vm.name, vm.name.toUpperCase(), ` ${vm.name} `][n % 4];
      }
      case '$disk':
        return (
          pick(
            pool.vms.flatMap((v) => v.disks),
            n,
          ) ?? 'disk0'
        );
      case '$file':
        return pick(filePool, n) ?? '/nowhere';
      case '$task':
        return pick(pool.tasks, n) ?? 'no-task';
    }
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, materialize(v)]));
}

/** What the server must answer, judged by the contract itself. */
function mustBeInvalid(method: string, params: unknown): boolean {
  if (!isMethod(method)) return true;
  return !methods[method].safeParse(params ?? {}).success;
}

/** The pool's VM a request's `vm` names (by id, or by name in any case and padding). */
function poolVm(ref: unknown): PoolVm | undefined {
  const text = String(ref);
  return (
    pool.vms.find((v) => [v.id, v.name].includes(text)) ??
    pool.vms.find((v) => v.name.toLowerCase() === text.trim().toLowerCase())
  );
}

function isTask(v: unknown): v is TaskInfo {
  return !!v && typeof v === 'object' && 'kind' in v && 'state' in v && 'cancellable' in v;
}

function isSummary(v: unknown): v is { id: string; config: VmConfig } {
  return !!v && typeof v === 'object' && 'config' in v && 'runtime' in v && 'id' in v;
}

function noteError(code: string): void {
  stats.errors.set(code, (stats.errors.get(code) ?? 0) + 1);
}

/** A reply's error must be one of the contract's codes and never INTERNAL. */
function assertTyped(reply: RpcReply, what: string): void {
  if (!('error' in reply)) return;
  noteError(reply.error.code);
  expect(ERROR_CODES, `${what}: ${reply.error.message}`).toContain(reply.error.code);
  expect(reply.error.code, `${what} failed with INTERNAL: ${reply.error.message}`).not.toBe(
    'INTERNAL',
  );
}

interface Outcome {
  touched: string[];
  tasks: string[];
  deleted: string[];
}

/** `$DEEP[N` / `$DEEP{"a":N`: a vm.update whose patch is nested N deep. */
function deepen(text: string): string {
  const m = /^\$DEEP(\[|\{"a":)(\d+)$/.exec(text);
  if (!m) return text;
  const open = m[1] as string;
  const depth = Number(m[2]);
  const close = open === '[' ? ']' : '}';
  return `{"id":$ID,"method":"vm.update","params":{"vm":"x","patch":${open.repeat(depth)}1${close.repeat(depth)}}}`;
}

/** The server's bound on an RPC frame (rpc.ts): a bigger one closes the socket. */
const MAX_FRAME = 1024 * 1024;

/** Sends a frame the server must refuse by closing that socket (on a socket of its own). */
async function sendFatal(frame: string | Buffer, what: string): Promise<void> {
  const victim = await RpcClient.open(server);
  victim.ws.send(frame);
  const code = await victim.closed(REPLY_MS);
  victim.close();
  expect(code, what).toBe(typeof frame === 'string' ? 1009 : 1003);
}

async function send(req: Request, out: Outcome): Promise<void> {
  stats.requests++;
  if (req.kind === 'fatal') {
    await sendFatal(
      req.frame === 'binary'
        ? Buffer.from([0xff, 0x00, 0x7b])
        : `{"id":1,"method":"vm.list","params":{"pad":"${'x'.repeat(MAX_FRAME + 16)}"}}`,
      `a ${req.frame} frame`,
    );
    return;
  }
  if (req.kind === 'raw') {
    const id = client.takeId();
    const text = deepen(req.text).replaceAll('$ID', String(id));
    if (Buffer.byteLength(text) > MAX_FRAME) {
      await sendFatal(text, `a raw frame of ${text.length} characters`);
      return;
    }
    let parsed: unknown = undefined;
    let expectId = -1;
    try {
      parsed = JSON.parse(text);
      const frame = RpcRequestSchema.safeParse(parsed);
      if (frame.success) expectId = frame.data.id;
      else if (parsed && typeof parsed === 'object' && 'id' in parsed) {
        const pid = parsed.id;
        if (typeof pid === 'number' && Number.isInteger(pid)) expectId = pid;
      }
    } catch {
      expectId = -1;
    }
    const reply = await client.send(text, expectId === id ? id : -1, REPLY_MS);
    assertTyped(reply, `raw frame ${text.slice(0, 120)}`);
    const frame = RpcRequestSchema.safeParse(parsed);
    if (!frame.success || mustBeInvalid(frame.data.method, frame.data.params)) {
      expect('error' in reply && reply.error.code, `raw frame ${text.slice(0, 120)}`).toBe(
        'INVALID_REQUEST',
      );
    }
    return;
  }
  const params = materialize(req.params);
  const method = req.method;
  const invalid = mustBeInvalid(method, params);
  if (!invalid && NEVER_VALID.has(method)) return;
  if (method === 'host.info' && !invalid && methods['host.info'].parse(params ?? {}).refresh) {
    return; // a refresh re-probes the accelerators: seconds, not a fuzz step
  }
  const what = `${method} ${JSON.stringify(params ?? null).slice(0, 300)}`;
  const id = client.takeId();
  const text = JSON.stringify({ id, method, params });
  if (Buffer.byteLength(text) > MAX_FRAME) {
    await sendFatal(text, `${what}: a frame over 1 MiB`);
    return;
  }
  const reply = await client.send(text, id, REPLY_MS);
  if (!invalid) {
    const tally = stats.byMethod.get(method) ?? [0, 0];
    tally['result' in reply ? 0 : 1]++;
    stats.byMethod.set(method, tally);
    if (process.env.FUZZ_DEBUG && 'error' in reply)
      console.log(what, reply.error.code, reply.error.message);
  }
  assertTyped(reply, what);
  if (invalid) {
    expect('error' in reply && reply.error.code, `${what} is invalid`).toBe('INVALID_REQUEST');
    return;
  }
  if (!('result' in reply)) return;
  stats.ok++;
  if (isSummary(reply.result)) out.touched.push(reply.result.id);
  if (CHANGES_CARDS.has(method)) {
    const vm = poolVm((params as Template).vm);
    if (vm) out.touched.push(vm.id);
  }
  // Deleting a network with detach unplugs the cards on it, in any VM of the pool.
  if (method === 'network.delete') out.touched.push(...pool.vms.map((v) => v.id));
  if (method === 'vm.delete') {
    const gone = poolVm((params as Template).vm);
    if (gone) out.deleted.push(gone.id);
  }
  if (isTask(reply.result)) out.tasks.push(reply.result.id);
}

/** Waits for the batch's tasks; a failed task must fail with a typed error too. */
async function settle(taskIds: string[], out: Outcome): Promise<void> {
  for (const id of taskIds) {
    pool.tasks.push(id);
    const deadline = Date.now() + TASK_MS;
    for (;;) {
      const reply = await client.call('task.get', { id }, REPLY_MS);
      if (!('result' in reply)) throw new Error(`task.get ${id}: ${reply.error.message}`);
      const task = reply.result as TaskInfo;
      if (task.state !== 'running') {
        if (task.error) {
          noteError(task.error.code);
          expect(task.error.code, `task ${task.kind}: ${task.error.message}`).not.toBe('INTERNAL');
        }
        if (isSummary(task.result)) out.touched.push(task.result.id);
        break;
      }
      if (Date.now() > deadline) throw new Error(`task ${task.kind} ${id} did not end`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  if (pool.tasks.length > 50) pool.tasks.splice(0, pool.tasks.length - 50);
}

/** The server still answers, and the pool follows the library. */
async function refreshPool(): Promise<void> {
  const reply = await client.call('vm.list', {}, REPLY_MS);
  if (!('result' in reply)) throw new Error(`vm.list failed: ${reply.error.message}`);
  const list = reply.result as Array<{ id: string; name: string; config: VmConfig }>;
  expect(Array.isArray(list)).toBe(true);
  pool.vms = list.map((v) => ({ id: v.id, name: v.name, disks: v.config.disks.map((d) => d.id) }));
}

// ---------------------------------------------------------------------------------------------
// The argv property

/**
 * The switch folder of each network the cards name, found the way the engine finds a network
 * (id, name, then name in any case); a card on a network that does not exist gets none, and
 * both sides must then refuse.
 */
async function networkSwitches(config: VmConfig): Promise<Record<string, string>> {
  const nets = (await engine.call('network.list', {})).map((n) => n.config);
  const switches: Record<string, string> = {};
  for (const nic of config.nics) {
    if (nic.attach.kind !== 'network') continue;
    const ref = nic.attach.network;
    const net =
      nets.find((n) => n.id === ref) ??
      nets.find((n) => n.name === ref) ??
      nets.find((n) => networkKey(n.name) === networkKey(ref));
    if (net) switches[ref] = networkRunFiles(engine.paths, net.id).switchDir;
  }
  return switches;
}

async function launchContext(config: VmConfig, files: VmFiles) {
  return {
    networkSwitches: await networkSwitches(config),
    accel: resolveAccelerator(host, config.accel).accel,
    platform: process.platform,
    ovmfCode: host.firmware.ovmfCode,
    ovmfSecureBootCode: config.secureBoot ? (host.firmware.ovmfSecureBootCode ?? null) : null,
    tpmSocket: config.tpm && host.swtpm ? files.tpmSock : null,
    vmDir: files.dir,
    files,
  };
}

/** Throws a VivariumError's code, or an unexpected error as it is. */
function typedCode(err: unknown, what: string): string {
  if (!(err instanceof VivariumError)) throw err;
  expect(err.code, `${what}: ${err.message}`).not.toBe('INTERNAL');
  return err.code;
}

async function checkArgv(id: string): Promise<void> {
  if (!pool.vms.some((v) => v.id === id)) return; // deleted later in the same batch
  const files = vmFiles(engine.paths, id);
  const config = VmConfigSchema.parse(JSON.parse(await readFile(files.config, 'utf8')));
  let expected: string[] | null = null;
  try {
    expected = buildQemuArgs(config, await launchContext(config, files));
  } catch (err) {
    typedCode(err, `buildQemuArgs of ${id}`);
  }
  let planned: string[] | null = null;
  try {
    planned = (await engine.launchPlan(engine.resolve(id))).args;
  } catch (err) {
    typedCode(err, `launchPlan of ${id}`);
  }
  if (planned) {
    expect(planned, `the argv the engine would launch for ${config.name}`).toEqual(expected);
  }
  if (expected) {
    stats.argv++;
    const own = expected.slice(0, expected.length - config.extraArgs.length);
    expect(expected.slice(own.length)).toEqual(config.extraArgs);
    expect(argvProblems(own, { name: config.name, id: config.id }), config.name).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------

describe('the contract under fuzzing', () => {
  it('answers every request with a result or a typed error, and launches what it validated', async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(batch, async (reqs) => {
        stats.batches++;
        const out: Outcome = { touched: [], tasks: [], deleted: [] };
        await Promise.all(reqs.map((req) => send(req, out)));
        await settle(out.tasks, out);
        await refreshPool();
        // Names stay unique whatever the case, however the requests raced.
        const names = pool.vms.map((v) => v.name.toLocaleLowerCase());
        const twice = names.filter((x, i) => names.indexOf(x) !== i);
        expect(twice, 'names held twice').toEqual([]);
        for (const id of out.deleted) {
          // Deleted stays deleted: not listed, and no config written back into its folder.
          expect(pool.vms.map((v) => v.id)).not.toContain(id);
          expect(existsSync(vmFiles(engine.paths, id).config), `vm.json of deleted ${id}`).toBe(
            false,
          );
        }
        for (const id of new Set(out.touched)) await checkArgv(id);
        // Keep the library small enough that each batch stays quick.
        if (pool.vms.length > 40) {
          for (const vm of pool.vms.slice(2, 20)) await client.call('vm.delete', { vm: vm.id });
          await refreshPool();
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Every VM left in the library, once more.
    for (const vm of pool.vms) await checkArgv(vm.id);
    const host2 = await client.call('host.info', {});
    expect('result' in host2).toBe(true);
    const errors = [...stats.errors].map(([c, n]) => `${c} ${n}`).join(', ');
    console.log(
      `fuzz-contract: seed ${SEED}: ${stats.batches} batches, ${stats.requests} requests in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s; ${stats.ok} succeeded; errors: ${errors}; ` +
        `${stats.argv} argv checks; ${pool.vms.length} VMs at the end`,
    );
    const valid = [...stats.byMethod].map(([m, [ok, bad]]) => `${m} ${ok}/${ok + bad}`);
    console.log(`fuzz-contract: valid requests that succeeded, by method: ${valid.join(', ')}`);
  }, 180_000);
});
