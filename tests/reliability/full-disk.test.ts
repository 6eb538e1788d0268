/**
 * A full disk for every writer. VIVARIUM_HOME (VM folders and the media cache) lives on a small
 * tmpfs; before each writer runs, a filler file takes every free byte. Each writer must then fail
 * with DISK_FULL and a message that says to free space, and lose nothing: every VM's config still
 * valid and unchanged, every disk unchanged (`qemu-img check` clean, the marker written with
 * qemu-io reads back), no half-written file left beyond what the app tracks (media.partials).
 * Once the filler is gone, the same operation succeeds. Mounting needs root; elsewhere the tests
 * are skipped with the reason printed. No QEMU guest is started.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import {
  access,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  statfs,
  writeFile,
} from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  VmConfigSchema,
  type ApiErrorBody,
  type PartialDownload,
  type TaskInfo,
  type VmSummary,
} from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { startServer } from '../../electron/server';
import { startMediaServer, type MediaServer } from '../helpers/media-server';
import { authorized, RpcClient, type RpcReply } from '../helpers/rpc-client';

const run = promisify(execFile);
// Above the media cache's free-space margin (256 MiB), so a download fits once space is freed.
const TMPFS_MIB = 320;
const MARKER = ['-c', 'write -P 0x5a 0 64k'];
const MARKER_READ = ['-c', 'read -P 0x5a 0 64k'];

let root = '';
let mnt = '';
let home = '';
let mounted = false;
let skipReason: string | null = null;
let engine: Engine | undefined;
let server: Awaited<ReturnType<typeof startServer>> | undefined;
let client: RpcClient;
let media: MediaServer | undefined;
const ISO = Buffer.alloc(2 * 1024 * 1024, 0x61);

/** The VMs made before the disk fills; nothing of theirs may change. */
const kept: Array<{ id: string; name: string; config: string; disk: string; tags: string }> = [];

beforeAll(async () => {
  if (process.getuid?.() !== 0) {
    skipReason = 'mounting a tmpfs needs root';
  } else {
    root = await mkdtemp(join(tmpdir(), 'vivarium-full-'));
    mnt = join(root, 'mnt');
    await mkdir(mnt);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MIB}m`, 'tmpfs', mnt]);
      mounted = true;
    } catch (err) {
      skipReason = `mount -t tmpfs failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (skipReason) {
    console.log(`full-disk: skipped: ${skipReason}`);
    return;
  }
  home = join(mnt, 'home');
  const staticDir = join(root, 'static');
  await mkdir(staticDir, { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Vivarium</title>');
  engine = await openEngine({ home, role: 'owner' });
  server = await startServer({ engine, port: 0, staticDir });
  client = await RpcClient.open(server);
  media = await startMediaServer(({ path, send }) => {
    if (path.endsWith('.iso')) send(ISO);
  });
  for (const name of ['keep', 'source']) {
    const vm = result<VmSummary>(
      await client.call('vm.create', { name, diskSize: '16M', memoryMiB: 128 }),
    );
    const disk = join(vm.dir, 'disk0.qcow2');
    await run('qemu-io', ['-f', 'qcow2', ...MARKER, disk]);
    kept.push({ id: vm.id, name, config: '', disk, tags: '' });
  }
  await snapshotKept();
  console.log(`full-disk: tmpfs of ${TMPFS_MIB} MiB at ${mnt}`);
}, 120_000);

afterAll(async () => {
  // Undefined when the setup was skipped or failed before the socket opened.
  (client as RpcClient | undefined)?.close();
  await media?.close();
  await server?.close();
  await engine?.close();
  if (mounted) await run('umount', ['-l', mnt]).catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

function result<T>(reply: RpcReply): T {
  if ('error' in reply) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
}

/** The snapshot tags inside a qcow2 image (the image's own view, not the app's index). */
async function imageTags(file: string): Promise<string> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', file]);
  const info = JSON.parse(stdout) as { snapshots?: Array<{ name: string }> };
  return (info.snapshots ?? []).map((s) => s.name).join(',');
}

/** Remembers the kept VMs' configs and disks as they are now (after a change that succeeded). */
async function snapshotKept(): Promise<void> {
  for (const k of kept) {
    k.config = await readFile(join(home, 'vms', k.id, 'vm.json'), 'utf8');
    k.disk = join(home, 'vms', k.id, 'disk0.qcow2');
    k.tags = await imageTags(k.disk);
  }
}

// ---------------------------------------------------------------------------------------------
// Filling and freeing

const FILLERS = ['filler-a', 'filler-b'];

/** Takes every free byte of the tmpfs (the engine may still keep a page or two of its own). */
async function fill(): Promise<void> {
  const s = await statfs(mnt);
  const free = s.bavail * s.bsize;
  if (free > 0) await run('fallocate', ['-l', String(free), join(mnt, FILLERS[0] as string)]);
  // Whatever fallocate left (rounding): bytes until the kernel says no.
  const handle = await open(join(mnt, FILLERS[1] as string), 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (let i = 0; i < 100_000; i++) await handle.write(chunk);
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await handle.close().catch(() => undefined);
  }
  const after = await statfs(mnt);
  expect(after.bavail, 'the tmpfs is full').toBe(0);
}

async function free(): Promise<void> {
  for (const f of FILLERS) await rm(join(mnt, f), { force: true });
}

// ---------------------------------------------------------------------------------------------
// What must hold after a failed write

function expectDiskFull(error: ApiErrorBody | null | undefined, what: string): void {
  expect(error, `${what} must fail`).toBeTruthy();
  expect(error?.code, `${what}: ${error?.message}`).toBe('DISK_FULL');
  expect(error?.message, what).toMatch(/full/i);
  expect(error?.message, what).toMatch(/free/i);
}

/** The reply's error, or a finished task's error when the reply is a task. */
async function failure(reply: RpcReply): Promise<ApiErrorBody | null> {
  if ('error' in reply) return reply.error;
  const task = await finished(reply.result as TaskInfo);
  return task.error;
}

async function finished(task: TaskInfo): Promise<TaskInfo> {
  const deadline = Date.now() + 60_000;
  let t = task;
  while (t.state === 'running') {
    if (Date.now() > deadline) throw new Error(`task ${t.kind} did not end`);
    await new Promise((r) => setTimeout(r, 50));
    t = result<TaskInfo>(await client.call('task.get', { id: t.id }));
  }
  return t;
}

async function succeeds(reply: RpcReply, what: string): Promise<unknown> {
  if ('error' in reply) throw new Error(`${what} after freeing space: ${reply.error.message}`);
  const r = reply.result;
  if (r && typeof r === 'object' && 'kind' in r && 'state' in r) {
    const task = await finished(r as TaskInfo);
    expect(task.error, `${what} after freeing space`).toBeNull();
    expect(task.state).toBe('succeeded');
    return task.result;
  }
  return r;
}

/** Files a writer leaves while it works: temp configs, new UEFI stores, partial media. */
const HALF_WRITTEN = /\.tmp-|\.new-|\.part$|\.partial$/;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out;
}

async function intact(what: string): Promise<void> {
  // Every VM in the library has a valid config; the kept ones are byte for byte as before.
  const listed = result<VmSummary[]>(await client.call('vm.list', {}));
  for (const vm of listed) {
    const text = await readFile(join(vm.dir, 'vm.json'), 'utf8');
    expect(
      () => VmConfigSchema.parse(JSON.parse(text)),
      `${what}: ${vm.name}'s vm.json`,
    ).not.toThrow();
  }
  for (const k of kept) {
    expect(
      listed.map((v) => v.id),
      `${what}: ${k.name} still listed`,
    ).toContain(k.id);
    const text = await readFile(join(home, 'vms', k.id, 'vm.json'), 'utf8');
    expect(text, `${what}: ${k.name}'s vm.json`).toBe(k.config);
    expect(await imageTags(k.disk), `${what}: ${k.name}'s snapshot tags`).toBe(k.tags);
    // Writable by its owner, as QEMU needs it (a failed linked clone must give back the mode).
    expect((await stat(k.disk)).mode & 0o200, `${what}: ${k.name}'s disk mode`).toBe(0o200);
    await access(k.disk, constants.R_OK);
    // Exit 0 only when clean: leaked clusters (3) or corruption (2) fail here.
    await run('qemu-img', ['check', '-q', k.disk]);
    const { stdout } = await run('qemu-io', ['-f', 'qcow2', '-r', ...MARKER_READ, k.disk]);
    expect(stdout, `${what}: ${k.name}'s marker`).not.toMatch(/verification failed/i);
  }
  // Nothing half-written beyond the partial downloads the app lists (and can resume).
  const partials = result<PartialDownload[]>(await client.call('media.partials', {}));
  const tracked = new Set(partials.map((p) => p.key));
  const stray = (await walk(home)).filter(
    (f) => HALF_WRITTEN.test(f) && ![...tracked].some((key) => f.includes(key)),
  );
  expect(
    stray.map((f) => relative(home, f)),
    `${what}: half-written files`,
  ).toEqual([]);
}

/** Folders under vms/ that hold no vm.json (a writer's leftovers). */
async function foldersWithoutConfig(): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(join(home, 'vms'))) {
    const has = await access(join(home, 'vms', name, 'vm.json')).then(
      () => true,
      () => false,
    );
    if (!has) out.push(name);
  }
  return out;
}

/**
 * One writer on a full disk: fails with DISK_FULL and loses nothing; after freeing space, the
 * same call succeeds. Returns what it produced then.
 */
async function writer(
  ctx: TestContext,
  what: string,
  call: () => Promise<RpcReply>,
): Promise<unknown> {
  if (skipReason) {
    ctx.skip();
    return null;
  }
  const foldersBefore = await foldersWithoutConfig();
  await fill();
  try {
    expectDiskFull(await failure(await call()), what);
    await intact(`${what} on a full disk`);
    expect(await foldersWithoutConfig(), `${what}: folders left without a config`).toEqual(
      foldersBefore,
    );
  } finally {
    await free();
  }
  const made = await succeeds(await call(), what);
  // What it changed of the kept VMs is theirs from now on (a new memory size, a new disk...).
  await snapshotKept();
  await intact(`${what} after freeing space`);
  console.log(`full-disk: ${what}: DISK_FULL when full, then succeeded`);
  return made;
}

function keepId(name: string): string {
  const k = kept.find((v) => v.name === name);
  if (!k) throw new Error(`no kept VM ${name}`);
  return k.id;
}

// ---------------------------------------------------------------------------------------------

describe('a full disk, writer by writer', () => {
  it('vm.create (config and disk)', async (ctx) => {
    let n = 0;
    await writer(ctx, 'vm.create', () =>
      client.call('vm.create', { name: `new-${++n}`, diskSize: '16M', memoryMiB: 128 }),
    );
  });

  it('vm.update (the config write)', async (ctx) => {
    let memoryMiB = 160;
    await writer(ctx, 'vm.update', () =>
      client.call('vm.update', { vm: keepId('keep'), patch: { memoryMiB: (memoryMiB += 16) } }),
    );
  });

  it('disk.add (a new qcow2 and the config)', async (ctx) => {
    await writer(ctx, 'disk.add', () =>
      client.call('disk.add', { vm: keepId('keep'), size: '16M' }),
    );
  });

  it('disk.resize (growing a qcow2 needs new metadata)', async (ctx) => {
    await writer(ctx, 'disk.resize', () =>
      client.call('disk.resize', { vm: keepId('keep'), disk: 'disk1', size: '+8T' }),
    );
  });

  it('vm.clone, full', async (ctx) => {
    let n = 0;
    await writer(ctx, 'full clone', () =>
      client.call('vm.clone', { vm: keepId('source'), name: `full-${++n}`, linked: false }),
    );
  });

  it('vm.clone, linked', async (ctx) => {
    let n = 0;
    await writer(ctx, 'linked clone', () =>
      client.call('vm.clone', { vm: keepId('source'), name: `linked-${++n}`, linked: true }),
    );
  });

  it('snapshot.create of a stopped VM (qemu-img snapshot, disk only)', async (ctx) => {
    await writer(ctx, 'snapshot.create', () =>
      client.call('snapshot.create', { vm: keepId('keep'), name: 'before' }),
    );
  });

  it('media.download from a loopback mirror', async (ctx) => {
    let n = 0;
    await writer(ctx, 'media.download', () =>
      client.call('media.download', { url: `${media?.base ?? ''}/image-${++n}.iso` }),
    );
  });

  it('media upload through the server', async (ctx) => {
    let n = 0;
    await writer(ctx, 'upload', () => upload(`upload-${++n}.iso`, ISO));
  });
});

/** PUT /upload, answered as an RPC reply would be. */
function upload(name: string, data: Buffer): Promise<RpcReply> {
  const { url, headers } = authorized(
    server as { port: number; token: string },
    `/upload?name=${encodeURIComponent(name)}`,
  );
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'PUT',
        headers: { ...headers, 'content-length': String(data.length) },
        timeout: 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const parsed = JSON.parse(body) as unknown;
          resolve(res.statusCode === 200 ? { result: parsed } : { error: parsed as ApiErrorBody });
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('upload timed out')));
    req.end(data);
  });
}
