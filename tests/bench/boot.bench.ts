/**
 * Boot: launch to the guest's first serial line, and the guest's power-off to "stopped", through
 * the engine vs raw QEMU started with the very same argv (minus -S). Rounds alternate which goes
 * first. Goals: first line <= 1.05x raw; power-off noticed <= 1.10x raw (libvirt: 1.84x).
 * A row per guest architecture (emulated here): launch to first serial line and to the banner,
 * engine vs raw QEMU; and how much slower emulation is: the same busybox shell loop timed inside
 * each emulated guest and natively on the host.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { ARCH_LABELS } from '../../common/arch';
import { GuestConsole } from '../helpers/guest-console';
import {
  archGuestMissingReason,
  archGuests,
  guest,
  requireGuest,
  tempHome,
  type ArchGuest,
} from '../helpers/fixtures';
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

const ARCH_ROUNDS = Number(process.env.ARCH_BOOT_BENCH_ROUNDS ?? 3);
const OTHER_ARCHES = ['aarch64', 's390x', 'ppc64le', 'riscv64'] as const;
/** Iterations of the shell loop timed in each guest and on the host. */
const LOOP = 20_000;
const LOOP_CMD = `i=0; while [ $i -lt ${LOOP} ]; do i=$((i+1)); done`;

async function waitText(file: string, text: string): Promise<number> {
  for (;;) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(text)) return performance.now();
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Milliseconds the shell loop takes in the guest, timed by the guest's own clock. */
async function guestLoopMs(con: GuestConsole): Promise<number> {
  const m = await con.run(
    `a=$(cat /proc/uptime); ${LOOP_CMD}; b=$(cat /proc/uptime); echo "LOOPTIME $a $b"`,
    /LOOPTIME (\d+\.\d+) \S+ (\d+\.\d+)/,
    300_000,
  );
  return (Number(m[2]) - Number(m[1])) * 1000;
}

function hostLoopMs(): number {
  const t0 = performance.now();
  execFileSync('/bin/busybox', ['sh', '-c', LOOP_CMD]);
  return performance.now() - t0;
}

it('boots guests of other architectures through the engine as fast as raw QEMU', async () => {
  const rows: (string | number)[][] = [];
  const slow: (string | number)[][] = [];
  const hostMs = median([hostLoopMs(), hostLoopMs(), hostLoopMs()]);
  for (const arch of OTHER_ARCHES) {
    const why = archGuestMissingReason(arch);
    if (why) throw new Error(why);
    const g: ArchGuest = archGuests[arch];
    const vm = await engine.call('vm.create', {
      name: `boot bench ${arch}`,
      arch,
      kernel: g.kernel,
      ...(g.initrd ? { initrd: g.initrd } : {}),
      append: g.append,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '0',
      ...(arch === 'aarch64' ? { firmware: 'bios' as const } : {}),
    });
    const entry = engine.resolve(vm.id);
    const plan = await engine.launchPlan(entry);
    const rawArgs = plan.args
      .filter((a) => a !== '-S')
      .map((a) => (a === entry.files.pidFile ? `${entry.files.pidFile}.raw` : a));
    const serialLog = entry.files.serialLog;

    const viaEngine = async () => {
      rmSync(serialLog, { force: true });
      const t0 = performance.now();
      const startCall = engine.call('vm.start', { vm: vm.id });
      const first = await firstLine(serialLog, t0);
      await startCall;
      const banner = (await waitText(serialLog, g.banner)) - t0;
      await engine.call('vm.powerOff', { vm: vm.id });
      return { first, banner };
    };
    const viaRaw = async () => {
      rmSync(serialLog, { force: true });
      const t0 = performance.now();
      const child = spawn(plan.binary, rawArgs, { stdio: 'ignore', cwd: entry.files.run });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const first = await firstLine(serialLog, t0);
      const banner = (await waitText(serialLog, g.banner)) - t0;
      child.kill('SIGTERM');
      await exited;
      return { first, banner };
    };
    const e: { first: number; banner: number }[] = [];
    const r: { first: number; banner: number }[] = [];
    for (let i = 0; i < ARCH_ROUNDS; i++) {
      if (i % 2 === 0) {
        e.push(await viaEngine());
        r.push(await viaRaw());
      } else {
        r.push(await viaRaw());
        e.push(await viaEngine());
      }
    }
    for (const key of ['first', 'banner'] as const) {
      const em = median(e.map((x) => x[key]));
      const rm = median(r.map((x) => x[key]));
      rows.push([
        `${arch}: launch -> ${key === 'first' ? 'first serial line' : 'banner'}`,
        em,
        rm,
        `${(em / rm).toFixed(3)}x`,
        key === 'first' ? '<= 1.05x' : '',
      ]);
    }
    // The loop needs a shell: riscv64's guest is U-Boot alone.
    if (arch !== 'riscv64') {
      await engine.call('vm.start', { vm: vm.id });
      await waitText(serialLog, g.banner);
      const con = await GuestConsole.open(engine, vm.id);
      try {
        await con.run('', /guest# /);
        const guestMs = median([await guestLoopMs(con), await guestLoopMs(con)]);
        slow.push([ARCH_LABELS[arch], guestMs, hostMs, `${(guestMs / hostMs).toFixed(1)}x`]);
      } finally {
        con.close();
        await engine.call('vm.powerOff', { vm: vm.id });
      }
    }
  }
  printTable(
    `boot bench per guest architecture (${ARCH_ROUNDS} alternating rounds, medians in ms, TCG, direct kernel boot, 1 vCPU)`,
    ['measure', 'engine', 'raw qemu', 'ratio', 'goal'],
    rows,
  );
  printTable(
    `emulation slowdown: a ${LOOP}-iteration busybox shell loop in the guest (its own clock) vs on this host`,
    ['guest', 'guest ms', 'host ms', 'slower'],
    slow,
  );
  expect(rows).toHaveLength(OTHER_ARCHES.length * 2);
});
