/**
 * A ready-to-use guest from a real Debian cloud image (tests/fixtures/build-debian-image.sh): the
 * engine makes the disk and the NoCloud seed, the guest's own cloud-init applies it, SSH answers
 * through the automatic forward, the guest agent reports, and Shut down goes through systemd.
 * One guest is booted for the whole file (a first boot under TCG takes a minute or more).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { debianImageMissingReason, requireDebianImage } from '../helpers/debian-image';
import { natForwards } from '../../electron/engine/guest/ssh-access';
import { tempHome, waitFor } from '../helpers/fixtures';
import { finish } from '../helpers/guest-console';

const run = promisify(execFile);
const missing = debianImageMissingReason();
if (missing) console.warn(`skipping the Debian cloud guest tests: ${missing}`);

const READY_MS = 360_000;

describe.skipIf(missing !== null)('a ready-to-use guest from the Debian cloud image', () => {
  let home: Awaited<ReturnType<typeof tempHome>>;
  let engine: Engine;
  let vm: VmSummary;
  let userKey: string;
  let startedAt = 0;

  async function ssh(command: string, key?: string): Promise<{ code: number; out: string }> {
    const current = await engine.call('vm.get', { vm: vm.id });
    const access = current.guest?.ssh;
    if (!access) throw new Error('no ssh access');
    const argv = key
      ? [
          '-p',
          String(access.port),
          '-i',
          key,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          `${access.user}@${access.host}`,
        ]
      : ['-o', 'BatchMode=yes', ...access.argv];
    try {
      const { stdout } = await run('ssh', [...argv, command], { timeout: 180_000 });
      return { code: 0, out: stdout.trim() };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
    }
  }

  beforeAll(async () => {
    requireBuiltCli();
    home = await tempHome('viv-cloud-');
    // The guest reaches only this computer: its cloud-init must not fetch from the internet.
    engine = await openEngine({ home: home.dir, role: 'owner', guestInternet: false });
    userKey = join(home.dir, 'user_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey, '-C', 'tester@host']);
    const pub = (await readFile(`${userKey}.pub`, 'utf8')).trim();
    vm = await engine.call('vm.create', {
      name: 'Debian cloud',
      memoryMiB: 512,
      cpus: 1,
      diskSize: '3G',
      cloud: {
        image: requireDebianImage().path,
        user: 'dev',
        sshKeys: [pub],
        hostname: 'seeded-host',
        password: 'correct horse',
        timezone: 'Europe/Paris',
        diskMode: 'overlay',
      },
    });
    startedAt = Date.now();
    await engine.call('vm.start', { vm: vm.id });
    vm = await waitFor(
      async () => {
        const v = await engine.call('vm.get', { vm: vm.id });
        if (v.runtime.state === 'crashed' || v.runtime.state === 'stopped') {
          throw new Error(`the guest ${v.runtime.state}: ${v.runtime.lastExit?.stderrTail ?? ''}`);
        }
        return v.guest?.ready ? v : null;
      },
      'the guest to answer over SSH',
      READY_MS,
    );
    console.log(
      `Debian cloud guest ready in ${vm.guest?.readySeconds} s (test clock: ${Math.round((Date.now() - startedAt) / 1000)} s)`,
    );
  }, READY_MS + 60_000);

  afterAll(async () => {
    // Unset when beforeAll failed early.
    const opened = engine as Engine | undefined;
    if (opened) {
      await opened.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
      await opened.close();
    }
    await (home as typeof home | undefined)?.remove();
  });

  it('made a thin overlay on the image, a seed, a key and an SSH forward', () => {
    const c = vm.config;
    expect(c.cloudInit).toMatchObject({ user: 'dev', hostname: 'seeded-host', password: true });
    expect(c.cloudInit?.image).toMatchObject({ file: requireDebianImage().path, mode: 'overlay' });
    expect(c.guestAgent).toBe(true);
    expect(c.nics[0]?.attach).toMatchObject({ kind: 'nat', internet: false });
    const forward = natForwards(c)[0];
    expect(forward).toMatchObject({ guestPort: 22, hostAddress: '127.0.0.1', auto: true });
    expect(forward?.hostPort).toBeGreaterThanOrEqual(2222);
    expect(vm.guest?.ssh?.command).toBe(`ssh -p ${forward?.hostPort} dev@127.0.0.1`);
    expect(vm.guest?.via).toBe('ssh');
  });

  it("runs hostname over SSH through the forward with Vivarium's key and the user's", async () => {
    expect(await ssh('hostname')).toEqual({ code: 0, out: 'seeded-host' });
    expect(await ssh('hostname', userKey)).toEqual({ code: 0, out: 'seeded-host' });
  });

  it("applied the seed: sudo, time zone, the grown disk, and Debian's cloud-init schema check", async () => {
    // sshd answers before cloud-init's later stages (time zone, runcmd) are through.
    const done = await ssh('cloud-init status --wait --long; sudo cat /run/cloud-init/result.json');
    expect(done.out, done.out).toMatch(/status: done/);
    expect((await ssh('sudo -n true && echo sudo-ok')).out).toBe('sudo-ok');
    expect((await ssh('cat /etc/timezone')).out).toBe('Europe/Paris');
    const rootBytes = Number((await ssh('df -B1 --output=size / | tail -n1')).out);
    expect(rootBytes).toBeGreaterThan(2.5 * 1024 ** 3);
    const schema = await ssh('sudo cloud-init schema --system');
    expect(schema, schema.out).toMatchObject({ code: 0 });
    expect(schema.out).toMatch(/Valid cloud-config/i);
    // The guest's package refresh failed: it could not reach the internet (restrict=on).
    const output = await ssh('sudo cat /var/log/cloud-init-output.log');
    expect(output.out).toMatch(/Temporary failure resolving|Failed to fetch/);
  }, 240_000);

  it('hears from the guest agent: an address and the OS', async () => {
    const withAgent = await waitFor(
      async () => {
        const v = await engine.call('vm.get', { vm: vm.id });
        return v.guest?.agent?.os && v.guest.agent.addresses.length ? v : null;
      },
      'the guest agent to report',
      120_000,
    );
    expect(withAgent.guest?.agent?.os?.name).toMatch(/debian/i);
    expect(withAgent.guest?.agent?.os?.version).toMatch(/12/);
    expect(withAgent.guest?.agent?.addresses).toContain('10.0.2.15');
    expect(withAgent.guest?.agent?.hostname).toBe('seeded-host');
  });

  it('a CLI command sees it ready, with the ssh line, and `vivarium ssh` runs a command', async () => {
    const env = { VIVARIUM_HOME: home.dir };
    const status = await runCli(['status', vm.name, '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const json = JSON.parse(status.stdout) as { ready: boolean; ssh: string | null };
    expect(json.ready).toBe(true);
    expect(json.ssh).toMatch(/^ssh -p \d+ dev@127\.0\.0\.1$/);
    const res = await runCli(['ssh', vm.name, '--', 'hostname'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('seeded-host');
  });

  it('freezes the guest filesystems around a live snapshot and thaws them, also after a revert', async () => {
    const node = await finish(
      engine,
      await engine.call('snapshot.create', { vm: vm.id, name: 'configured' }),
      'snapshot.create',
    );
    expect(node).toMatchObject({ kind: 'live', quiesced: true });
    // Thawed: the guest writes to its disk again.
    expect((await ssh('touch ~/after-snapshot && echo wrote')).out).toBe('wrote');
    await finish(
      engine,
      await engine.call('snapshot.revert', { vm: vm.id, snapshot: 'configured' }),
      'snapshot.revert',
    );
    // The snapshot's memory holds frozen filesystems: the revert thaws them.
    expect(
      (await ssh('test ! -e ~/after-snapshot && touch ~/after-revert && echo wrote')).out,
    ).toBe('wrote');
  }, 180_000);

  it("shuts down through the guest's own systemd (the guest agent asks it) and ends stopped", async () => {
    const res = await engine.call('vm.shutdown', { vm: vm.id, timeoutMs: 120_000 });
    expect(res).toMatchObject({ stopped: true, via: 'agent' });
    const after = await engine.call('vm.get', { vm: vm.id });
    expect(after.runtime.state).toBe('stopped');
    const serial = await readFile(join(vm.dir, 'logs', 'serial.log'), 'utf8');
    expect(serial).toMatch(/reboot: Power down|System Power Off|Reached target.*Power-Off/);
    expect(after.guest?.ready).toBe(false);
  });
});
