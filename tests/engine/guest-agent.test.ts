/**
 * The guest agent client against the real qemu-ga, run on this host in unix-listen mode with
 * every command that could change the host (freeze, shutdown, suspend, set-time, exec, files,
 * passwords, CPUs, memory) blocked: the host's own agent answers what a guest's would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  guestAddresses,
  GuestAgentClient,
  GuestAgentCommandError,
  withGuestAgent,
} from '../../electron/engine/guest-agent/client';

const QEMU_GA = ['/usr/sbin/qemu-ga', '/usr/bin/qemu-ga'].find((p) => existsSync(p));

/** Never let the host's agent freeze, shut down or otherwise change the host. */
const BLOCKED = [
  'guest-fsfreeze-freeze',
  'guest-fsfreeze-freeze-list',
  'guest-fsfreeze-thaw',
  'guest-fstrim',
  'guest-shutdown',
  'guest-suspend-disk',
  'guest-suspend-ram',
  'guest-suspend-hybrid',
  'guest-set-time',
  'guest-exec',
  'guest-exec-status',
  'guest-file-open',
  'guest-file-write',
  'guest-set-user-password',
  'guest-set-vcpus',
  'guest-set-memory-blocks',
  'guest-ssh-add-authorized-keys',
  'guest-ssh-remove-authorized-keys',
];

const work = mkdtempSync(join(tmpdir(), 'qga-'));
const sock = join(work, 'qga.sock');
let agent: ChildProcess | null = null;

beforeAll(async () => {
  if (!QEMU_GA) {
    throw new Error('qemu-ga is not installed: apt-get install qemu-guest-agent');
  }
  agent = spawn(QEMU_GA, ['-m', 'unix-listen', '-p', sock, '-t', work, '-b', BLOCKED.join(',')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  agent.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(sock)) throw new Error(`qemu-ga did not start: ${stderr}`);
});

afterAll(() => {
  agent?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

describe('guest agent client against the real qemu-ga', () => {
  it('pings, and lists its commands with the blocked ones disabled', async () => {
    const info = await withGuestAgent(sock, async (a) => {
      await a.ping();
      return a.info();
    });
    const version = spawnSync(QEMU_GA ?? 'qemu-ga', ['--version'], { encoding: 'utf8' }).stdout;
    expect(version).toContain(info.version);
    const byName = new Map(info.commands.map((c) => [c.name, c]));
    expect(byName.get('guest-ping')?.enabled).toBe(true);
    expect(byName.get('guest-shutdown')).toMatchObject({ enabled: false, successResponse: false });
    expect(byName.get('guest-fsfreeze-freeze')?.enabled).toBe(false);
  });

  it('reports the OS as /etc/os-release and uname say', async () => {
    const os = await withGuestAgent(sock, (a) => a.osInfo());
    const release = spawnSync('sh', ['-c', '. /etc/os-release && echo "$ID|$PRETTY_NAME"'], {
      encoding: 'utf8',
    }).stdout.trim();
    expect(`${os.id ?? ''}|${os.prettyName ?? ''}`).toBe(release);
    expect(os.kernelRelease).toBe(spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim());
    expect(os.name).toBeTruthy();
  });

  it('reports addresses without loopback or link-local, IPv4 first', async () => {
    const interfaces = await withGuestAgent(sock, (a) => a.networkInterfaces());
    const addresses = guestAddresses(interfaces);
    expect(interfaces.some((i) => i.name === 'lo')).toBe(false);
    for (const a of addresses) expect(a).not.toMatch(/^(127\.|169\.254\.|::1$|fe80:)/i);
    const firstV6 = addresses.findIndex((a) => a.includes(':'));
    if (firstV6 >= 0) expect(addresses.slice(firstV6).every((a) => a.includes(':'))).toBe(true);
    // What the kernel says, through ip(8) where it is installed, else just non-empty.
    const ip = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], {
      encoding: 'utf8',
    });
    if (ip.status === 0) {
      const expected = [...ip.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]);
      expect(addresses.filter((a) => !a.includes(':')).sort()).toEqual(expected.sort());
    }
  });

  it('surfaces disabled commands as clear errors, and the connection stays usable', async () => {
    await withGuestAgent(sock, async (a) => {
      const err = await a.fsfreezeFreeze().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GuestAgentCommandError);
      expect((err as Error).message).toMatch(
        /^The guest agent does not offer guest-fsfreeze-freeze \(.*disabled\)/,
      );
      await expect(a.shutdown('powerdown')).rejects.toThrow(/does not offer guest-shutdown/);
    });
    await withGuestAgent(sock, async (a) => {
      expect(await a.fsfreezeStatus()).toBe('thawed');
      await a.ping();
    });
  });

  it('syncs past a previous client that left half a request and unread replies', async () => {
    const rude: Socket = connect(sock);
    await new Promise((r) => rude.once('connect', r));
    rude.write('{"execute":"guest-ping"}\n{"execute":"guest-info"}\n{"execute": "guest-get-');
    await new Promise((r) => setTimeout(r, 200));
    rude.destroy();
    const os = await withGuestAgent(sock, (a) => a.osInfo());
    expect(os.id).toBeTruthy();
  });

  it('lets callers in this process take turns', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => withGuestAgent(sock, async (a) => (await a.info()).version)),
    );
    expect(new Set(results).size).toBe(1);
  });

  it('fails clearly while another program holds the channel, and works once it lets go', async () => {
    const holder = await GuestAgentClient.connect(sock);
    const t0 = Date.now();
    await expect(withGuestAgent(sock, (a) => a.ping(), { timeoutMs: 700 })).rejects.toThrow(
      /guest agent is not running in the guest: install qemu-guest-agent.*another program/s,
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    holder.close();
    await withGuestAgent(sock, (a) => a.ping());
  });

  it('says the channel is missing when no agent listens', async () => {
    await expect(withGuestAgent(join(work, 'none.sock'), (a) => a.ping())).rejects.toThrow(
      /no guest agent channel open/,
    );
  });
});
