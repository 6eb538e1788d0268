/**
 * Ready: a fresh guest from the Debian cloud image, from Start to its sshd answering through the
 * SSH forward, through the engine (its own readiness watch decides) vs raw QEMU started with the
 * very same argv (minus -S) on an identical fresh overlay and seed, polled for the SSH banner
 * every 100 ms. Each round is a first boot (cloud-init does its whole work); rounds alternate
 * which goes first. Goal: engine <= 1.05x raw.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { sshBanner } from '../../electron/engine/ssh/probe';
import { debianImageMissingReason, requireDebianImage } from '../helpers/debian-image';
import { tempHome, waitFor } from '../helpers/fixtures';
import { median, printTable } from './stats';

const ROUNDS = Number(process.env.READY_BENCH_ROUNDS ?? 2);
const READY_MS = 600_000;

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;

beforeAll(async () => {
  const missing = debianImageMissingReason();
  if (missing) throw new Error(missing);
  home = await tempHome('viv-bench-ready-');
  engine = await openEngine({ home: home.dir, role: 'owner', guestInternet: false });
});

afterAll(async () => {
  const list = await engine.call('vm.list', {}).catch(() => []);
  for (const vm of list) await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
  await engine.close();
  await home.remove();
});

async function freshVm(round: number, who: string) {
  return engine.call('vm.create', {
    name: `ready ${who} ${round}`,
    memoryMiB: 512,
    cpus: 1,
    diskSize: '3G',
    cloud: { image: requireDebianImage().path, user: 'bench', sshKeys: [], diskMode: 'overlay' },
  });
}

it('gets a cloud guest ready through the engine as fast as raw QEMU', async () => {
  const viaEngine = async (round: number): Promise<number> => {
    const vm = await freshVm(round, 'engine');
    const t0 = performance.now();
    await engine.call('vm.start', { vm: vm.id });
    await waitFor(
      async () => (await engine.call('vm.get', { vm: vm.id })).guest?.ready,
      'the engine to see the guest ready',
      READY_MS,
    );
    const ms = performance.now() - t0;
    await engine.call('vm.powerOff', { vm: vm.id });
    await engine.call('vm.delete', { vm: vm.id, keepDisks: false });
    return ms;
  };

  const viaRaw = async (round: number): Promise<number> => {
    // A VM of the engine's own making gives the disk, the seed and the argv; QEMU runs it alone.
    const vm = await freshVm(round, 'raw');
    const entry = engine.resolve(vm.id);
    const plan = await engine.launchPlan(entry);
    const pidFile = `${entry.files.pidFile}.raw`;
    const args = plan.args
      .filter((a) => a !== '-S')
      .map((a) => (a === entry.files.pidFile ? pidFile : a));
    const nic = vm.config.nics[0];
    const forward = nic?.attach.kind === 'nat' ? nic.attach.forwards[0] : undefined;
    if (!forward) throw new Error('no SSH forward');
    // The engine makes the VM's runtime folder (sockets) when it starts a VM; here nobody does.
    await mkdir(entry.files.run, { recursive: true, mode: 0o700 });
    const t0 = performance.now();
    const child = spawn(plan.binary, args, { stdio: 'ignore', cwd: entry.files.run });
    let failed: Error | null = null;
    child.once('error', (err) => (failed = err));
    try {
      await waitFor(
        () => {
          if (failed) throw failed;
          return sshBanner('127.0.0.1', forward.hostPort, 1000).then((b) => b !== null);
        },
        'raw QEMU guest to answer over SSH',
        READY_MS,
      );
      return performance.now() - t0;
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      await rm(pidFile, { force: true });
      await engine.call('vm.delete', { vm: vm.id, keepDisks: false });
    }
  };

  const engineRuns: number[] = [];
  const rawRuns: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      engineRuns.push(await viaEngine(i));
      rawRuns.push(await viaRaw(i));
    } else {
      rawRuns.push(await viaRaw(i));
      engineRuns.push(await viaEngine(i));
    }
  }
  const e = median(engineRuns) / 1000;
  const r = median(rawRuns) / 1000;
  printTable(
    `ready bench (${ROUNDS} alternating rounds, medians in s, TCG, Debian ${requireDebianImage().facts.suite} cloud image, first boot)`,
    ['measure', 'engine', 'raw qemu', 'ratio', 'goal'],
    [['start -> SSH answers', e, r, `${(e / r).toFixed(3)}x`, '<= 1.05x']],
  );
  console.log(
    `runs (s): engine ${engineRuns.map((x) => (x / 1000).toFixed(1)).join(', ')}; raw ${rawRuns.map((x) => (x / 1000).toFixed(1)).join(', ')}`,
  );
  expect(engineRuns).toHaveLength(ROUNDS);
}, 3_600_000);
