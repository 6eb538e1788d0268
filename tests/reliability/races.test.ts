/**
 * Two processes at once on the same VM, as two terminals would do it: each race is run 20 times
 * with two (or three) `vivarium` CLI processes started together on one VIVARIUM_HOME, and the
 * library is read back from disk after each trial. No change may be lost, names stay unique, and
 * a VM never gets two QEMUs. Each test prints its trial count and what it saw.
 *
 * The races that only edit files need no QEMU; start/start boots the fixture guest (direct kernel
 * boot, a few hundred ms under TCG) and pulls the plug after each trial.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { guest, guestMissingReason, tempHome } from '../helpers/fixtures';

const TRIALS = 20;
const HAVE_QEMU = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const GUEST_MISSING = guestMissingReason();
if (!HAVE_QEMU || GUEST_MISSING) {
  console.warn(
    `tests/reliability/races.test.ts skipped: ${GUEST_MISSING ?? 'qemu-system-x86_64 is not installed'}`,
  );
}

interface StoredVm {
  id: string;
  name: string;
  memoryMiB: number;
  cpu: { count: number };
}

interface VmJson {
  id: string;
  name: string;
  state: string;
  pid: number | null;
}

let home: Awaited<ReturnType<typeof tempHome>> | undefined;

function homeDir(): string {
  if (!home) throw new Error('no test home');
  return home.dir;
}

function env(): NodeJS.ProcessEnv {
  return { VIVARIUM_HOME: homeDir() };
}

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, env(), 90_000);
}

/** Runs the commands at the same moment, each in its own process. */
function together(...commands: string[][]): Promise<CliResult[]> {
  return Promise.all(commands.map((args) => cli(args)));
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`vivarium ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function okJson<T = VmJson>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '--json'])) as T;
}

/** Every vm.json in the library, read from disk (what the next process will see). */
function storedVms(): StoredVm[] {
  const dir = join(homeDir(), 'vms');
  const out: StoredVm[] = [];
  for (const id of readdirSync(dir)) {
    try {
      out.push(JSON.parse(readFileSync(join(dir, id, 'vm.json'), 'utf8')) as StoredVm);
    } catch {
      // Not a VM folder (a lock, a folder without a config).
    }
  }
  return out;
}

function stored(id: string): StoredVm {
  const vm = storedVms().find((v) => v.id === id);
  if (!vm) throw new Error(`VM ${id} is gone from the library`);
  return vm;
}

function snapshotNames(vmId: string): Map<string, string> {
  const index = JSON.parse(
    readFileSync(join(homeDir(), 'vms', vmId, 'snapshots.json'), 'utf8'),
  ) as {
    snapshots: Array<{ id: string; name: string }>;
  };
  return new Map(index.snapshots.map((s) => [s.id, s.name]));
}

/** Pids of the processes whose name is this VM's QEMU (`-name process=qemu-<id>`, cut to 15). */
function qemuPids(vmId: string): number[] {
  const comm = `qemu-${vmId}`.slice(0, 15);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // Ended meanwhile.
    }
  }
  return pids;
}

function outcome(r: CliResult): string {
  return r.code === 0 ? 'ok' : `exit ${r.code}: ${r.stderr.trim()}`;
}

/** `ok` with what the command said ("st started: running", "st is already running: ..."). */
function said(r: CliResult): string {
  return r.code === 0 ? `ok "${r.stdout.trim().split('\n')[0]?.split(':')[0] ?? ''}"` : outcome(r);
}

function report(race: string, lines: string[], bad: number): void {
  console.log(`${race}: ${TRIALS} trials, ${bad} bad\n  ${lines.join('\n  ')}`);
}

describe.skipIf(!HAVE_QEMU || Boolean(GUEST_MISSING))('two processes at once', () => {
  const kernelVm = ['--kernel', guest.kernel, '--initrd', guest.initrd, '--disk', '0'];

  beforeAll(async () => {
    requireBuiltCli();
    home = await tempHome('viv-races-');
  });

  afterAll(async () => {
    if (!home) return;
    // Whatever a failed trial left running goes with the home.
    for (const vm of storedVms()) {
      for (const pid of qemuPids(vm.id)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    await home.remove();
  });

  it('set --memory and set --cpus at once: both changes are kept', async () => {
    const vm = await okJson(['create', 'c1', ...kernelVm, '--memory', '128', '--cpus', '1']);
    const lines: string[] = [];
    let lost = 0;
    for (let i = 0; i < TRIALS; i++) {
      const memory = 200 + i;
      const cpus = i % 2 === 0 ? 2 : 1;
      const [a, b] = await together(
        ['set', 'c1', '--memory', String(memory)],
        ['set', 'c1', '--cpus', String(cpus)],
      );
      const now = stored(vm.id);
      const kept = now.memoryMiB === memory && now.cpu.count === cpus;
      if (!kept || a!.code !== 0 || b!.code !== 0) lost++;
      lines.push(
        `#${i + 1} memory ${outcome(a!)}, cpus ${outcome(b!)}: stored ${now.memoryMiB} MiB / ` +
          `${now.cpu.count} CPU (wanted ${memory} / ${cpus})${kept ? '' : ' LOST'}`,
      );
    }
    report('set/set', lines, lost);
    expect(lost).toBe(0);
  }, 300_000);

  it('create with the same name at once: one VM, and a clear error for the other', async () => {
    const lines: string[] = [];
    let bad = 0;
    for (let i = 0; i < TRIALS; i++) {
      const name = `dup-${i}`;
      const results = await together(
        ['create', name, ...kernelVm, '--memory', '128'],
        ['create', name, ...kernelVm, '--memory', '128'],
      );
      const count = storedVms().filter((v) => v.name.toLowerCase() === name).length;
      const failed = results.filter((r) => r.code !== 0);
      const clear = failed.every((r) => /already exists/.test(r.stderr));
      if (count !== 1 || failed.length !== 1 || !clear) bad++;
      lines.push(`#${i + 1} ${results.map(outcome).join(' | ')} -> ${count} VM(s) named ${name}`);
    }
    report('create/create', lines, bad);
    expect(bad).toBe(0);
  }, 300_000);

  it('two renames and a memory change at once: one name wins, nothing else is lost', async () => {
    const vm = await okJson(['create', 'rn', ...kernelVm, '--memory', '128']);
    const lines: string[] = [];
    let bad = 0;
    for (let i = 0; i < TRIALS; i++) {
      const [a, b] = [`rn-a${i}`, `rn-b${i}`];
      const memory = 300 + i;
      const results = await together(
        ['set', vm.id, '--name', a],
        ['set', vm.id, '--name', b],
        ['set', vm.id, '--memory', String(memory)],
      );
      const now = stored(vm.id);
      const copies = storedVms().filter((v) => v.id === vm.id).length;
      const good =
        results.every((r) => r.code === 0) &&
        (now.name === a || now.name === b) &&
        now.memoryMiB === memory &&
        copies === 1;
      if (!good) bad++;
      lines.push(
        `#${i + 1} ${results.map(outcome).join(' | ')} -> "${now.name}", ${now.memoryMiB} MiB` +
          (good ? '' : ' BAD'),
      );
    }
    report('rename/rename', lines, bad);
    expect(bad).toBe(0);
  }, 300_000);

  it('two VMs renamed to the same name at once: one is, the other fails', async () => {
    const lines: string[] = [];
    let bad = 0;
    for (let i = 0; i < TRIALS; i++) {
      const [p, q] = await Promise.all([
        okJson(['create', `p-${i}`, ...kernelVm, '--memory', '128']),
        okJson(['create', `q-${i}`, ...kernelVm, '--memory', '128']),
      ]);
      const same = `same-${i}`;
      const results = await together(['set', p.id, '--name', same], ['set', q.id, '--name', same]);
      const count = storedVms().filter((v) => v.name.toLowerCase() === same).length;
      const failed = results.filter((r) => r.code !== 0);
      const clear = failed.every((r) => /already exists/.test(r.stderr));
      if (count !== 1 || failed.length !== 1 || !clear) bad++;
      lines.push(`#${i + 1} ${results.map(outcome).join(' | ')} -> ${count} VM(s) named ${same}`);
    }
    report('rename/rename to one name', lines, bad);
    expect(bad).toBe(0);
  }, 300_000);

  it('two snapshots renamed at once: both names are kept', async () => {
    // A disk to take the (disk-only, VM off) snapshots of.
    const withDisk = ['--kernel', guest.kernel, '--disk', '16M', '--memory', '128'];
    const vm = await okJson(['create', 'sn', ...withDisk]);
    const s1 = await okJson<{ id: string }>(['snapshot', 'create', 'sn', 'one']);
    const s2 = await okJson<{ id: string }>(['snapshot', 'create', 'sn', 'two']);
    const lines: string[] = [];
    let lost = 0;
    for (let i = 0; i < TRIALS; i++) {
      const [a, b] = [`one-${i}`, `two-${i}`];
      const results = await together(
        ['snapshot', 'update', 'sn', s1.id, '--name', a],
        ['snapshot', 'update', 'sn', s2.id, '--name', b],
      );
      const names = snapshotNames(vm.id);
      const kept = names.get(s1.id) === a && names.get(s2.id) === b;
      if (!kept || results.some((r) => r.code !== 0)) lost++;
      lines.push(
        `#${i + 1} ${results.map(outcome).join(' | ')} -> "${names.get(s1.id)}", "${names.get(s2.id)}"` +
          (kept ? '' : ' LOST'),
      );
    }
    report('snapshot rename/rename', lines, lost);
    expect(lost).toBe(0);
  }, 300_000);

  it('start and start at once: one QEMU, the VM runs, both starts report it running', async () => {
    const vm = await okJson([
      'create',
      'st',
      ...kernelVm,
      '--append',
      guest.append,
      '--memory',
      '128',
      '--cpus',
      '1',
    ]);
    const lines: string[] = [];
    let bad = 0;
    for (let i = 0; i < TRIALS; i++) {
      const results = await together(['start', 'st'], ['start', 'st']);
      const pids = qemuPids(vm.id);
      const state = (await okJson(['status', 'st'])).state;
      const good = pids.length === 1 && state === 'running' && results.every((r) => r.code === 0);
      if (!good) bad++;
      lines.push(
        `#${i + 1} ${results.map(said).join(' | ')} -> ${pids.length} QEMU(s), ${state}` +
          (good ? '' : ' BAD'),
      );
      await cli(['stop', 'st', '--force']);
      // A QEMU the library lost track of is not stopped by `stop`: end it, so the next trial
      // starts from nothing (and count it above as the failure it is).
      for (const pid of qemuPids(vm.id)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      for (let wait = 0; wait < 100 && qemuPids(vm.id).length > 0; wait++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    report('start/start', lines, bad);
    expect(bad).toBe(0);

    // Whoever started it, a VM with a live QEMU is not deleted from under its guest.
    await together(['start', 'st'], ['start', 'st']);
    const refused = await cli(['delete', 'st']);
    console.log(`delete while running: ${outcome(refused)}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/shut it down before deleting it/);
    expect(stored(vm.id).name).toBe('st');
    expect(qemuPids(vm.id)).toHaveLength(1);
    await ok(['stop', 'st', '--force']);
  }, 300_000);
});
