/**
 * Memory: the engine's own resident memory (the `vivarium serve` process, which attaches to and
 * watches every VM) with 10 idle VMs, beside a bare Node process and the same server with no VMs,
 * measured in this run. Goal: under 60 MiB with 10 VMs (libvirtd + virtlogd: 38 MiB).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';
import { printTable } from './stats';

const VMS = Number(process.env.MEMORY_BENCH_VMS ?? 10);
const CLI = join(import.meta.dirname, '..', '..', 'out', 'main', 'cli.js');

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;
const children: ChildProcess[] = [];

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Starts `vivarium serve` on this home and waits for its URL line and its first attach. */
async function serve(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: { ...process.env, VIVARIUM_HOME: home.dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('token=')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  await settle(3000);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

beforeAll(async () => {
  requireGuest();
  if (!existsSync(CLI)) throw new Error('out/main/cli.js is missing: run npm run build');
  home = await tempHome('viv-bench-mem-');
  engine = await openEngine({ home: home.dir, role: 'oneshot' });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const vm of await engine.call('vm.list', {})) {
    await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
  }
  await engine.close();
  await home.remove();
});

it(`keeps the engine small with ${VMS} idle VMs`, async () => {
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(bare);
  await settle(1000);
  const bareRss = rssMiB(bare.pid ?? 0);
  bare.kill();

  const empty = await serve();
  const emptyRss = rssMiB(empty.pid ?? 0);
  await stop(empty);

  for (let i = 0; i < VMS; i++) {
    const vm = await engine.call('vm.create', {
      name: `idle ${i}`,
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 128,
      cpus: 1,
      diskSize: '0',
    });
    await engine.call('vm.start', { vm: vm.id });
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  }
  const loaded = await serve();
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssMiB(loaded.pid ?? 0));
    await settle(1000);
  }
  const loadedRss = Math.max(...samples);
  await stop(loaded);

  printTable(
    `memory bench (resident set, MiB; max of 5 samples over 5 s with ${VMS} VMs attached)`,
    ['process', 'RSS MiB', 'goal'],
    [
      ['bare node (baseline)', bareRss, ''],
      ['vivarium serve, 0 VMs', emptyRss, ''],
      [`vivarium serve, ${VMS} idle VMs`, loadedRss, '< 60'],
      ['per VM', (loadedRss - emptyRss) / VMS, ''],
    ],
  );
  expect(samples).toHaveLength(5);
});
