/**
 * Live migration on loopback: through the engines (source engine -> the destination's server RPC
 * -> destination engine: prepare, NBD disk mirror, memory, switch-over, cont) against raw QEMU's
 * tuned migration driven by a bare QMP client. Same argv both sides (the engine's own launch
 * plan, only its paths moved), TLS-PSK on both, downtime-limit 10 ms and max-bandwidth 10 GiB/s
 * on both. The raw side copies no disk (its destination opens a copy made beforehand, as with
 * shared storage): the engine's total includes its disk mirror, the raw one does not. A third
 * side, raw + NBD mirror, is the engine's own QMP sequence sent by the bare client (NBD export
 * with TLS, mirror, pause-before-switchover, cancel while paused): it tells the engine's cost
 * apart from the cost of mirroring the disk at all.
 * Idle guest, then one rewriting 32 MiB of its RAM in a loop; the three sides take turns, each
 * migrating its guest back and forth. Downtime as a client sees it: from the source's pause (its
 * STOP event) to the destination's `cont` answered; QEMU's own figure beside it.
 * Goals: engine downtime <= 5 ms idle, <= 2x raw dirtying. Figures are printed, never asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { MigrationResult, VmSummary } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { startServer } from '../../electron/server';
import { guest, requireGuest, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { median, printTable } from './stats';
import { RawQmp, type Json } from './raw-qmp';

const RUNS = Number(process.env['MIGRATE_BENCH_RUNS'] ?? 5);
const DIRTY =
  'dd if=/dev/urandom of=/tmp/r bs=1M count=32 2>/dev/null; while true; do cp /tmp/r /tmp/dirty; done &';

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
  /** A raw guest chain: each migration replaces `src` by its destination. */
  interface Chain {
    src: RawVm;
  }
  const bootRaw = async (): Promise<Chain> => {
    const src = await rawLaunch(false);
    await src.qmp.execute('cont');
    await waitForText(join(src.dir, 'logs', 'serial.log'), guest.banner);
    return { src };
  };
  const plainChain = await bootRaw();
  const mirrorChain = await bootRaw();
  const diskIds = twinVm.config.disks.map((d) => d.id);
  /** QEMU's own clock for an event, in ms. */
  const stamp = (e: Json): number => {
    const t = e['timestamp'] as { seconds: number; microseconds: number };
    return t.seconds * 1000 + t.microseconds / 1000;
  };
  const freePort = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
  interface RawResult {
    downtimeMs: number;
    totalMs: number;
    qemu: number;
    /** Mirror side only, on QEMU's clock: pause -> pre-switchover -> mirrors done -> completed. */
    phases?: { toPre: number; cancel: number; toDone: number };
  }
  /**
   * `mirror` false: shared-storage style, the destination opens a copy of the disk made
   * beforehand. `mirror` true: the engine's QMP sequence without the engine (outgoing.ts and
   * incoming.ts): the destination exports an empty disk of the same size writable over NBD
   * with TLS, the source mirrors into it (NBD node without flushes), migrates with
   * pause-before-switchover, cancels the mirror while paused, continues; the destination runs
   * the guest, then stops NBD.
   */
  const rawMigrate = async (chain: Chain, mirror: boolean): Promise<RawResult> => {
    // The twin never ran: its disk file is an empty disk of the guest's size, as the engine's
    // destination creates.
    const dst = await rawLaunch(true);
    const t0 = performance.now();
    const s = chain.src.qmp;
    const tag = rawSeq;
    const client = `tlsc${tag}`;
    await s.execute('object-add', {
      'qom-type': 'tls-creds-psk',
      id: client,
      dir: psk,
      endpoint: 'client',
      username: 'qemu',
    });
    const srcEvents: Array<Json & { at: number }> = [];
    if (mirror) {
      const nbdPort = await freePort();
      await dst.qmp.execute('nbd-server-start', {
        addr: { type: 'inet', data: { host: '127.0.0.1', port: String(nbdPort) } },
        'tls-creds': 'tls0',
      });
      for (const id of diskIds) {
        await dst.qmp.execute('nbd-server-add', { device: id, name: id, writable: true });
      }
      for (const id of diskIds) {
        const node = `mig${tag}-${id}`;
        await s.execute('blockdev-add', {
          driver: 'nbd',
          'node-name': node,
          server: { type: 'inet', host: '127.0.0.1', port: String(nbdPort) },
          export: id,
          'tls-creds': client,
          cache: { 'no-flush': true },
        });
        const ready = s.event(
          (e) =>
            (e['event'] === 'BLOCK_JOB_READY' || e['event'] === 'BLOCK_JOB_COMPLETED') &&
            (e['data'] as Json)['device'] === node,
        );
        await s.execute('blockdev-mirror', {
          'job-id': node,
          device: id,
          target: node,
          sync: 'full',
        });
        const r = await ready;
        if (r['event'] !== 'BLOCK_JOB_READY') throw new Error(`mirror: ${JSON.stringify(r)}`);
      }
    }
    await dst.qmp.execute('migrate-set-capabilities', {
      capabilities: [{ capability: 'events', state: true }],
    });
    await dst.qmp.execute('migrate-set-parameters', { 'tls-creds': 'tls0' });
    await dst.qmp.execute('migrate-incoming', { uri: 'tcp:127.0.0.1:0' });
    const port = ((await dst.qmp.execute('query-migrate'))['socket-address'] as Json[])[0]?.[
      'port'
    ] as string;
    await s.execute('migrate-set-capabilities', {
      capabilities: [
        { capability: 'events', state: true },
        ...(mirror ? [{ capability: 'pause-before-switchover', state: true }] : []),
      ],
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
    const doneSrc = s.event((e) => migrationStatus('completed')(e) || migrationStatus('failed')(e));
    const failedSrc = s.event(migrationStatus('failed'));
    const pre = s.event(migrationStatus('pre-switchover'));
    await s.execute('migrate', { uri: `tcp:127.0.0.1:${port}` });
    if (mirror) {
      const first = await Promise.race([pre, failedSrc]);
      if ((first['data'] as Json)['status'] !== 'pre-switchover') {
        throw new Error(
          `raw+mirror migration failed: ${JSON.stringify(await s.execute('query-migrate'))}`,
        );
      }
      srcEvents.push(first);
      const jobs = diskIds.map((id) => `mig${tag}-${id}`);
      const completed = jobs.map((job) =>
        s.event(
          (e) => e['event'] === 'BLOCK_JOB_COMPLETED' && (e['data'] as Json)['device'] === job,
        ),
      );
      await Promise.all(jobs.map((job) => s.execute('block-job-cancel', { device: job })));
      for (const c of completed) {
        const e = await c;
        if ((e['data'] as Json)['error']) throw new Error(`mirror: ${JSON.stringify(e)}`);
        srcEvents.push(e);
      }
      await s.execute('migrate-continue', { state: 'pre-switchover' });
    }
    const first = await Promise.race([doneDst, failedSrc]);
    if ((first['data'] as Json)['status'] !== 'completed') {
      throw new Error(`raw migration failed: ${JSON.stringify(await s.execute('query-migrate'))}`);
    }
    await dst.qmp.execute('cont');
    const end = performance.now();
    if (mirror) await dst.qmp.execute('nbd-server-stop');
    const stopped = await stop;
    const info = await s.execute('query-migrate');
    let phases: RawResult['phases'];
    if (mirror) {
      const [preE, ...jobEs] = srcEvents;
      const srcDone = await doneSrc;
      const lastJob = Math.max(...jobEs.map(stamp));
      phases = {
        toPre: stamp(preE ?? stopped) - stamp(stopped),
        cancel: lastJob - stamp(preE ?? stopped),
        toDone: stamp(srcDone) - lastJob,
      };
    }
    await s.execute('quit').catch(() => undefined);
    s.close();
    chain.src = dst;
    return {
      downtimeMs: end - stopped.at,
      totalMs: end - t0,
      qemu: Number(info['downtime']),
      ...(phases ? { phases } : {}),
    };
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
      for (const chain of [plainChain, mirrorChain]) {
        const s = await rawConsole(chain.src.dir);
        s.write(`${DIRTY}\n`);
        await new Promise((r) => setTimeout(r, 300));
        s.destroy();
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    const fig = () => ({ down: [] as number[], total: [] as number[], qemu: [] as number[] });
    const eng = fig();
    const raw = fig();
    const mir = fig();
    const phases = { toPre: [] as number[], cancel: [] as number[], toDone: [] as number[] };
    const sides = ['engine', 'raw', 'mirror'] as const;
    for (let i = 0; i < RUNS; i++) {
      // Each side goes first, second and last in turn.
      const order = sides.map((_, k) => sides[(i + k) % sides.length] ?? 'engine');
      for (const who of order) {
        if (who === 'engine') {
          const r = await engineMigrate();
          eng.down.push(r.downtimeMs);
          eng.total.push(r.totalMs);
          eng.qemu.push(r.qemuDowntimeMs ?? NaN);
        } else {
          const r = await rawMigrate(who === 'raw' ? plainChain : mirrorChain, who === 'mirror');
          const f = who === 'raw' ? raw : mir;
          f.down.push(r.downtimeMs);
          f.total.push(r.totalMs);
          f.qemu.push(r.qemu);
          if (r.phases) {
            phases.toPre.push(r.phases.toPre);
            phases.cancel.push(r.phases.cancel);
            phases.toDone.push(r.phases.toDone);
          }
        }
      }
    }
    rows.push(
      [`${label}: engine`, median(eng.down), median(eng.qemu), median(eng.total)],
      [`${label}: raw QEMU`, median(raw.down), median(raw.qemu), median(raw.total)],
      [`${label}: raw + NBD mirror`, median(mir.down), median(mir.qemu), median(mir.total)],
      [
        `${label}: engine/raw`,
        median(eng.down) / median(raw.down),
        median(eng.qemu) / median(raw.qemu),
        median(eng.total) / median(raw.total),
      ],
      [
        `${label}: engine/raw+mirror`,
        median(eng.down) / median(mir.down),
        median(eng.qemu) / median(mir.qemu),
        median(eng.total) / median(mir.total),
      ],
    );
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
    report.push(
      `${label} runs (ms): engine downtime ${runs(eng.down)} | raw ${runs(raw.down)} | raw+mirror ${runs(mir.down)}`,
      `${label} runs (ms): QEMU downtime engine ${runs(eng.qemu)} | raw ${runs(raw.qemu)} | raw+mirror ${runs(mir.qemu)}`,
      `${label} raw+mirror on QEMU's clock, medians (ms): pause -> pre-switchover ${median(phases.toPre).toFixed(1)}, -> mirror cancelled ${median(phases.cancel).toFixed(1)}, -> completed ${median(phases.toDone).toFixed(1)}`,
    );
  }
  printTable(
    `Live migration on loopback, 256 MiB guest, TLS-PSK, medians of ${RUNS} alternating runs (ms)`,
    ['scenario', 'downtime (pause -> running there)', 'QEMU downtime', 'total'],
    rows,
  );
  report.push(
    'Goals: engine downtime <= 5 ms idle; <= 2x raw when dirtying. Raw copies no disk (its destination opens a copy made beforehand); the engine and raw + NBD mirror mirror the 64 MiB disk over NBD.',
  );
  expect(rows.length).toBe(10);
}, 900_000);
