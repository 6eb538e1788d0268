/**
 * QmpClient against a real QEMU 7.2 (TCG, -S, no guest). No timed assertions: where a test needs
 * QEMU to be slow it freezes it with SIGSTOP.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  QmpClient,
  QmpClosedError,
  QmpError,
  QmpTimeoutError,
  connectWhenReady,
  type QmpEvent,
} from '../../electron/engine/qmp/client';

const QEMU = process.env['VIVARIUM_QEMU'] ?? 'qemu-system-x86_64';
const READY_MS = 30_000; // generous: a loaded 2-core machine

interface Vm {
  proc: ChildProcess;
  dir: string;
  qmp: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

const vms: Vm[] = [];
const clients: QmpClient[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vq-'));
  dirs.push(dir);
  return dir;
}

function startQemu(opts: { dir?: string; extra?: string[] } = {}): Vm {
  const dir = opts.dir ?? tempDir();
  const qmp = join(dir, 'qmp.sock');
  const proc = spawn(
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
      `unix:${qmp},server=on,wait=off`,
      ...(opts.extra ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  const vm: Vm = { proc, dir, qmp, exited, stderr: () => err };
  vms.push(vm);
  return vm;
}

async function connect(vm: Vm): Promise<QmpClient> {
  const c = await connectWhenReady(vm.qmp, { deadlineMs: READY_MS, greetingTimeoutMs: 10_000 });
  clients.push(c);
  return c;
}

function signal(vm: Vm, sig: NodeJS.Signals): void {
  if (vm.proc.exitCode === null && vm.proc.signalCode === null) vm.proc.kill(sig);
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const vm of vms.splice(0)) {
    signal(vm, 'SIGCONT');
    signal(vm, 'SIGKILL');
    await vm.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('QmpClient against QEMU', () => {
  it('handshakes and reads the 7.x greeting', async () => {
    const client = await connect(startQemu());
    expect(client.greeting.QMP.version.qemu.major).toBe(7);
    expect(client.greeting.QMP.version.qemu.minor).toBeGreaterThanOrEqual(0);
    expect(typeof client.greeting.QMP.version.package).toBe('string');
    expect(client.greeting.QMP.capabilities).toContain('oob');
    expect(client.closed).toBe(false);
  });

  it('query-status on a -S VM: prelaunch, not running', async () => {
    const client = await connect(startQemu());
    const status = await client.execute<{ status: string; running: boolean }>('query-status');
    expect(status).toMatchObject({ status: 'prelaunch', running: false });
  });

  it('cont / stop: RESUME and STOP events, delivered in wire order around replies', async () => {
    const vm = startQemu();
    const wire: string[] = [];
    const client = await connectWhenReady(vm.qmp, {
      deadlineMs: READY_MS,
      trace: (dir, line) => {
        if (dir !== 'in') return;
        const m = /"event": "(\w+)"/.exec(line);
        if (m) wire.push(`event:${m[1]}`);
        else if (/"id": \d+/.test(line) && !line.includes('"return": {}, "id": 1}')) {
          wire.push('reply');
        }
      },
    });
    clients.push(client);
    const delivered: string[] = [];
    const seen: QmpEvent[] = [];
    const off = client.onEvent((e) => {
      delivered.push(`event:${e.event}`);
      seen.push(e);
    });

    const resumed = client.waitForEvent('RESUME', undefined, READY_MS);
    await client.execute('cont');
    delivered.push('reply');
    await resumed;
    expect((await client.execute<{ running: boolean }>('query-status')).running).toBe(true);
    delivered.push('reply');

    const stopped = client.waitForEvent('STOP', undefined, READY_MS);
    await client.execute('stop');
    delivered.push('reply');
    const stop = await stopped;
    expect(stop.timestamp.seconds).toBeGreaterThan(0);

    // Every event read before a reply reached the listeners before that reply's promise settled.
    expect(delivered).toEqual(wire);
    expect(seen.map((e) => e.event)).toEqual(['RESUME', 'STOP']);

    off();
    await client.execute('cont');
    await client.execute('stop');
    expect(seen).toHaveLength(2); // unsubscribed
  });

  it('unknown command: QmpError CommandNotFound (structured, not text)', async () => {
    const client = await connect(startQemu());
    const err: unknown = await client.execute('no-such-command').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    const qe = err as QmpError;
    expect(qe.errorClass).toBe('CommandNotFound');
    expect(qe.command).toBe('no-such-command');
    expect(qe.desc).toContain('no-such-command');
    // The connection is still usable.
    expect(await client.execute('query-status')).toMatchObject({ status: 'prelaunch' });
  });

  it('bad argument: QmpError GenericError', async () => {
    const client = await connect(startQemu());
    const e1: unknown = await client.execute('query-status', { bogus: 1 }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(QmpError);
    expect((e1 as QmpError).errorClass).toBe('GenericError');
    const e2: unknown = await client
      .execute('human-monitor-command', { 'command-line': 42 })
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(QmpError);
    expect((e2 as QmpError).errorClass).toBe('GenericError');
  });

  it('hmp returns text; HMP errors are text too', async () => {
    const client = await connect(startQemu());
    expect(await client.hmp('info status')).toMatch(/VM status: paused \(prelaunch\)/);
    expect(await client.hmp('no-such-hmp-command')).toMatch(/unknown command/);
  });

  it('per-command timeout rejects, and later commands still work', async () => {
    const vm = startQemu();
    const client = await connect(vm);
    signal(vm, 'SIGSTOP'); // QEMU cannot answer now: the timeout is certain to fire first
    try {
      const err: unknown = await client
        .execute('query-name', undefined, { timeoutMs: 1 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QmpTimeoutError);
      expect((err as QmpTimeoutError).command).toBe('query-name');
      expect((err as QmpTimeoutError).timeoutMs).toBe(1);
      const err2: unknown = await client
        .hmp('info status', { timeoutMs: 50 })
        .catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(QmpTimeoutError);
    } finally {
      signal(vm, 'SIGCONT');
    }
    // The late replies (query-name's {} and the HMP text) must not be taken for this one.
    const status = await client.execute<{ status: string }>('query-status', undefined, {
      timeoutMs: READY_MS,
    });
    expect(status).toMatchObject({ status: 'prelaunch', running: false });
    expect(await client.hmp('info status')).toMatch(/VM status/);
    expect(client.closed).toBe(false);
  });

  it('quit: reply, onClose(null), later calls reject with QmpClosedError', async () => {
    const client = await connect(startQemu());
    const closedWith = new Promise<Error | null>((resolve) => client.onClose(resolve));
    const waiting = client.waitForEvent('RESET', undefined, 0);
    const shutdown = client.waitForEvent('SHUTDOWN', undefined, READY_MS);
    await client.execute('quit');
    expect((await shutdown).data).toMatchObject({ guest: false, reason: 'host-qmp-quit' });
    expect(await closedWith).toBeNull();
    expect(client.closed).toBe(true);
    await expect(waiting).rejects.toBeInstanceOf(QmpClosedError);
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(QmpClosedError);
    // A late subscriber still hears about the end.
    expect(await new Promise((resolve) => client.onClose(resolve))).toBeNull();
  });

  it('QEMU dies: pending commands reject with QmpClosedError, onClose fires once', async () => {
    const vm = startQemu();
    const client = await connect(vm);
    let closes = 0;
    client.onClose(() => closes++);
    signal(vm, 'SIGSTOP');
    const pending = [
      client.execute('query-status', undefined, { timeoutMs: 0 }),
      client.hmp('info status', { timeoutMs: 0 }),
    ];
    signal(vm, 'SIGKILL');
    for (const p of pending) {
      const err: unknown = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QmpClosedError);
    }
    expect(client.closed).toBe(true);
    expect(closes).toBe(1);
  });

  it('close(): pending commands reject with QmpClosedError', async () => {
    const vm = startQemu();
    const client = await connect(vm);
    signal(vm, 'SIGSTOP');
    const p = client.execute('query-status');
    const closedWith = new Promise<Error | null>((resolve) => client.onClose(resolve));
    client.close();
    await expect(p).rejects.toBeInstanceOf(QmpClosedError);
    expect(await closedWith).toBeNull();
  });

  it('a second concurrent client times out on the greeting with a clear error', async () => {
    const vm = startQemu();
    const first = await connect(vm);
    const err: unknown = await QmpClient.connect(vm.qmp, { greetingTimeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(QmpTimeoutError);
    expect((err as QmpTimeoutError).command).toBe('greeting');
    expect((err as Error).message).toMatch(/another client/);
    // The first client is unaffected; once it leaves, a new client gets in.
    expect(await first.execute('query-status')).toMatchObject({ status: 'prelaunch' });
    first.close();
    const again = await connect(vm);
    expect(await again.execute('query-status')).toMatchObject({ status: 'prelaunch' });
  });

  it('connectWhenReady waits for a QEMU that is still starting', async () => {
    const dir = tempDir();
    const sock = join(dir, 'qmp.sock');
    expect(existsSync(sock)).toBe(false);
    const connecting = connectWhenReady(sock, { deadlineMs: READY_MS });
    await new Promise((r) => setTimeout(r, 100));
    const vm = startQemu({ dir });
    const client = await connecting;
    clients.push(client);
    expect(await client.execute('query-status')).toMatchObject({ status: 'prelaunch' });
    expect(vm.proc.exitCode).toBeNull();
  });

  it('connectWhenReady gives up at the deadline, or on abort', async () => {
    const sock = join(tempDir(), 'qmp.sock');
    const err: unknown = await connectWhenReady(sock, { deadlineMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpTimeoutError);
    expect((err as Error).message).toMatch(/ENOENT/);

    const ac = new AbortController();
    const p = connectWhenReady(sock, { deadlineMs: READY_MS, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user gave up')), 50);
    await expect(p).rejects.toThrow('user gave up');
  });

  it('QmpClient.connect on a missing socket fails at once with the OS error', async () => {
    const sock = join(tempDir(), 'qmp.sock');
    const err: unknown = await QmpClient.connect(sock).catch((e: unknown) => e);
    expect((err as { code?: unknown }).code).toBe('ENOENT');
  });
});

describe('QmpClient.runJob (snapshot jobs)', () => {
  function vmWithDisk(): Vm {
    const dir = tempDir();
    const disk = join(dir, 'disk.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    return startQemu({
      dir,
      extra: ['-drive', `file=${disk},format=qcow2,if=none,node-name=disk0`],
    });
  }
  const save = (tag: string, jobId: string) =>
    ({ 'job-id': jobId, tag, vmstate: 'disk0', devices: ['disk0'] }) as const;

  it('saves a snapshot, reports progress, and dismisses the job', async () => {
    const client = await connect(vmWithDisk());
    const progress: [number, number][] = [];
    await client.runJob('snapshot-save', save('first', 'save1'), {
      timeoutMs: READY_MS,
      onProgress: (c, t) => progress.push([c, t]),
    });
    expect(await client.hmp('info snapshots')).toMatch(/first/);
    expect(await client.execute('query-jobs')).toEqual([]);
    expect(progress.length).toBeGreaterThan(0);
    // The same job id is free again.
    await client.runJob('snapshot-delete', { 'job-id': 'save1', tag: 'first', devices: ['disk0'] });
    expect(await client.hmp('info snapshots')).not.toMatch(/first/);
  });

  it('a failed job rejects with QmpError JobFailed and is dismissed', async () => {
    const client = await connect(vmWithDisk());
    await client.runJob('snapshot-save', save('dup', 'a'), { timeoutMs: READY_MS });
    const err: unknown = await client
      .runJob('snapshot-save', save('dup', 'b'), { timeoutMs: READY_MS })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).errorClass).toBe('JobFailed');
    expect((err as QmpError).command).toBe('snapshot-save');
    expect((err as QmpError).desc).toMatch(/dup/);

    const err2: unknown = await client
      .runJob('snapshot-load', save('missing', 'c'), { timeoutMs: READY_MS })
      .catch((e: unknown) => e);
    expect((err2 as QmpError).errorClass).toBe('JobFailed');
    expect(await client.execute('query-jobs')).toEqual([]);
  });

  it('a refused job command rejects with its own QmpError', async () => {
    const client = await connect(vmWithDisk());
    const err: unknown = await client
      .runJob('snapshot-save', { 'job-id': 'x', tag: 't' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).errorClass).toBe('GenericError');
  });
});
