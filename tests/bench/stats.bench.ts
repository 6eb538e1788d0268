/**
 * Statistics: what the engine's one sampler costs with 10 idle VMs running, in CPU
 * (process.cpuUsage of the engine's process) and memory (heap after a full GC, and the history
 * rings), beside the same engine with sampling off, measured in this run. Three windows of the
 * same length: off; history only (what the app does when no view is open); subscribed (the live
 * samples with PSS and host figures, and each event serialised as a front door would).
 * Goal: under 1% of one core and under 2 MiB of history per VM.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';
import { printTable } from './stats';

const VMS = Number(process.env.STATS_BENCH_VMS ?? 10);
const WINDOW_S = Number(process.env.STATS_BENCH_SECONDS ?? 60);
const MiB = 1024 * 1024;

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-bench-stats-');
  engine = await openEngine({ home: home.dir, role: 'owner', statsHistory: false });
});

afterAll(async () => {
  for (const vm of await engine.call('vm.list', {})) {
    await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
  }
  await engine.close();
  await home.remove();
});

interface Window {
  cpuMs: number;
  heapMiB: number;
  events: number;
  /** Average size of one event as JSON (what a front door sends). */
  eventKiB: number;
}

/** The engine's CPU over one window, and its heap after a full GC at the end. */
async function measure(): Promise<Window> {
  let events = 0;
  let bytes = 0;
  const off = engine.onEvent((e) => {
    if (e.type !== 'stats.sample') return;
    events++;
    bytes += JSON.stringify(e).length;
  });
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const used = process.cpuUsage(before);
  off();
  gc();
  return {
    cpuMs: (used.user + used.system) / 1000,
    heapMiB: process.memoryUsage().heapUsed / MiB,
    events,
    eventKiB: events ? bytes / events / 1024 : 0,
  };
}

it(`costs under 1% of a core and 2 MiB per VM to sample ${VMS} VMs every 2 s`, async () => {
  const vms = [];
  for (let i = 0; i < VMS; i++) {
    vms.push(
      await engine.call('vm.create', {
        name: `idle ${i}`,
        kernel: guest.kernel,
        initrd: guest.initrd,
        append: guest.append,
        memoryMiB: 96,
        cpus: 1,
        diskSize: '0',
      }),
    );
  }
  for (const vm of vms) await engine.call('vm.start', { vm: vm.id });
  for (const vm of vms)
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, 600_000);
  // Let the boots' last work settle.
  await new Promise((r) => setTimeout(r, 5000));

  gc();
  const off = await measure();

  engine.stats.setHistory(true);
  const history = await measure();
  const ringBytes = engine.stats.historyBytes;

  const { subscription, leaseMs } = await engine.call('stats.subscribe', {});
  // A view renews its lease as the front doors do.
  const renew = setInterval(() => {
    void engine.call('stats.subscribe', { subscription });
  }, leaseMs / 3);
  const watched = await measure();
  clearInterval(renew);
  await engine.call('stats.unsubscribe', { subscription });
  engine.stats.setHistory(false);

  const core = (w: Window) => (w.cpuMs / (WINDOW_S * 1000)) * 100;
  printTable(
    `Statistics sampler, ${VMS} idle VMs, ${WINDOW_S} s windows (CPU: % of one core)`,
    ['engine', 'CPU ms', 'CPU %', 'extra CPU %', 'heap MiB', 'events', 'KiB/event'],
    [
      ['sampling off (baseline)', off.cpuMs, core(off), 0, off.heapMiB, off.events, off.eventKiB],
      [
        'history only',
        history.cpuMs,
        core(history),
        core(history) - core(off),
        history.heapMiB,
        history.events,
        history.eventKiB,
      ],
      [
        'subscribed',
        watched.cpuMs,
        core(watched),
        core(watched) - core(off),
        watched.heapMiB,
        watched.events,
        watched.eventKiB,
      ],
    ],
  );
  console.log(
    `history rings: ${(ringBytes / 1024).toFixed(1)} KiB for ${VMS} VMs = ${(ringBytes / VMS / 1024).toFixed(1)} KiB per VM (an hour at 2 s)`,
  );
  expect(history.events).toBe(0);
  // One event per tick while subscribed (a tick or two lost to a slow start at most).
  expect(watched.events).toBeGreaterThanOrEqual(WINDOW_S / 2 - 2);
  expect(ringBytes).toBeGreaterThan(0);
});
