/**
 * Another local user cannot take over the runtime folder (QMP, VNC and console sockets, pid files).
 * As root, two throw-away users: the victim creates a VM; its runtime folder goes (as after a
 * reboot); the attacker pre-creates `/tmp/vivarium-<victim uid>` world-writable, plants a QMP
 * socket and a `qemu.pid` naming a process whose argv carries `process=qemu-<id>`. The victim's
 * CLI must refuse the folder with a message that says what is wrong and what to do, and never
 * connect to the planted socket. The same for an XDG_RUNTIME_DIR the victim does not own.
 *
 * Needs root (to create the users), Linux, `npm run build` and the fixture kernel; skips with the
 * reason printed otherwise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOurQemu } from '../../electron/engine/qemu/pid-file';
import { CLI, ROOT } from '../helpers/cli';
import { guest } from '../helpers/fixtures';

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'the runtime folder checks are Linux-specific here';
  if (process.getuid?.() !== 0) return 'needs root to create a second local user';
  if (!existsSync(CLI)) return `${CLI} is missing: run "npm run build"`;
  if (!existsSync(guest.kernel)) return `${guest.kernel} is missing: run "npm run fixtures"`;
  return null;
}
const why = skipReason();
if (why) console.warn(`[reliability] skipping the runtime-folder takeover tests: ${why}`);

interface User {
  name: string;
  uid: number;
  gid: number;
}

const suffix = randomBytes(3).toString('hex');
const users: User[] = [];
const undo: Array<() => unknown> = [];

function addUser(name: string): User {
  execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', name]);
  const user = {
    name,
    uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()),
  };
  users.push(user);
  return user;
}

/** `vivarium ARGS` as `user`, with only the environment given (no XDG_RUNTIME_DIR unless set). */
function cliAs(
  user: User,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const vars = Object.entries({ NO_COLOR: '1', PATH: process.env.PATH ?? '', ...env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  const child = spawn(
    'runuser',
    ['-u', user.name, '--', 'env', '-i', ...vars, process.execPath, CLI, ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

/** A process of `user` whose argv merely contains `process=qemu-<id>`. */
function fakeQemu(user: User, vmId: string): ChildProcess {
  const child = spawn(
    'runuser',
    [
      '-u',
      user.name,
      '--',
      process.execPath,
      '-e',
      'setInterval(() => {}, 1e6)',
      '--',
      '-name',
      `guest=x,process=qemu-${vmId}`,
    ],
    { stdio: 'ignore' },
  );
  undo.push(() => child.kill('SIGKILL'));
  return child;
}

/** The child of runuser: the pid a planted pid file would name. */
function childPid(parent: number): number {
  const out = execFileSync('pgrep', ['-P', String(parent)], { encoding: 'utf8' }).trim();
  return Number(out.split('\n')[0]);
}

/** A unix socket that counts who connects (and greets like QMP, to be convincing). */
async function plantSocket(path: string, owner: User, hits: { n: number }): Promise<Server> {
  const server = createServer((sock) => {
    hits.n++;
    sock.write('{"QMP": {"version": {}, "capabilities": []}}\r\n');
    sock.on('error', () => undefined);
  });
  await new Promise<void>((res) => server.listen(path, res));
  await chown(path, owner.uid, owner.gid);
  await chmod(path, 0o777);
  undo.push(() => new Promise((res) => server.close(res)));
  return server;
}

async function attackerDir(path: string, attacker: User): Promise<void> {
  await mkdir(path, { recursive: true });
  await chown(path, attacker.uid, attacker.gid);
  await chmod(path, 0o777);
}

describe.skipIf(why !== null)('another local user and the runtime folder', () => {
  let victim: User;
  let attacker: User;
  let home: string;
  let vmId: string;

  beforeAll(async () => {
    victim = addUser(`vivtest-v${suffix}`);
    attacker = addUser(`vivtest-a${suffix}`);
    home = await mkdtemp(join(tmpdir(), 'vivarium-victim-'));
    undo.push(() => rm(home, { recursive: true, force: true }));
    await chown(home, victim.uid, victim.gid);
    const created = await cliAs(
      victim,
      ['create', 'r1', '--kernel', guest.kernel, '--disk', '0', '--json'],
      { VIVARIUM_HOME: home },
    );
    expect(created.code, created.stderr).toBe(0);
    vmId = (JSON.parse(created.stdout) as { id: string }).id;
  });

  afterAll(async () => {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch {
        // Already gone.
      }
    }
    // users[0] is the victim, when beforeAll got that far.
    if (users[0]) await rm(`/tmp/vivarium-${users[0].uid}`, { recursive: true, force: true });
    for (const u of users) {
      try {
        execFileSync('userdel', [u.name]);
      } catch (err) {
        console.warn(`[reliability] userdel ${u.name} failed:`, err);
      }
    }
  });

  it('refuses a /tmp/vivarium-<uid> another user made, and never talks to its sockets', async () => {
    const base = `/tmp/vivarium-${victim.uid}`;
    const tag = createHash('sha256').update(home).digest('hex').slice(0, 8);
    const run = join(base, tag, vmId);
    // Gone, as after a reboot; the attacker gets there first.
    await rm(base, { recursive: true, force: true });
    await attackerDir(base, attacker);
    await attackerDir(join(base, tag), attacker);
    await attackerDir(run, attacker);
    const hits = { n: 0 };
    for (const name of ['qmp.sock', 'qmp-1.sock', 'qmp-2.sock']) {
      await plantSocket(join(run, name), attacker, hits);
    }
    const fake = fakeQemu(attacker, vmId);
    await new Promise((r) => setTimeout(r, 300));
    const fakePid = childPid(fake.pid!);
    undo.push(() => process.kill(fakePid, 'SIGKILL'));
    await writeFile(join(run, 'qemu.pid'), `${fakePid}\n`);
    await chown(join(run, 'qemu.pid'), attacker.uid, attacker.gid);

    const status = await cliAs(victim, ['status', 'r1', '--json'], { VIVARIUM_HOME: home });
    expect(status.code, status.stdout).not.toBe(0);
    expect(status.stderr).toContain(`${base} is owned by uid ${attacker.uid}, not you`);
    expect(status.stderr).toContain(`sudo rm -rf ${base}`);
    expect(status.stderr).toContain('XDG_RUNTIME_DIR');
    expect(hits.n).toBe(0);
    // A pid file naming a process whose argv merely holds `process=qemu-<id>` is not our QEMU.
    expect(await isOurQemu(fakePid, vmId)).toBe(false);
  });

  it('refuses a world-writable folder even when the victim owns it', async () => {
    const base = `/tmp/vivarium-${victim.uid}`;
    await rm(base, { recursive: true, force: true });
    await mkdir(base);
    await chown(base, victim.uid, victim.gid);
    await chmod(base, 0o777);
    const status = await cliAs(victim, ['status', 'r1', '--json'], { VIVARIUM_HOME: home });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain(`${base} has mode 777`);
    await rm(base, { recursive: true, force: true });
  });

  it('refuses an XDG_RUNTIME_DIR another user owns', async () => {
    const xdg = join(tmpdir(), `vivtest-xdg-${suffix}`);
    undo.push(() => rm(xdg, { recursive: true, force: true }));
    await attackerDir(xdg, attacker);
    const status = await cliAs(victim, ['status', 'r1', '--json'], {
      VIVARIUM_HOME: home,
      XDG_RUNTIME_DIR: xdg,
    });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain(`${xdg} is owned by uid ${attacker.uid}, not you`);
  });

  it('creates a fresh folder 0700 for the victim, and uses it', async () => {
    const base = `/tmp/vivarium-${victim.uid}`;
    await rm(base, { recursive: true, force: true });
    const status = await cliAs(victim, ['status', 'r1', '--json'], { VIVARIUM_HOME: home });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: vmId });
    const mode = execFileSync('stat', ['-c', '%a %u', base], { encoding: 'utf8' }).trim();
    expect(mode).toBe(`700 ${victim.uid}`);
  });
});
