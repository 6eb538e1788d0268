/**
 * QMP round trip: QmpClient.execute vs a bare node:net client, same QEMU, same run.
 * One QEMU (-S, TCG) with two QMP sockets (one client per socket). Rounds alternate which client
 * goes first. Figures are printed; the only assertions are that the runs completed.
 * Goal: engine median <= 1.2x raw median.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { connectWhenReady, type QmpClient } from '../../electron/engine/qmp/client';
import { RawQmp } from './raw-qmp';

const QEMU = process.env['VIVARIUM_QEMU'] ?? 'qemu-system-x86_64';
const ROUNDS = Number(process.env['QMP_BENCH_ROUNDS'] ?? 7);
const N = Number(process.env['QMP_BENCH_N'] ?? 1000);
const WARMUP = 300;
const GOAL = 1.2;

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function stats(samplesNs: number[]): Stats {
  const us = samplesNs.map((n) => n / 1000).sort((a, b) => a - b);
  return { median: percentile(us, 50), p99: percentile(us, 99) };
}

async function measure(n: number, roundTrip: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await roundTrip();
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return samples;
}

type Stats = { median: number; p99: number };

function pad(s: string, n: number): string {
  return s.padStart(n);
}

function row(label: string, x: Stats, y: Stats): string {
  return (
    label.padEnd(10) +
    pad(x.median.toFixed(1), 11) +
    pad(x.p99.toFixed(1), 9) +
    pad(y.median.toFixed(1), 10) +
    pad(y.p99.toFixed(1), 9) +
    pad((x.median / y.median).toFixed(3) + 'x', 8)
  );
}

let qemu: ChildProcess | undefined;
let dir: string | undefined;
let engine: QmpClient | undefined;
let raw: RawQmp | undefined;

afterAll(async () => {
  engine?.close();
  raw?.close();
  if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
    const exited = new Promise((r) => qemu?.once('exit', r));
    qemu.kill('SIGKILL');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it(
  `QMP round trip: QmpClient vs bare socket (${ROUNDS} rounds x ${N} query-status)`,
  { timeout: 600_000 },
  async () => {
    dir = mkdtempSync(join(tmpdir(), 'vqb-'));
    const sockA = join(dir, 'a.sock');
    const sockB = join(dir, 'b.sock');
    qemu = spawn(
      QEMU,
      [
        '-accel',
        'tcg',
        '-display',
        'none',
        '-nodefaults',
        '-S',
        '-m',
        '64',
        '-qmp',
        `unix:${sockA},server=on,wait=off`,
        '-qmp',
        `unix:${sockB},server=on,wait=off`,
      ],
      { stdio: 'ignore' },
    );
    engine = await connectWhenReady(sockA, { deadlineMs: 30_000 });
    raw = await RawQmp.connect(sockB);
    const e = engine;
    const r = raw;
    const viaEngine = (): Promise<unknown> => e.execute('query-status');
    const viaRaw = (): Promise<unknown> => r.execute('query-status');

    await measure(WARMUP, viaEngine);
    await measure(WARMUP, viaRaw);

    const all = { engine: [] as number[], raw: [] as number[] };
    const rows: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let es: number[];
      let rs: number[];
      if (round % 2 === 1) {
        es = await measure(N, viaEngine);
        rs = await measure(N, viaRaw);
      } else {
        rs = await measure(N, viaRaw);
        es = await measure(N, viaEngine);
      }
      expect(es).toHaveLength(N);
      expect(rs).toHaveLength(N);
      all.engine.push(...es);
      all.raw.push(...rs);
      const a = stats(es);
      const b = stats(rs);
      rows.push(row(`round ${round}`, a, b));
    }
    const a = stats(all.engine);
    const b = stats(all.raw);
    const header =
      `QMP query-status round trip, ${N} sequential per client per round (us)\n` +
      `${''.padEnd(10)}${pad('engine med', 11)}${pad('p99', 9)}${pad('raw med', 10)}${pad('p99', 9)}${pad('ratio', 8)}`;
    console.log(
      [
        header,
        ...rows,
        row('all', a, b),
        `goal: engine/raw median <= ${GOAL}x -> ${a.median / b.median <= GOAL ? 'met' : 'NOT met'}`,
      ].join('\n'),
    );
  },
);
