/**
 * A VM's files are its user's alone: after a create with a disk, a boot (logs, QEMU's own
 * files), a live snapshot (saved state in the disk, a thumbnail, the snapshots index) and a
 * stop, every folder under the VM's folder is 0700 and every file 0600 (0400 when read-only),
 * whoever made it: the CLI, qemu-img or QEMU. The same for the library's own folders.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let env: NodeJS.ProcessEnv;

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args, env, 120_000);
  if (r.code !== 0) throw new Error(`vivarium ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Every path under `dir` (itself included) with its permission bits. */
async function modes(dir: string): Promise<Array<{ path: string; dir: boolean; mode: string }>> {
  const out: Array<{ path: string; dir: boolean; mode: string }> = [];
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path);
    out.push({ path, dir: st.isDirectory(), mode: (st.mode & 0o777).toString(8) });
    if (st.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(dir);
  return out;
}

beforeAll(async () => {
  requireBuiltCli();
  requireGuest();
  home = await tempHome('viv-modes-');
  env = { VIVARIUM_HOME: home.dir };
});

afterAll(async () => {
  await runCli(['stop', 'p1', '--force'], env).catch(() => undefined);
  await home.remove();
});

it('keeps every folder 0700 and every file 0600 under a VM that ran and was snapshotted', async () => {
  const common = ['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', guest.append];
  await cli(['create', 'p1', ...common, '--memory', '256', '--cpus', '1', '--disk', '32M']);
  const status = JSON.parse(await cli(['status', 'p1', '--json'])) as { dir: string };
  await cli(['start', 'p1']);
  await waitForText(join(status.dir, 'logs', 'serial.log'), guest.banner);
  await cli(['snapshot', 'create', 'p1', 'running']);
  await cli(['stop', 'p1', '--force']);

  const all = [
    ...(await modes(status.dir)),
    ...(await modes(join(home.dir, 'vms'))).filter((e) => e.dir),
  ];
  console.log(`${all.length} paths checked: ${all.map((e) => `${e.mode} ${e.path}`).join(', ')}`);
  const names = all.map((e) => e.path.slice(status.dir.length));
  // What the run must have made, so the check covers it.
  for (const want of ['/disk0.qcow2', '/vm.json', '/logs/serial.log', '/snapshots.json']) {
    expect(names).toContain(want);
  }
  expect(names.some((n) => n.startsWith('/thumbnails/'))).toBe(true);
  const wrong = all.filter((e) => (e.dir ? e.mode !== '700' : !['600', '400'].includes(e.mode)));
  expect(wrong, 'folders 0700, files 0600 (0400 read-only)').toEqual([]);
});
