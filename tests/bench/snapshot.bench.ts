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
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { vmFiles } from '../../electron/engine/paths';
import type { VmSummary } from '../../preload/contract';
import { guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

const RUNS = Number(process.env['SNAPSHOT_BENCH_RUNS'] ?? 7);
const CLONE_RUNS = Number(process.env['CLONE_BENCH_RUNS'] ?? 7);
const GOAL = 1.1;

type Json = Record<string, unknown>;

/** The baseline client: a socket, line splitting, JSON.parse, replies by id, events by predicate. */
class RawQmp {
  private buf = '';
  private nextId = 1;
  private readonly replies = new Map<number, (msg: Json) => void>();
  private readonly eventWaiters = new Set<(msg: Json) => boolean>();

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
          for (const w of [...this.eventWaiters]) if (w(msg)) this.eventWaiters.delete(w);
        } else if (msg['QMP']) {
          this.replies.get(0)?.(msg);
        }
      }
    });
  }

  static async connect(path: string): Promise<RawQmp> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path }, () => resolve(s));
      s.once('error', reject);
    });
    const raw = new RawQmp(socket);
    await new Promise<Json>((resolve) => raw.replies.set(0, resolve));
    await raw.execute('qmp_capabilities');
    return raw;
  }

  execute(command: string, args?: Json): Promise<Json> {
    const id = this.nextId++;
    const reply = new Promise<Json>((resolve) => this.replies.set(id, resolve));
    this.socket.write(
      JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }),
    );
    return reply;
  }

  /** A job command, awaited to 'concluded', its error read, then dismissed. */
  async job(command: string, args: Json & { 'job-id': string }): Promise<void> {
    const jobId = args['job-id'];
    const concluded = new Promise<void>((resolve) =>
      this.eventWaiters.add((e) => {
        const d = e['data'] as Json | undefined;
        if (
          e['event'] !== 'JOB_STATUS_CHANGE' ||
          d?.['id'] !== jobId ||
          d['status'] !== 'concluded'
        )
          return false;
        resolve();
        return true;
      }),
    );
    const r = await this.execute(command, args);
    if (r['error']) throw new Error(JSON.stringify(r['error']));
    await concluded;
    const jobs = (await this.execute('query-jobs'))['return'] as Json[];
    const error = jobs.find((j) => j['id'] === jobId)?.['error'];
    await this.execute('job-dismiss', { id: jobId });
    if (error) throw new Error(String(error));
  }

  close(): void {
    this.socket.destroy();
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
  const d = performance.now() - t0;
  console.log('TIMED', d.toFixed(1));
  return d;
}

let home: Awaited<ReturnType<typeof tempHome>> | undefined;
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
  samePid: boolean;
}

async function scenario(e: Engine, r: RawQmp, vm: VmSummary, label: string): Promise<Scenario> {
  const out: Scenario = {
    label,
    engineSave: [],
    rawSave: [],
    engineLoad: [],
    rawLoad: [],
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
  // Warm-up (not counted).
  await engineSave(`${label}-warm`);
  await rawSave(`${label}-warm`);
  await engineLoad(`${label}-warm`);
  await rawLoad(`${label}-warm`);
  for (let i = 0; i < RUNS; i++) {
    const eName = `${label}-e${i}`;
    const rTag = `${label}-r${i}`;
    const engineFirst = i % 2 === 0;
    if (engineFirst) {
      out.engineSave.push(await timed(() => engineSave(eName)));
      out.rawSave.push(await timed(() => rawSave(rTag)));
      out.engineLoad.push(await timed(() => engineLoad(eName)));
      out.rawLoad.push(await timed(() => rawLoad(rTag)));
    } else {
      out.rawSave.push(await timed(() => rawSave(rTag)));
      out.engineSave.push(await timed(() => engineSave(eName)));
      out.rawLoad.push(await timed(() => rawLoad(rTag)));
      out.engineLoad.push(await timed(() => engineLoad(eName)));
    }
    // Untimed clean-up, so the image does not grow by a memory image per run.
    await e.tasks.wait((await e.call('snapshot.delete', { vm: vm.id, snapshot: eName })).id);
    await r.job('snapshot-delete', { 'job-id': `raw-del-${rTag}`, tag: rTag, devices: ['disk0'] });
  }
  await e.tasks.wait(
    (await e.call('snapshot.delete', { vm: vm.id, snapshot: `${label}-warm` })).id,
  );
  await r.job('snapshot-delete', {
    'job-id': `raw-del-${label}-warm`,
    tag: `${label}-warm`,
    devices: ['disk0'],
  });
  const after = await e.call('vm.get', { vm: vm.id });
  out.samePid = after.runtime.pid === pid && after.runtime.state === 'running';
  return out;
}

function row(what: string, engineMs: number[], rawMs: number[]): string {
  const a = median(engineMs);
  const b = median(rawMs);
  const ratio = a / b;
  return (
    what.padEnd(26) +
    a.toFixed(1).padStart(10) +
    b.toFixed(1).padStart(10) +
    `${ratio.toFixed(3)}x`.padStart(9) +
    `  ${ratio <= GOAL ? 'met' : 'NOT met'}`
  );
}

it(
  `live snapshot save/revert: engine vs raw QMP (${RUNS} alternating runs), and linked clones`,
  { timeout: 900_000 },
  async () => {
    requireGuest();
    home = await tempHome('viv-snapbench-');
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

    const idle = await scenario(e, r, vm, 'idle');
    await con.run(
      'dd if=/dev/urandom of=/tmp/fill bs=1M count=160 2>/dev/null; echo FILLED',
      /FILLED\r?\n/,
      300_000,
    );
    const dirty = await scenario(e, r, vm, 'dirty');
    con.close();
    const sizes = await e.call('snapshot.list', { vm: vm.id });
    void sizes;
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
      `Live snapshots on the fixture guest (512 MiB RAM, TCG), ${RUNS} alternating runs, medians in ms`,
      `${''.padEnd(26)}${'engine'.padStart(10)}${'raw QMP'.padStart(10)}${'ratio'.padStart(9)}  goal <= ${GOAL}x`,
      row('save, idle', idle.engineSave, idle.rawSave),
      row('revert, idle', idle.engineLoad, idle.rawLoad),
      row('save, 160 MiB dirty RAM', dirty.engineSave, dirty.rawSave),
      row('revert, 160 MiB dirty RAM', dirty.engineLoad, dirty.rawLoad),
      `revert kept the same QEMU process (pid) and state running: ${idle.samePid && dirty.samePid ? 'yes' : 'NO'}`,
      '',
      `Linked clone creation through the engine (call + task), ${CLONE_RUNS} runs each, goal < 50 ms`,
      ...cloneRows,
    );
  },
);
