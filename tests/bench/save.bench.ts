/**
 * Suspend to disk and resume: through the engine (vm.suspend task until QEMU has ended and the VM
 * is saved; vm.start until the guest runs again and the file is gone) vs raw QEMU run with the
 * very argv the engine builds for the VM (its own folder swapped in) and the same kind of file:
 * `migrate unix:` (downtime limit raised: QEMU stops the guest after one pass) to a socket
 * this process listens on and writes to a file (synced),
 * `quit`; then the same argv plus `-incoming fd:3` with the file as fd 3, wait while
 * `inmigrate`, `cont`. Same guest, same run, alternating who goes first; idle, and with 100 MiB
 * of random data in guest RAM and a loop copying 8 MiB of it over and over. Figures are printed
 * beside the raw baseline; no timed assertions. Goal: engine <= 1.2x raw.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import type { VmSummary } from '../../common/contract';
import { guest, requireGuest, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { median, printTable } from './stats';
import { RawQmp, type Json } from './raw-qmp';

/** Even, so each side goes first equally often. */
const RUNS = 2 * Math.ceil(Number(process.env['SAVE_BENCH_RUNS'] ?? 8) / 2);
const GOAL = 1.2;
const MAX_BANDWIDTH = 10 * 1024 ** 3;
/** As the engine: QEMU stops the guest itself after its first pass over memory. */
const DOWNTIME_LIMIT_MS = 60_000;

/** Raw QEMU running the engine VM's argv in a folder of its own. */
class RawTwin {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  qmp: RawQmp | null = null;
  readonly file: string;
  readonly serialLog: string;
  private readonly qmpSock: string;
  private readonly serialSock: string;

  constructor(
    private readonly binary: string,
    private readonly argv: string[],
    dir: string,
  ) {
    this.file = join(dir, 'state.vmstate');
    this.serialLog = join(dir, 'logs', 'serial.log');
    this.qmpSock = join(dir, 'run', 'qmp.sock');
    this.serialSock = join(dir, 'run', 'serial.sock');
  }

  private spawnQemu(extra: string[], fd: number | null): void {
    const child = spawn(this.binary, [...this.argv, ...extra], {
      stdio: fd === null ? ['ignore', 'ignore', 'pipe'] : ['ignore', 'ignore', 'pipe', fd],
      detached: true,
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        if (code) console.error(`raw QEMU exited ${code}: ${stderr}`);
        resolve();
      }),
    );
    this.child = child;
  }

  async boot(): Promise<void> {
    this.spawnQemu([], null);
    this.qmp = await RawQmp.connect(this.qmpSock);
    await this.qmp.execute('cont');
    await waitForText(this.serialLog, guest.banner, 150_000);
  }

  /** Migrate to our socket into a file, sync it, quit: what a save needs at least. */
  async save(): Promise<void> {
    const qmp = this.qmp;
    if (!qmp) throw new Error('not running');
    const sock = join(this.file, '..', 'save.sock');
    await rm(sock, { force: true });
    const partial = `${this.file}.partial`;
    const server = createServer();
    const received = new Promise<void>((resolve, reject) => {
      server.once('connection', (c) => {
        const stream = createWriteStream(partial, { mode: 0o600 });
        c.pipe(stream);
        stream.once('close', resolve);
        stream.once('error', reject);
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    await qmp.execute('migrate-set-parameters', {
      'max-bandwidth': MAX_BANDWIDTH,
      'downtime-limit': DOWNTIME_LIMIT_MS,
    });
    await qmp.execute('migrate', { uri: `unix:${sock}` });
    await received;
    for (;;) {
      const info = await qmp.execute('query-migrate');
      if (info['status'] === 'completed') break;
      if (info['status'] === 'failed') throw new Error(JSON.stringify(info));
      await new Promise((r) => setTimeout(r, 2));
    }
    const out = await open(partial, 'r+');
    await out.sync();
    await out.close();
    server.close();
    await rename(partial, this.file);
    await qmp.execute('quit').catch(() => undefined);
    await this.exited;
    qmp.close();
    this.qmp = null;
  }

  /** The same argv plus -incoming fd:3, wait while inmigrate, cont; then the file goes. */
  async restore(): Promise<void> {
    const state = await open(this.file, 'r');
    this.spawnQemu(['-incoming', 'fd:3'], state.fd);
    await state.close();
    const qmp = await RawQmp.connect(this.qmpSock);
    this.qmp = qmp;
    for (;;) {
      const { status } = await qmp.execute('query-status');
      if (status !== 'inmigrate') break;
      await new Promise((r) => setTimeout(r, 2));
    }
    await qmp.execute('cont');
    await rm(this.file);
  }

  /** Types a command on the serial console and waits for `marker` in the serial log. */
  async run(command: string, marker: string): Promise<void> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path: this.serialSock }, () => resolve(s));
      s.once('error', reject);
    });
    socket.write(`${command}\n`);
    await waitForText(this.serialLog, `\n${marker}`, 300_000);
    socket.destroy();
  }

  async kill(): Promise<void> {
    this.qmp?.close();
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** On tmpfs unless SAVE_BENCH_DIR says otherwise: the host's writeback would drown the rest. */
async function benchHome(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const base = process.env['SAVE_BENCH_DIR'] ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = await mkdtemp(join(base, 'viv-savebench-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

let home: { dir: string; remove: () => Promise<void> } | undefined;
let engine: Engine | undefined;
let twin: RawTwin | undefined;
const report: string[] = [];

afterAll(async () => {
  await twin?.kill();
  if (engine) {
    for (const vm of await engine.call('vm.list', {}).catch(() => [])) {
      await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
      await engine.call('vm.discardState', { vm: vm.id }).catch(() => undefined);
    }
    await engine.close();
  }
  await home?.remove();
  console.log(report.join('\n'));
});

interface Figures {
  engineSave: number[];
  rawSave: number[];
  engineRestore: number[];
  rawRestore: number[];
  stateBytes: number;
  rawBytes: number;
}

async function scenario(e: Engine, vm: VmSummary, raw: RawTwin): Promise<Figures> {
  const out: Figures = {
    engineSave: [],
    rawSave: [],
    engineRestore: [],
    rawRestore: [],
    stateBytes: 0,
    rawBytes: 0,
  };
  const engineTurn = async (counted: boolean) => {
    let bytes = 0;
    const save = await timed(async () => {
      const task = await e.call('vm.suspend', { vm: vm.id });
      const done = (await e.tasks.wait(task.id)) as VmSummary;
      if (done.runtime.state !== 'saved') throw new Error(`not saved: ${done.runtime.state}`);
    });
    bytes = Number(
      (JSON.parse(readFileSync(join(vm.dir, 'saved-state', 'state.json'), 'utf8')) as Json)[
        'bytes'
      ],
    );
    const restore = await timed(async () => {
      const started = await e.call('vm.start', { vm: vm.id });
      if (started.runtime.state !== 'running') throw new Error(started.runtime.state);
    });
    if (counted) {
      out.engineSave.push(save);
      out.engineRestore.push(restore);
      out.stateBytes = bytes;
    }
  };
  const rawTurn = async (counted: boolean) => {
    const save = await timed(() => raw.save());
    const { size } = await open(raw.file, 'r').then(async (h) => {
      const s = await h.stat();
      await h.close();
      return s;
    });
    const restore = await timed(() => raw.restore());
    if (counted) {
      out.rawSave.push(save);
      out.rawRestore.push(restore);
      out.rawBytes = size;
    }
  };
  await engineTurn(false);
  await rawTurn(false);
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      await engineTurn(true);
      await rawTurn(true);
    } else {
      await rawTurn(true);
      await engineTurn(true);
    }
  }
  return out;
}

function rows(label: string, f: Figures): (string | number)[][] {
  const line = (what: string, a: number[], b: number[]) => {
    const ratio = median(a) / median(b);
    return [
      `${what}, ${label}`,
      median(a),
      median(b),
      `${ratio.toFixed(3)}x`,
      ratio <= GOAL ? 'met' : 'NOT met',
    ];
  };
  return [line('save', f.engineSave, f.rawSave), line('restore', f.engineRestore, f.rawRestore)];
}

function runs(label: string, f: Figures): string[] {
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0).padStart(6)).join('');
  return [
    `  ${label} runs (ms), engine first in runs 1, 3, 5...; state file engine ${(f.stateBytes / 2 ** 20).toFixed(1)} MiB, raw ${(f.rawBytes / 2 ** 20).toFixed(1)} MiB`,
    `    save    engine${fmt(f.engineSave)}`,
    `            raw   ${fmt(f.rawSave)}`,
    `    restore engine${fmt(f.engineRestore)}`,
    `            raw   ${fmt(f.rawRestore)}`,
  ];
}

it(
  `suspend to disk and resume: engine vs raw QEMU with the same argv (${RUNS} alternating runs)`,
  { timeout: 900_000 },
  async () => {
    requireGuest();
    home = await benchHome();
    const e = await openEngine({ home: join(home.dir, 'engine'), role: 'owner' });
    engine = e;
    const vm = await e.call('vm.create', {
      name: 'bench',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '64M',
      network: 'none',
    });
    // The argv the engine builds for this VM, moved to the raw side's own folder.
    const entry = e.resolve(vm.id);
    const plan = await e.launchPlan(entry);
    const rawDir = join(home.dir, 'raw');
    await mkdir(join(rawDir, 'logs'), { recursive: true });
    await mkdir(join(rawDir, 'run'), { recursive: true, mode: 0o700 });
    await copyFile(join(vm.dir, 'disk0.qcow2'), join(rawDir, 'disk0.qcow2'));
    const argv = plan.args.map((a) =>
      a.split(entry.files.run).join(join(rawDir, 'run')).split(vm.dir).join(rawDir),
    );
    expect(argv.join(' ')).not.toContain(entry.files.run);
    const raw = new RawTwin(plan.binary, argv, rawDir);
    twin = raw;

    await e.call('vm.start', { vm: vm.id });
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
    await raw.boot();

    const idle = await scenario(e, vm, raw);

    // Memory the guest uses and keeps writing: 100 MiB of random data, 8 MiB copied in a loop.
    const fill =
      'dd if=/dev/urandom of=/tmp/fill bs=1M count=100 2>/dev/null; ' +
      '(while true; do dd if=/tmp/fill of=/tmp/copy bs=1M count=8 2>/dev/null; done) & echo FILLED';
    const con = await GuestConsole.open(e, vm.id);
    await con.run(fill, /\nFILLED/, 300_000);
    con.close();
    await raw.run(fill, 'FILLED');
    const dirty = await scenario(e, vm, raw);

    for (const f of [idle, dirty]) {
      expect(f.engineSave).toHaveLength(RUNS);
      expect(f.rawRestore).toHaveLength(RUNS);
    }
    printTable(
      `Suspend to disk / resume, fixture guest (256 MiB RAM, TCG; files on ${home.dir}), ${RUNS} alternating runs, medians in ms (goal <= ${GOAL}x)`,
      ['', 'engine', 'raw QEMU', 'ratio', 'goal'],
      [...rows('idle', idle), ...rows('100 MiB dirty + 8 MiB loop', dirty)],
    );
    report.push(
      '',
      ...runs('idle', idle),
      ...runs('dirty', dirty),
      'Engine save: vm.suspend call until the task ends (QEMU ended, VM saved); raw: migrate, file synced, quit, exit.',
      'Engine restore: vm.start until running (file removed); raw: spawn with -incoming fd:3, wait while inmigrate, cont, unlink.',
    );
  },
);
