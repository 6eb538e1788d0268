/**
 * Live migration on loopback: through the engines (source engine -> the destination's server RPC
 * -> destination engine: prepare, NBD disk mirror, memory, switch-over, cont) against raw QEMU's
 * tuned migration driven by a bare QMP client. Same argv both sides (the engine's own launch
 * plan, only its paths moved), TLS-PSK on both, downtime-limit 10 ms and max-bandwidth 10 GiB/s
 * on both. The raw side copies no disk (its destination opens a copy made beforehand, as with
 * shared storage): the engine's total includes its disk mirror, the raw one does not.
 * Idle guest, then one rewriting 32 MiB of its RAM in a loop; engine and raw take turns, each
 * migrating its guest back and forth. Downtime as a client sees it: from the source's pause (its
 * STOP event) to the destination's `cont` answered; QEMU's own figure beside it.
 * Goals: engine downtime <= 5 ms idle, <= 2x raw dirtying. Figures are printed, never asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { MigrationResult, VmSummary } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { startServer } from '../../electron/server';
import { guest, requireGuest, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { median, printTable } from './stats';

const RUNS = Number(process.env['MIGRATE_BENCH_RUNS'] ?? 5);
const DIRTY =
  'dd if=/dev/urandom of=/tmp/r bs=1M count=32 2>/dev/null; while true; do cp /tmp/r /tmp/dirty; done &';

type Json = Record<string, unknown>;

/** The baseline client: a socket, line splitting, replies by id, event waiters. */
class RawQmp {
  private buf = '';
  private nextId = 1;
  private readonly replies = new Map<number, (msg: Json) => void>();
  private readonly waiters = new Set<(msg: Json) => boolean>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) !== -1) {
        const msg = JSON.parse(this.buf.slice(0, nl)) as Json;
        this.buf = this.buf.slice(nl + 1);
        if (typeof msg['id'] === 'number') {
          this.replies.get(msg['id'])?.(msg);
          this.replies.delete(msg['id']);
        } else if (msg['event']) {
          (msg as Json & { at: number }).at = performance.now();
          for (const w of [...this.waiters]) if (w(msg)) this.waiters.delete(w);
        } else if (msg['QMP']) this.replies.get(0)?.(msg);
      }
    });
  }

  static async connect(path: string): Promise<RawQmp> {
    for (let i = 0; ; i++) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection({ path }, () => resolve(s));
          s.once('error', reject);
        });
        const raw = new RawQmp(socket);
        await new Promise<Json>((resolve) => raw.replies.set(0, resolve));
        await raw.execute('qmp_capabilities');
        return raw;
      } catch (err) {
        if (i > 200) throw err;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  async execute(command: string, args?: Json): Promise<Json> {
    const id = this.nextId++;
    const reply = new Promise<Json>((resolve) => this.replies.set(id, resolve));
    this.socket.write(
      JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }),
    );
    const r = await reply;
    if (r['error']) throw new Error(`${command}: ${JSON.stringify(r['error'])}`);
    return (r['return'] ?? {}) as Json;
  }

  /** Resolves with the first event (from now) that `match` accepts. */
  event(match: (e: Json) => boolean): Promise<Json & { at: number }> {
    return new Promise((resolve) =>
      this.waiters.add((e) => {
        if (!match(e)) return false;
        resolve(e as Json & { at: number });
        return true;
      }),
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

const migrationStatus = (status: string) => (e: Json) =>
  e['event'] === 'MIGRATION' && (e['data'] as Json | undefined)?.['status'] === status;

/** One raw QEMU from the engine's argv with the VM's folders replaced by `dir`. */
interface RawVm {
  child: ChildProcess;
  qmp: RawQmp;
  dir: string;
}

let root: string | undefined;
const engines: Engine[] = [];
const servers: Array<{ close(): Promise<void> }> = [];
const raws: RawVm[] = [];
const report: string[] = [];

afterAll(async () => {
  for (const r of raws) {
    r.qmp.close();
    r.child.kill('SIGKILL');
  }
  for (const e of engines) {
    for (const vm of await e.call('vm.list', {}).catch(() => [])) {
      await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    }
  }
  for (const s of servers) await s.close();
  for (const e of engines) await e.close();
  if (root) await rm(root, { recursive: true, force: true });
  console.log(report.join('\n'));
});

it('migrates through the engines and raw QEMU, idle and dirtying', async () => {
  requireGuest();
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  root = await mkdtemp(join(base, 'viv-migbench-'));
  const staticDir = join(root, 'static');
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html>');
  const a = await openEngine({ home: join(root, 'a'), role: 'owner' });
  const b = await openEngine({ home: join(root, 'b'), role: 'owner' });
  engines.push(a, b);
  const urls = new Map<Engine, string>();
  for (const e of [a, b]) {
    const s = await startServer({ engine: e, port: 0, staticDir });
    servers.push(s);
    urls.set(e, s.url);
  }
  const spec = {
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '64M',
    network: 'none',
  } as const;

  // --- The engine's guest.
  const vm0 = await a.call('vm.create', { name: 'bench', ...spec });
  await a.call('vm.start', { vm: vm0.id });
  await waitForText(join(vm0.dir, 'logs', 'serial.log'), guest.banner);
  let at: { engine: Engine; vm: VmSummary } = { engine: a, vm: vm0 };
  const engineMigrate = async (): Promise<MigrationResult> => {
    const to = at.engine === a ? b : a;
    const task = await at.engine.call('migration.start', {
      vm: at.vm.id,
      to: urls.get(to) ?? '',
      deleteSource: true,
    });
    const result = (await at.engine.tasks.wait(task.id)) as MigrationResult;
    at = { engine: to, vm: await to.call('vm.get', { vm: result.vmId }) };
    return result;
  };

  // --- The raw guest: the same argv (a stopped twin's launch plan), its paths moved.
  const twin = await a.call('vm.create', { name: 'raw-twin', ...spec });
  const twinVm = a.resolve(twin.id);
  const plan = await a.launchPlan(twinVm);
  const psk = join(root, 'psk');
  mkdirSync(psk, { mode: 0o700 });
  writeFileSync(join(psk, 'keys.psk'), `qemu:${'ab'.repeat(32)}\n`, { mode: 0o600 });
  let rawSeq = 0;
  const rawLaunch = (incoming: boolean): Promise<RawVm> => {
    const dir = join(root ?? '', `raw${rawSeq++}`);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(join(dir, 'run'), { recursive: true, mode: 0o700 });
    copyFileSync(join(twinVm.files.dir, 'disk0.qcow2'), join(dir, 'disk0.qcow2'));
    const args = plan.args.map((arg) =>
      arg.replaceAll(twinVm.files.run, join(dir, 'run')).replaceAll(twinVm.files.dir, dir),
    );
    // The destination's server credentials in argv (as the engine's destination has them);
    // the source adds its client credentials at run time, as the engine does.
    const creds = { 'qom-type': 'tls-creds-psk', id: 'tls0', dir: psk, endpoint: 'server' };
    if (incoming) args.push('-object', JSON.stringify(creds), '-incoming', 'defer');
    const child = spawn(plan.binary, args, { stdio: 'ignore' });
    return RawQmp.connect(join(dir, 'run', 'qmp.sock')).then((qmp) => {
      const r = { child, qmp, dir };
      raws.push(r);
      return r;
    });
  };
  let rawSrc = await rawLaunch(false);
  await rawSrc.qmp.execute('cont');
  await waitForText(join(rawSrc.dir, 'logs', 'serial.log'), guest.banner);
  const rawMigrate = async (): Promise<{ downtimeMs: number; totalMs: number; qemu: number }> => {
    const dst = await rawLaunch(true);
    const t0 = performance.now();
    await dst.qmp.execute('migrate-set-capabilities', {
      capabilities: [{ capability: 'events', state: true }],
    });
    await dst.qmp.execute('migrate-set-parameters', { 'tls-creds': 'tls0' });
    await dst.qmp.execute('migrate-incoming', { uri: 'tcp:127.0.0.1:0' });
    const port = ((await dst.qmp.execute('query-migrate'))['socket-address'] as Json[])[0]?.[
      'port'
    ] as string;
    const s = rawSrc.qmp;
    const client = `tlsc${rawSeq}`;
    await s.execute('object-add', {
      'qom-type': 'tls-creds-psk',
      id: client,
      dir: psk,
      endpoint: 'client',
      username: 'qemu',
    });
    await s.execute('migrate-set-capabilities', {
      capabilities: [{ capability: 'events', state: true }],
    });
    await s.execute('migrate-set-parameters', {
      'tls-creds': client,
      'downtime-limit': 10,
      'max-bandwidth': 10 * 2 ** 30,
    });
    const stop = s.event((e) => e['event'] === 'STOP');
    const doneDst = dst.qmp.event(
      (e) => migrationStatus('completed')(e) || migrationStatus('failed')(e),
    );
    const failedSrc = s.event(migrationStatus('failed'));
    await s.execute('migrate', { uri: `tcp:127.0.0.1:${port}` });
    const first = await Promise.race([doneDst, failedSrc]);
    if ((first['data'] as Json)['status'] !== 'completed') {
      throw new Error(`raw migration failed: ${JSON.stringify(await s.execute('query-migrate'))}`);
    }
    await dst.qmp.execute('cont');
    const end = performance.now();
    const stopAt = (await stop).at;
    const info = await s.execute('query-migrate');
    await s.execute('quit').catch(() => undefined);
    rawSrc.qmp.close();
    rawSrc = dst;
    return { downtimeMs: end - stopAt, totalMs: end - t0, qemu: Number(info['downtime']) };
  };

  const rawConsole = async (dir: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = createConnection({ path: join(dir, 'run', 'serial.sock') }, () => resolve(s));
      s.once('error', reject);
    });

  const rows: (string | number)[][] = [];
  for (const label of ['idle', 'dirtying 32 MiB']) {
    if (label !== 'idle') {
      const con = await GuestConsole.open(at.engine, at.vm.id);
      await con.run(DIRTY, /#/);
      con.close();
      const s = await rawConsole(rawSrc.dir);
      s.write(`${DIRTY}\n`);
      await new Promise((r) => setTimeout(r, 300));
      s.destroy();
      await new Promise((r) => setTimeout(r, 2000));
    }
    const eng = { down: [] as number[], total: [] as number[], qemu: [] as number[] };
    const raw = { down: [] as number[], total: [] as number[], qemu: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? ['engine', 'raw'] : ['raw', 'engine'];
      for (const who of order) {
        if (who === 'engine') {
          const r = await engineMigrate();
          eng.down.push(r.downtimeMs);
          eng.total.push(r.totalMs);
          eng.qemu.push(r.qemuDowntimeMs ?? NaN);
        } else {
          const r = await rawMigrate();
          raw.down.push(r.downtimeMs);
          raw.total.push(r.totalMs);
          raw.qemu.push(r.qemu);
        }
      }
    }
    rows.push(
      [`${label}: engine`, median(eng.down), median(eng.qemu), median(eng.total)],
      [`${label}: raw QEMU`, median(raw.down), median(raw.qemu), median(raw.total)],
      [
        `${label}: engine/raw`,
        median(eng.down) / median(raw.down),
        median(eng.qemu) / median(raw.qemu),
        median(eng.total) / median(raw.total),
      ],
    );
    report.push(
      `${label} runs (ms): engine downtime ${eng.down.map((x) => x.toFixed(0)).join(' ')} | raw ${raw.down.map((x) => x.toFixed(0)).join(' ')}`,
    );
  }
  printTable(
    `Live migration on loopback, 256 MiB guest, TLS-PSK, medians of ${RUNS} alternating runs (ms)`,
    ['scenario', 'downtime (pause -> running there)', 'QEMU downtime', 'total'],
    rows,
  );
  report.push(
    'Goals: engine downtime <= 5 ms idle; <= 2x raw when dirtying. Raw copies no disk (its destination opens a copy made beforehand); the engine mirrors the 64 MiB disk over NBD.',
  );
  expect(rows.length).toBe(6);
}, 900_000);
