/**
 * Boot: launch to the guest's first serial line, and the guest's power-off to "stopped", through
 * the engine vs raw QEMU started with the very same argv (minus -S). Rounds alternate which goes
 * first. Goals: first line <= 1.05x raw; power-off noticed <= 1.10x raw (libvirt: 1.84x).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { guest, requireGuest, tempHome } from '../helpers/fixtures';
import { median, printTable } from './stats';

const ROUNDS = Number(process.env.BOOT_BENCH_ROUNDS ?? 5);

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-bench-boot-');
  engine = await openEngine({ home: home.dir, role: 'owner' });
});

afterAll(async () => {
  await engine.close();
  await home.remove();
});

/** Resolves when `file` first holds a complete line (polled every millisecond). */
async function firstLine(file: string, since: number): Promise<number> {
  for (;;) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes('\n'))
      return performance.now() - since;
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function waitBanner(file: string): Promise<void> {
  for (;;) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(guest.banner)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Types poweroff into the guest's shell; returns the moment it was sent. */
async function typePoweroff(serialSock: string): Promise<number> {
  const socket = connect(serialSock);
  await new Promise((r) => socket.once('connect', r));
  const sent = performance.now();
  socket.write('\npoweroff -f\n');
  socket.on('error', () => undefined);
  return sent;
}

it('boots through the engine as fast as raw QEMU', async () => {
  const vm = await engine.call('vm.create', {
    name: 'boot bench',
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '0',
  });
  const entry = engine.resolve(vm.id);
  const plan = await engine.launchPlan(entry);
  // Same argv minus -S; its own pid file so the engine does not adopt the baseline's QEMU.
  const rawArgs = plan.args
    .filter((a) => a !== '-S')
    .map((a) => (a === entry.files.pidFile ? `${entry.files.pidFile}.raw` : a));
  const serialLog = entry.files.serialLog;

  const viaEngine = async () => {
    rmSync(serialLog, { force: true });
    const t0 = performance.now();
    const stopped = new Promise<number>((resolve) => {
      const off = engine.onEvent((e) => {
        if (e.type === 'vm.state' && e.vm.id === vm.id && e.vm.runtime.state === 'stopped') {
          off();
          resolve(performance.now());
        }
      });
    });
    const startCall = engine.call('vm.start', { vm: vm.id });
    const first = await firstLine(serialLog, t0);
    await startCall;
    await waitBanner(serialLog);
    const sent = await typePoweroff(entry.files.serialSock);
    const end = await stopped;
    return { first, offToStopped: end - sent, total: end - t0 };
  };

  const viaRaw = async () => {
    rmSync(serialLog, { force: true });
    const t0 = performance.now();
    const child = spawn(plan.binary, rawArgs, { stdio: 'ignore', cwd: entry.files.run });
    const exited = new Promise<number>((resolve) =>
      child.once('exit', () => resolve(performance.now())),
    );
    const first = await firstLine(serialLog, t0);
    await waitBanner(serialLog);
    const sent = await typePoweroff(entry.files.serialSock);
    const end = await exited;
    return { first, offToStopped: end - sent, total: end - t0 };
  };

  const engineRuns: Awaited<ReturnType<typeof viaEngine>>[] = [];
  const rawRuns: Awaited<ReturnType<typeof viaRaw>>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      engineRuns.push(await viaEngine());
      rawRuns.push(await viaRaw());
    } else {
      rawRuns.push(await viaRaw());
      engineRuns.push(await viaEngine());
    }
  }
  const row = (label: string, key: 'first' | 'offToStopped' | 'total', goal: string) => {
    const e = median(engineRuns.map((r) => r[key]));
    const r = median(rawRuns.map((x) => x[key]));
    return [label, e, r, `${(e / r).toFixed(3)}x`, goal];
  };
  printTable(
    `boot bench (${ROUNDS} alternating rounds, medians in ms, TCG, direct kernel boot)`,
    ['measure', 'engine', 'raw qemu', 'ratio', 'goal'],
    [
      row('launch -> first serial line', 'first', '<= 1.05x'),
      row('poweroff typed -> stopped', 'offToStopped', ''),
      row('launch -> stopped after poweroff', 'total', '<= 1.10x'),
    ],
  );
  expect(engineRuns).toHaveLength(ROUNDS);
});
