/**
 * Live snapshot save and revert: through the engine (engine.call + task, thumbnail, tree) vs a
 * bare node:net QMP client on another of the same QEMU's QMP sockets (snapshot-save/-load job,
 * wait for 'concluded', query-jobs, job-dismiss: the least a correct client does). Same guest,
 * same run, alternating who goes first; idle and with 160 MiB of random data in guest RAM.
 * Then linked-clone creation for a 100 MiB and a 2 GiB base (filled with data).
 * Figures are printed; no timed assertions. Goals: engine <= 1.1x raw, revert keeps the QEMU
 * process (same pid), linked clone < 50 ms whatever the base's size.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { vmFiles } from '../../electron/engine/paths';
import type { VmSummary } from '../../common/contract';
import { guest, requireGuest, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';
import { RawQmp, type Json } from './raw-qmp';

/** Even, so each side goes first equally often (the first save after a clean-up is slower). */
const RUNS = 2 * Math.ceil(Number(process.env['SNAPSHOT_BENCH_RUNS'] ?? 16) / 2);
const CLONE_RUNS = Number(process.env['CLONE_BENCH_RUNS'] ?? 7);
const GOAL = 1.1;

/**
 * Snapshot jobs on the raw client: run to 'concluded', and QEMU's own start and end of every job
 * from the JOB_STATUS_CHANGE timestamps (QEMU sends its events to every QMP socket, so the
 * engine's jobs show up here too).
 */
class RawJobs {
  private readonly jobs = new Map<string, { created?: number; concluded?: number }>();

  constructor(private readonly qmp: RawQmp) {
    qmp.onEvent((msg) => {
      const data = msg['data'] as Json | undefined;
      const ts = msg['timestamp'] as { seconds: number; microseconds: number } | undefined;
      if (msg['event'] !== 'JOB_STATUS_CHANGE' || !data || !ts) return;
      const id = String(data['id']);
      const at = ts.seconds * 1000 + ts.microseconds / 1000;
      const job = this.jobs.get(id) ?? {};
      if (data['status'] === 'created') job.created = at;
      if (data['status'] === 'concluded') job.concluded = at;
      this.jobs.set(id, job);
    });
  }

  /** How long QEMU itself took for the last finished job whose id starts with `prefix` (ms). */
  takeJob(prefix: string): number {
    let best: { id: string; ms: number; end: number } | null = null;
    for (const [id, j] of this.jobs) {
      if (!id.startsWith(prefix) || j.created === undefined || j.concluded === undefined) continue;
      if (!best || j.concluded > best.end)
        best = { id, ms: j.concluded - j.created, end: j.concluded };
    }
    if (!best) return NaN;
    this.jobs.delete(best.id);
    return best.ms;
  }

  /** A job command, awaited to 'concluded', its error read, then dismissed. */
  async job(command: string, args: Json & { 'job-id': string }): Promise<void> {
    const jobId = args['job-id'];
    const concluded = this.qmp.event((e) => {
      const d = e['data'] as Json | undefined;
      return (
        e['event'] === 'JOB_STATUS_CHANGE' && d?.['id'] === jobId && d['status'] === 'concluded'
      );
    });
    await this.qmp.execute(command, args);
    await concluded;
    const jobs = (await this.qmp.request('query-jobs'))['return'] as Json[];
    const error = jobs.find((j) => j['id'] === jobId)?.['error'];
    await this.qmp.execute('job-dismiss', { id: jobId });
    if (error) throw new Error(JSON.stringify(error));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * The VMs live on tmpfs (/dev/shm) unless SNAPSHOT_BENCH_DIR says otherwise: on a disk, the
 * host's writeback of each memory image makes one save take 70 ms and the next 1.5 s, which
 * drowns the few ms the engine adds. SNAPSHOT_BENCH_DIR=/tmp measures on the disk.
 */
async function benchHome(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const base =
    process.env['SNAPSHOT_BENCH_DIR'] ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = await mkdtemp(join(base, 'viv-snapbench-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

let home: { dir: string; remove: () => Promise<void> } | undefined;
let engine: Engine | undefined;
let raw: RawQmp | undefined;
const report: string[] = [];

afterAll(async () => {
  raw?.close();
  if (engine) {
    for (const vm of await engine.call('vm.list', {}).catch(() => [])) {
      await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    }
    await engine.close();
  }
  await home?.remove();
  console.log(report.join('\n'));
});

interface Scenario {
  label: string;
  engineSave: number[];
  rawSave: number[];
  engineLoad: number[];
  rawLoad: number[];
  /** QEMU's own time for the same jobs (from its event timestamps). */
  jobs: { engineSave: number[]; rawSave: number[]; engineLoad: number[]; rawLoad: number[] };
  samePid: boolean;
}

async function scenario(e: Engine, r: RawJobs, vm: VmSummary, label: string): Promise<Scenario> {
  const out: Scenario = {
    label,
    engineSave: [],
    rawSave: [],
    engineLoad: [],
    rawLoad: [],
    jobs: { engineSave: [], rawSave: [], engineLoad: [], rawLoad: [] },
    samePid: true,
  };
  const pid = (await e.call('vm.get', { vm: vm.id })).runtime.pid;
  const engineSave = async (name: string) => {
    await e.tasks.wait((await e.call('snapshot.create', { vm: vm.id, name })).id);
  };
  const engineLoad = async (name: string) => {
    await e.tasks.wait((await e.call('snapshot.revert', { vm: vm.id, snapshot: name })).id);
  };
  const rawSave = (tag: string) =>
    r.job('snapshot-save', {
      'job-id': `raw-save-${tag}`,
      tag,
      vmstate: 'disk0',
      devices: ['disk0'],
    });
  const rawLoad = (tag: string) =>
    r.job('snapshot-load', {
      'job-id': `raw-load-${tag}`,
      tag,
      vmstate: 'disk0',
      devices: ['disk0'],
    });
  const engineDelete = async (name: string) => {
    await e.tasks.wait((await e.call('snapshot.delete', { vm: vm.id, snapshot: name })).id);
  };
  const rawDelete = (tag: string) =>
    r.job('snapshot-delete', { 'job-id': `raw-del-${tag}`, tag, devices: ['disk0'] });
  // Each side in turn: save, revert to it, delete it (untimed). So every timed save starts from
  // the same image (one that just had a snapshot deleted) and every revert follows its own save.
  const engineTurn = async (name: string, timedRun: boolean) => {
    const save = await timed(() => engineSave(name));
    const saveJob = r.takeJob('viv-save-');
    const load = await timed(() => engineLoad(name));
    const loadJob = r.takeJob('viv-load-');
    await engineDelete(name);
    if (timedRun) {
      out.engineSave.push(save);
      out.engineLoad.push(load);
      out.jobs.engineSave.push(saveJob);
      out.jobs.engineLoad.push(loadJob);
    }
  };
  const rawTurn = async (tag: string, timedRun: boolean) => {
    const save = await timed(() => rawSave(tag));
    const saveJob = r.takeJob('raw-save-');
    const load = await timed(() => rawLoad(tag));
    const loadJob = r.takeJob('raw-load-');
    await rawDelete(tag);
    if (timedRun) {
      out.rawSave.push(save);
      out.rawLoad.push(load);
      out.jobs.rawSave.push(saveJob);
      out.jobs.rawLoad.push(loadJob);
    }
  };
  // Warm-up (not counted).
  await engineTurn(`${label}-warm`, false);
  await rawTurn(`${label}-warm`, false);
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      await engineTurn(`${label}-e${i}`, true);
      await rawTurn(`${label}-r${i}`, true);
    } else {
      await rawTurn(`${label}-r${i}`, true);
      await engineTurn(`${label}-e${i}`, true);
    }
  }
  const after = await e.call('vm.get', { vm: vm.id });
  out.samePid = after.runtime.pid === pid && after.runtime.state === 'running';
  return out;
}

function row(what: string, engineMs: number[], rawMs: number[]): string {
  const a = median(engineMs);
  const b = median(rawMs);
  const ratio = a / b;
  const paired = median(engineMs.map((x, i) => x / (rawMs[i] ?? NaN)));
  return (
    what.padEnd(26) +
    a.toFixed(1).padStart(10) +
    b.toFixed(1).padStart(10) +
    `${ratio.toFixed(3)}x`.padStart(9) +
    `${paired.toFixed(3)}x`.padStart(10) +
    `  ${ratio <= GOAL ? 'met' : 'NOT met'}`
  );
}

/**
 * What each client adds to QEMU's own job time (wall time minus the job's span in QEMU's event
 * timestamps), and the ratio on a typical job: QEMU's run-to-run spread (often +-50% on this
 * 2-core TCG host) cancels out.
 */
function overheadRow(
  what: string,
  engineMs: number[],
  engineJob: number[],
  rawMs: number[],
  rawJob: number[],
): string {
  const eo = median(engineMs.map((x, i) => x - (engineJob[i] ?? NaN)));
  const ro = median(rawMs.map((x, i) => x - (rawJob[i] ?? NaN)));
  const job = median([...engineJob, ...rawJob]);
  const ratio = (job + eo) / (job + ro);
  return (
    what.padEnd(26) +
    job.toFixed(1).padStart(10) +
    eo.toFixed(1).padStart(10) +
    ro.toFixed(1).padStart(10) +
    `${ratio.toFixed(3)}x`.padStart(9) +
    `  ${ratio <= GOAL ? 'met' : 'NOT met'}`
  );
}

/** Every run, engine/raw, so the spread behind the medians is visible. */
function runs(s: Scenario): string[] {
  const f = (xs: number[]) => xs.map((x) => x.toFixed(0).padStart(5)).join('');
  return [
    `  ${s.label} runs (ms), engine first in runs 1, 3, 5...`,
    `    save   engine${f(s.engineSave)}`,
    `           raw   ${f(s.rawSave)}`,
    `    revert engine${f(s.engineLoad)}`,
    `           raw   ${f(s.rawLoad)}`,
  ];
}

it(
  `live snapshot save/revert: engine vs raw QMP (${RUNS} alternating runs), and linked clones`,
  { timeout: 900_000 },
  async () => {
    requireGuest();
    home = await benchHome();
    const where = home.dir;
    const e = await openEngine({ home: home.dir, role: 'owner' });
    engine = e;
    const vm = await e.call('vm.create', {
      name: 'bench',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 512,
      cpus: 1,
      diskSize: '4G',
    });
    await e.call('vm.start', { vm: vm.id });
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
    const con = await GuestConsole.open(e, vm.id);
    // The engine (owner) holds the first QMP socket; the raw client takes the last one.
    const files = vmFiles(e.paths, vm.id);
    const r = await RawQmp.connect(files.qmpSockets[files.qmpSockets.length - 1] ?? '');
    raw = r;
    const jobs = new RawJobs(r);

    const idle = await scenario(e, jobs, vm, 'idle');
    await con.run(
      'dd if=/dev/urandom of=/tmp/fill bs=1M count=160 2>/dev/null; echo FILLED',
      /FILLED\r?\n/,
      300_000,
    );
    const dirty = await scenario(e, jobs, vm, 'dirty');
    con.close();
    await e.call('vm.powerOff', { vm: vm.id });

    // Linked clones of a 100 MiB and a 2 GiB base, filled with data (qemu-io writes a pattern).
    const cloneRows: string[] = [];
    for (const [label, mib] of [
      ['100 MiB', 100],
      ['2 GiB', 2048],
    ] as const) {
      const base = await e.call('vm.create', {
        name: `base ${label}`,
        kernel: guest.kernel,
        initrd: guest.initrd,
        memoryMiB: 256,
        diskSize: `${mib}M`,
      });
      const disk = join(base.dir, 'disk0.qcow2');
      for (let off = 0; off < mib; off += 512) {
        const len = Math.min(512, mib - off);
        execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0xa5 ${off}M ${len}M`, disk], {
          stdio: 'ignore',
        });
      }
      const fresh: number[] = [];
      const reuse: number[] = [];
      for (let i = 0; i < CLONE_RUNS; i++) {
        // New data in the source since the last clone: the clone freezes a new base.
        if (i > 0) {
          execFileSync(
            'qemu-io',
            ['-f', 'qcow2', '-c', `write -P 0x${(i + 1).toString(16)} 0 64k`, disk],
            {
              stdio: 'ignore',
            },
          );
        }
        let cloneId = '';
        fresh.push(
          await timed(async () => {
            const task = await e.call('vm.clone', {
              vm: base.id,
              name: `c-${mib}-${i}`,
              linked: true,
            });
            cloneId = ((await e.tasks.wait(task.id)) as VmSummary).id;
          }),
        );
        // Nothing written since: the next clone reuses that base.
        let again = '';
        reuse.push(
          await timed(async () => {
            const task = await e.call('vm.clone', {
              vm: base.id,
              name: `c-${mib}-${i}-b`,
              linked: true,
            });
            again = ((await e.tasks.wait(task.id)) as VmSummary).id;
          }),
        );
        await e.call('vm.delete', { vm: cloneId });
        await e.call('vm.delete', { vm: again });
      }
      const chain = JSON.parse(
        execFileSync('qemu-img', ['info', '--output=json', '--backing-chain', disk], {
          encoding: 'utf8',
        }),
      ) as unknown[];
      cloneRows.push(
        `${label.padEnd(8)} freeze+overlays median ${median(fresh).toFixed(1).padStart(6)} ms (max ${Math.max(...fresh).toFixed(1)})` +
          `   reuse base median ${median(reuse).toFixed(1).padStart(6)} ms (max ${Math.max(...reuse).toFixed(1)})` +
          `   source chain depth ${chain.length}  ${Math.max(median(fresh), median(reuse)) < 50 ? 'goal met' : 'goal NOT met'}`,
      );
    }

    for (const s of [idle, dirty]) {
      expect(s.engineSave).toHaveLength(RUNS);
      expect(s.rawLoad).toHaveLength(RUNS);
    }
    report.push(
      '',
      `Live snapshots on the fixture guest (512 MiB RAM, TCG; files on ${where}), ${RUNS} alternating runs, medians in ms`,
      `${''.padEnd(26)}${'engine'.padStart(10)}${'raw QMP'.padStart(10)}${'ratio'.padStart(9)}${'paired'.padStart(10)}  goal <= ${GOAL}x (ratio of medians)`,
      row('save, idle', idle.engineSave, idle.rawSave),
      row('revert, idle', idle.engineLoad, idle.rawLoad),
      row('save, 160 MiB dirty RAM', dirty.engineSave, dirty.rawSave),
      row('revert, 160 MiB dirty RAM', dirty.engineLoad, dirty.rawLoad),
      `revert kept the same QEMU process (pid) and state running: ${idle.samePid && dirty.samePid ? 'yes' : 'NO'}`,
      '("paired" is the median of the per-run ratios engine/raw.)',
      '',
      'The same runs split into QEMU job time (its own event timestamps) and what each client adds, medians in ms',
      `${''.padEnd(26)}${'QEMU job'.padStart(10)}${'+engine'.padStart(10)}${'+raw'.padStart(10)}${'ratio'.padStart(9)}  goal <= ${GOAL}x`,
      overheadRow(
        'save, idle',
        idle.engineSave,
        idle.jobs.engineSave,
        idle.rawSave,
        idle.jobs.rawSave,
      ),
      overheadRow(
        'revert, idle',
        idle.engineLoad,
        idle.jobs.engineLoad,
        idle.rawLoad,
        idle.jobs.rawLoad,
      ),
      overheadRow(
        'save, 160 MiB dirty RAM',
        dirty.engineSave,
        dirty.jobs.engineSave,
        dirty.rawSave,
        dirty.jobs.rawSave,
      ),
      overheadRow(
        'revert, 160 MiB dirty RAM',
        dirty.engineLoad,
        dirty.jobs.engineLoad,
        dirty.rawLoad,
        dirty.jobs.rawLoad,
      ),
      '',
      ...runs(idle),
      ...runs(dirty),
      '',
      `Linked clone creation through the engine (call + task), ${CLONE_RUNS} runs each, goal < 50 ms`,
      ...cloneRows,
    );
  },
);
