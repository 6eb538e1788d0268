/**
 * Live migration between two Vivarium instances over 127.0.0.1, on real QEMU (TCG): the source
 * is an engine in this process; the destination is another engine behind its own server (the
 * token-guarded RPC a source reaches), or a `vivarium serve` process for the kill -9 case.
 * The fixture guest counts on its serial console and has a marker on its disk.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  MigrationProgress,
  MigrationResult,
  TaskInfo,
  VmSummary,
} from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { startServer } from '../../electron/server';
import { CLI, requireBuiltCli, ROOT, runCli } from '../helpers/cli';
import { errorOf, guest, requireGuest, waitFor, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

let root: string;
let source: Engine;
let dest: Engine;
let destUrl: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  requireGuest();
  root = await mkdtemp(join(tmpdir(), 'vivarium-mig-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const staticDir = join(root, 'static');
  await mkdir(staticDir, { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Vivarium</title>');
  source = await openEngine({ home: join(root, 'src'), role: 'owner' });
  dest = await openEngine({ home: join(root, 'dst'), role: 'owner' });
  const server = await startServer({ engine: dest, port: 0, staticDir });
  destUrl = server.url;
  cleanups.push(async () => {
    for (const e of [source, dest]) {
      for (const vm of await e.call('vm.list', {}).catch(() => [])) {
        await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
      }
    }
    await server.close();
    await source.close();
    await dest.close();
  });
});

afterAll(async () => {
  for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
});

async function countingGuest(
  engine: Engine,
  name: string,
): Promise<{ vm: VmSummary; con: GuestConsole }> {
  const vm = await engine.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '64M',
    network: 'none',
  });
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  const con = await GuestConsole.open(engine, vm.id);
  await con.diskWrite(`MIG-${name}`);
  // Counts in the background, so the count goes on whatever the console is doing.
  await con.run(
    'i=0; while true; do echo "COUNT:$i"; i=$((i+1)); sleep 0.2; done &',
    /COUNT:3\r?\n/,
  );
  return { vm, con };
}

function lastCount(text: string): number {
  const all = [...text.matchAll(/COUNT:(\d+)/g)];
  return all.length ? Number(all[all.length - 1]?.[1]) : -1;
}

function serialLog(vm: VmSummary): string {
  return readFileSync(join(vm.dir, 'logs', 'serial.log'), 'utf8');
}

function qemuImgCheck(file: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync('qemu-img', ['check', file], { encoding: 'utf8' }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

/** Waits for the task to end; returns its last info. */
async function settle(engine: Engine, task: TaskInfo): Promise<TaskInfo> {
  await engine.tasks.wait(task.id).catch(() => undefined);
  return engine.tasks.get(task.id);
}

/** Calls `act` once the task reports `phase` (progress detail), then lets it run on. */
function onPhase(engine: Engine, phase: MigrationProgress['phase'], act: () => void): () => void {
  let fired = false;
  return engine.onEvent((event) => {
    if (fired || event.type !== 'task' || event.task.kind !== 'migration.start') return;
    const detail = event.task.detail as MigrationProgress | undefined;
    if (detail?.phase === phase) {
      fired = true;
      act();
    }
  });
}

describe('live migration between two engines', () => {
  it('moves a counting guest while it runs: it keeps counting there, its disk marker is there, the source no longer runs it', async () => {
    const { vm, con } = await countingGuest(source, 'counter');
    const check = await source.call('migration.check', { vm: vm.id, to: destUrl });
    expect(check.reasons).toEqual([]);
    expect(check.ok).toBe(true);

    const phases = new Set<string>();
    const off = source.onEvent((event) => {
      if (event.type !== 'task' || event.task.kind !== 'migration.start') return;
      const detail = event.task.detail as MigrationProgress | undefined;
      if (detail) phases.add(detail.phase);
    });
    const task = await source.call('migration.start', { vm: vm.id, to: destUrl });
    const result = (await source.tasks.wait(task.id)) as MigrationResult;
    off();
    con.close();
    const beforeMove = lastCount(serialLog(vm));
    expect(beforeMove).toBeGreaterThan(3);
    expect([...phases]).toEqual(expect.arrayContaining(['disks', 'memory', 'switchover']));
    expect(result.downtimeMs).toBeGreaterThanOrEqual(0);
    expect(result.totalMs).toBeGreaterThan(result.downtimeMs);
    expect(result.transferredBytes).toBeGreaterThan(0);

    // The source: gone from the library, its QEMU ended, its folder kept (not deleted).
    expect((await source.call('vm.list', {})).map((v) => v.id)).not.toContain(vm.id);
    expect(existsSync(join(vm.dir, 'kept-disks.json'))).toBe(true);
    expect(existsSync(join(vm.dir, 'disk0.qcow2'))).toBe(true);
    if (vm.runtime.pid) expect(() => process.kill(vm.runtime.pid ?? 0, 0)).toThrow();

    // The destination: running, counting on from where it was, no second boot.
    const moved = await dest.call('vm.get', { vm: result.vmId });
    expect(moved.name).toBe('counter');
    expect(moved.runtime.state).toBe('running');
    const there = await GuestConsole.open(dest, moved.id);
    await waitFor(
      () => lastCount(serialLog(moved)) > beforeMove + 2,
      'the count to go on on the destination',
      30_000,
    );
    const firstThere = Number(/COUNT:(\d+)/.exec(serialLog(moved))?.[1]);
    expect(firstThere).toBeGreaterThan(3);
    expect(firstThere).toBeLessThanOrEqual(beforeMove + 5);
    expect(serialLog(moved)).not.toContain(guest.banner);
    expect(await there.diskRead()).toBe('MIG-counter');
    there.close();
    await dest.call('vm.powerOff', { vm: moved.id });
  }, 240_000);

  it('refuses a name taken on the destination and offers a free one', async () => {
    const { vm, con } = await countingGuest(source, 'clash');
    con.close();
    await dest.call('vm.create', {
      name: 'clash',
      kernel: guest.kernel,
      network: 'none',
      memoryMiB: 128,
    });
    const check = await source.call('migration.check', { vm: vm.id, to: destUrl });
    expect(check.ok).toBe(false);
    expect(check.suggestedName).toBe('clash (2)');
    expect(check.reasons.join(' ')).toMatch(/already exists on the destination/);
    const err = await errorOf(source.call('migration.start', { vm: vm.id, to: destUrl }));
    expect(err.code).toBe('NAME_TAKEN');
    // Under the offered name it goes.
    const renamed = await source.call('migration.check', {
      vm: vm.id,
      to: destUrl,
      name: 'clash (2)',
    });
    expect(renamed.reasons).toEqual([]);
    await source.call('vm.powerOff', { vm: vm.id });
  }, 120_000);

  it('refuses a VM with a migration blocker, naming the device', async () => {
    const vm = await source.call('vm.create', {
      name: 'blocked',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 128,
      network: 'none',
    });
    await source.call('vm.update', {
      vm: vm.id,
      patch: { extraArgs: ['-chardev', 'qemu-vdagent,id=vdagent0,clipboard=on'] },
    });
    await source.call('vm.start', { vm: vm.id });
    const check = await source.call('migration.check', { vm: vm.id, to: destUrl });
    expect(check.ok).toBe(false);
    expect(check.reasons.join(' ')).toMatch(/clipboard/i);
    await source.call('vm.powerOff', { vm: vm.id });
    const off = await source.call('migration.check', { vm: vm.id, to: destUrl });
    expect(off.reasons.join(' ')).toMatch(/start it first/);
  }, 120_000);

  it('refuses when a shared folder or a USB drive image is not on the destination', async () => {
    const vm = await source.call('vm.create', {
      name: 'with files',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 128,
      network: 'none',
    });
    const folder = join(root, 'shared-here-only');
    const stick = join(root, 'stick-here-only.img');
    await mkdir(folder);
    await writeFile(stick, Buffer.alloc(1024 * 1024));
    await source.call('share.add', { vm: vm.id, path: folder, tag: 'work' });
    await source.call('vm.start', { vm: vm.id });
    await source.call('usb.attach', { vm: vm.id, device: { kind: 'drive', file: stick } });
    // Both hosts share this disk: the running QEMU holds them open, the destination finds neither.
    await rm(folder, { recursive: true });
    await rm(stick);
    const check = await source.call('migration.check', { vm: vm.id, to: destUrl });
    expect(check.ok).toBe(false);
    const said = check.reasons.join(' ');
    expect(said).toContain(`The shared folder ${folder} ("work") is not on the destination`);
    expect(said).toContain(`The USB drive image ${stick} is not on the destination`);
    await source.call('vm.powerOff', { vm: vm.id });
  }, 120_000);

  it('a cancel leaves the source running untouched and the destination without the VM', async () => {
    const { vm, con } = await countingGuest(source, 'cancelled');
    let task: TaskInfo | null = null;
    const off = onPhase(source, 'memory', () => {
      if (task) source.tasks.cancel(task.id);
    });
    task = await source.call('migration.start', { vm: vm.id, to: destUrl });
    const done = await settle(source, task);
    off();
    expect(done.state).toBe('cancelled');
    const after = await source.call('vm.get', { vm: vm.id });
    expect(after.runtime.state).toBe('running');
    const before = lastCount(serialLog(vm));
    await waitFor(() => lastCount(serialLog(vm)) > before + 2, 'the count to go on', 30_000);
    expect(await con.diskRead()).toBe('MIG-cancelled');
    con.close();
    await waitFor(
      async () => !(await dest.call('vm.list', {})).some((v) => v.name === 'cancelled'),
      'the destination to remove its half-made VM',
      30_000,
    );
    await source.call('vm.powerOff', { vm: vm.id });
    expect(qemuImgCheck(join(vm.dir, 'disk0.qcow2')).code).toBe(0);
  }, 240_000);
});

describe('a source whose migrating process dies', () => {
  it('kill -9 of `vivarium migrate` mid-way: the guest runs on, what it left is cleared, and a new migration succeeds', async () => {
    requireBuiltCli();
    const { vm, con } = await countingGuest(source, 'abandoned');
    // A guest rewriting memory faster than the 10 ms limit allows: the memory phase lasts until
    // the process that would widen the limit is gone, and the destination gives up on its lease.
    const dirty = await con.run(
      'dd if=/dev/urandom of=/tmp/r bs=1M count=32 2>/dev/null; (while true; do cp /tmp/r /tmp/dirty; done) & echo "DIRTY:$!"',
      /DIRTY:(\d+)\r?\n/,
    );
    const dirtyPid = dirty[1];
    const cli = spawn(process.execPath, [CLI, 'migrate', 'abandoned', '--to', destUrl, '--json'], {
      cwd: ROOT,
      env: { ...process.env, VIVARIUM_HOME: join(root, 'src'), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let progress = '';
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (progress += d));
    const exited = new Promise((r) => cli.once('exit', r));
    await waitFor(() => progress.includes('"phase":"memory"'), 'the memory phase', 120_000);
    cli.kill('SIGKILL');
    await exited;

    // The destination lets the lease of a source that went quiet run out and drops its VM.
    await waitFor(
      async () => !(await dest.call('vm.list', {})).some((v) => v.name === 'abandoned'),
      'the destination to drop the VM its source abandoned',
      90_000,
    );
    // Killed at the switch-over, the guest was left paused for a migrate-continue that would
    // never come: the owning engine cancels that migration and QEMU runs the guest again.
    await waitFor(
      async () => (await source.call('vm.get', { vm: vm.id })).runtime.state === 'running',
      'the guest to run again',
      30_000,
    );
    const before = lastCount(serialLog(vm));
    await waitFor(() => lastCount(serialLog(vm)) > before + 2, 'the count to go on', 30_000);
    const sup = source.resolve(vm.id).supervisor;

    if (dirtyPid) await con.run(`kill ${dirtyPid}; echo "STILL:$((1+1))"`, /STILL:2\r?\n/);
    const check = await source.call('migration.check', { vm: vm.id, to: destUrl });
    expect(check.reasons).toEqual([]);
    // The dead process's disk mirror (which waits READY forever on an idle disk), its NBD node
    // and its TLS credentials are gone.
    expect(await sup.command('query-block-jobs')).toEqual([]);
    const nodes = await sup.command<Array<{ 'node-name': string }>>('query-named-block-nodes', {
      flat: true,
    });
    expect(nodes.filter((n) => n['node-name'].startsWith('mig-'))).toEqual([]);
    const objects = await sup.command<Array<{ name: string }>>('qom-list', { path: '/objects' });
    expect(objects.filter((o) => o.name.startsWith('mig-tls-'))).toEqual([]);
    con.close();

    const task = await source.call('migration.start', { vm: vm.id, to: destUrl });
    const done = await settle(source, task);
    expect(done.error?.message ?? null).toBeNull();
    expect(done.state).toBe('succeeded');
    const moved = (await dest.call('vm.list', {})).find((v) => v.name === 'abandoned');
    expect(moved?.runtime.state).toBe('running');
    const there = await GuestConsole.open(dest, moved?.id ?? '');
    try {
      expect(await there.diskRead()).toBe('MIG-abandoned');
    } finally {
      there.close();
    }
    await dest.call('vm.powerOff', { vm: moved?.id ?? '' });
  }, 300_000);
});

describe('a `vivarium serve` destination', () => {
  let serve: ChildProcess | null = null;
  let home: string;
  let url: string;

  beforeAll(async () => {
    requireBuiltCli();
    home = join(root, 'served');
    serve = spawn(process.execPath, [CLI, 'serve', '--json'], {
      cwd: ROOT,
      env: { ...process.env, VIVARIUM_HOME: home, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    serve.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitFor(() => out.includes('"url"'), 'vivarium serve to print its URL', 30_000);
    url = (JSON.parse(out.trim().split('\n')[0] ?? '{}') as { url: string }).url;
  });

  afterAll(() => {
    for (const pid of qemuPidsUnder(home)) process.kill(pid, 'SIGKILL');
    if (serve && serve.exitCode === null) serve.kill('SIGKILL');
  });

  it('vivarium migrate --json moves a VM there and prints the downtime and total time', async () => {
    const { con } = await countingGuest(source, 'by-cli');
    con.close();
    const r = await runCli(
      ['migrate', 'by-cli', '--to', url, '--json'],
      { VIVARIUM_HOME: join(root, 'src') },
      120_000,
    );
    expect(r.stderr).toMatch(/"phase":"memory"/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as MigrationResult;
    expect(out.name).toBe('by-cli');
    expect(out.downtimeMs).toBeGreaterThanOrEqual(0);
    expect(out.totalMs).toBeGreaterThan(out.downtimeMs);
    expect(out.transferredBytes).toBeGreaterThan(0);
    const there = await runCli(['list', '--json'], { VIVARIUM_HOME: home });
    const listed = JSON.parse(there.stdout) as Array<{ name: string; state: string }>;
    expect(listed.find((v) => v.name === 'by-cli')?.state).toBe('running');
    await waitFor(
      async () => !(await source.call('vm.list', {})).some((v) => v.name === 'by-cli'),
      'the source library to drop the VM',
      30_000,
    );
  }, 240_000);

  it('killed mid-way (kill -9) leaves the source running with its disk intact', async () => {
    const { vm, con } = await countingGuest(source, 'orphaned');
    let task: TaskInfo | null = null;
    const killDestination = () => {
      // The destination's server and its QEMU die at once, as when its computer goes down.
      for (const pid of qemuPidsUnder(home)) process.kill(pid, 'SIGKILL');
      serve?.kill('SIGKILL');
    };
    const off = onPhase(source, 'memory', killDestination);
    task = await source.call('migration.start', { vm: vm.id, to: url });
    const done = await settle(source, task);
    off();
    expect(done.state).toBe('failed');
    expect(done.error?.message ?? '').not.toBe('');
    const after = await source.call('vm.get', { vm: vm.id });
    expect(after.runtime.state).toBe('running');
    const before = lastCount(serialLog(vm));
    await waitFor(() => lastCount(serialLog(vm)) > before + 2, 'the count to go on', 30_000);
    expect(await con.diskRead()).toBe('MIG-orphaned');
    con.close();
    await source.call('vm.powerOff', { vm: vm.id });
    const checked = qemuImgCheck(join(vm.dir, 'disk0.qcow2'));
    expect(checked.out).toMatch(/No errors were found/);
    expect(checked.code).toBe(0);

    // The killed destination, opened again, removes the VM it had half received.
    const half = JSON.parse(
      (await runCli(['list', '--json'], { VIVARIUM_HOME: home })).stdout,
    ) as Array<{ name: string }>;
    expect(half.map((v) => v.name)).toContain('orphaned');
    const reopened = await openEngine({ home, role: 'owner' });
    try {
      const names = (await reopened.call('vm.list', {})).map((v) => v.name);
      expect(names).not.toContain('orphaned');
      expect(names).toContain('by-cli');
      const { notices } = await reopened.call('host.info', {});
      expect(notices.join(' ')).toMatch(/"orphaned".*interrupted/);
    } finally {
      await reopened.close();
    }
  }, 240_000);
});

/** QEMU processes whose command line names a file under `home` (the destination's VMs). */
function qemuPidsUnder(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('qemu-system') || cmd.includes('/qemu-system')) {
        if (cmd.includes(home)) pids.push(Number(entry));
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
