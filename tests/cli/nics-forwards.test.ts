/**
 * `vivarium nic ...` and `vivarium forward ...` end to end: cards change on a stopped VM and are
 * refused on a running one; forwards wait in a stopped VM's config and go live in a running one
 * (QEMU listens at once, and stops when the forward is removed); each refusal says what to do
 * and names the flag or argument that carried the bad value. `--json` prints the engine's
 * results (NicInfo[], ForwardInfo) or `{ error }`.
 */
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForwardInfo, NicInfo, SshForwardResult } from '../../common/contract';
import { NICS_NEED_STOP } from '../../common/rules/vm-settings';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { guest, guestMissingReason } from '../helpers/fixtures';

const why = guestMissingReason();
if (why) console.warn(`[cli] skipping the nic/forward tests: ${why}`);

/** A port range of its own, so parallel runs on this host do not meet. */
const BASE = 20_000 + Math.floor(Math.random() * 20_000);

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe.skipIf(why !== null)('vivarium nic / forward', () => {
  let home: string;
  let offConfig: string;
  const env = () => ({ VIVARIUM_HOME: home });
  const run = (args: string[]) => runCli(args, env(), 90_000);
  const ok = async <T>(args: string[]): Promise<T> => {
    const r = await run([...args, '--json']);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const fails = async (args: string[], code = 1): Promise<string> => {
    const r = await run(args);
    expect(r.code, `${args.join(' ')} should fail: ${r.stdout}`).toBe(code);
    return r.stderr.trim();
  };
  const stored = async () =>
    (
      JSON.parse(await readFile(offConfig, 'utf8')) as {
        nics: { attach: { forwards?: unknown[] } }[];
      }
    ).nics;

  beforeAll(async () => {
    requireBuiltCli();
    home = await mkdtemp(join(tmpdir(), 'vivarium-cli-nics-'));
    const off = await ok<{ id: string }>([
      'create',
      'off',
      '--kernel',
      guest.kernel,
      '--disk',
      '0',
      '--network',
      'nat',
      '--nic-model',
      'e1000',
    ]);
    offConfig = join(home, 'vms', off.id, 'vm.json');
    await ok([
      'create',
      'on',
      '--kernel',
      guest.kernel,
      '--initrd',
      guest.initrd,
      '--append',
      guest.append,
      '--disk',
      '0',
      '--memory',
      '256',
      '--cpus',
      '1',
    ]);
    await ok(['start', 'on']);
  }, 120_000);

  afterAll(async () => {
    if (home) {
      await run(['stop', 'on', '--force']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    }
  });

  it('create --network takes the first card; a bad one names the flag', async () => {
    const cards = await ok<NicInfo[]>(['nic', 'list', 'off']);
    expect(cards).toHaveLength(1);
    expect(cards[0]).toMatchObject({
      index: 0,
      config: { model: 'e1000', attach: { kind: 'nat', forwards: [] } },
      forwards: [],
      problem: null,
    });
    expect(await fails(['create', 'x', '--kernel', guest.kernel, '--network', 'wifi'])).toBe(
      'vivarium: "wifi" is not an attachment: use nat, network:NAME, bridge:BRIDGE or none (--network wifi)',
    );
  });

  it('nic add/set/rm change a stopped VM; bad input is refused with the flag', async () => {
    let cards = await ok<NicInfo[]>([
      'nic',
      'add',
      'off',
      '--attach',
      'none',
      '--model',
      'rtl8139',
    ]);
    expect(cards.map((c) => c.config.attach.kind)).toEqual(['nat', 'none']);
    expect(cards[1]?.config.mac).not.toBe(cards[0]?.config.mac);
    expect(await fails(['nic', 'add', 'off', '--attach', 'network:nope'])).toBe(
      'vivarium: There is no network called "nope": create it first with `vivarium network create nope` (or on the Networks page).',
    );
    expect(await fails(['nic', 'add', 'off', '--mac', '01:00:5e:00:00:01'])).toBe(
      'vivarium: 01:00:5e:00:00:01 is a multicast address: a card needs a unicast one (even first byte) (--mac 01:00:5e:00:00:01)',
    );
    const taken = cards[0]?.config.mac ?? '';
    expect(await fails(['nic', 'add', 'on', '--mac', taken])).toBe(
      `vivarium: "on" is running. ${NICS_NEED_STOP}`,
    );
    await run(['create', 'third', '--kernel', guest.kernel, '--disk', '0', '--network', 'none']);
    expect(await fails(['nic', 'add', 'third', '--mac', taken.toUpperCase()])).toBe(
      `vivarium: ${taken} is already the MAC of card 1 of "off": choose another, or leave the MAC out for a new one`,
    );
    expect(await fails(['nic', 'add', 'off', '--attach', 'wifi'], 2)).toMatch(
      /is not an attachment: use nat, network:NAME, bridge:BRIDGE or none \(--attach\)$/,
    );
    expect(await fails(['nic', 'add', 'off', '--model', 'tulip'], 2)).toMatch(/--model/);
    expect(await fails(['nic', 'set', 'off', '5', '--model', 'e1000'], 2)).toMatch(
      /A card number is 1 to 4 \(card 1 is the first\)$/,
    );
    expect(await fails(['nic', 'set', 'off', '2'], 2)).toBe(
      'vivarium: Nothing to change: give --attach, --model or --mac',
    );
    cards = await ok<NicInfo[]>([
      'nic',
      'set',
      'off',
      '2',
      '--attach',
      'nat',
      '--mac',
      '52:54:00:AB:CD:EF',
    ]);
    expect(cards[1]?.config).toMatchObject({
      model: 'rtl8139',
      mac: '52:54:00:ab:cd:ef',
      attach: { kind: 'nat' },
    });
    cards = await ok<NicInfo[]>(['nic', 'rm', 'off', '2']);
    expect(cards).toHaveLength(1);
    const human = await run(['nic', 'list', 'off']);
    expect(human.stdout).toMatch(/^Card 1: Intel E1000 \(e1000\) 52:54:00(:[0-9a-f]{2}){3}, nat$/m);
  });

  it('forwards on a stopped VM wait in its config; bad rules name the argument', async () => {
    const f = await ok<ForwardInfo>(['forward', 'add', 'off', `${BASE}:80`]);
    expect(f).toMatchObject({
      protocol: 'tcp',
      hostAddress: '127.0.0.1',
      hostPort: BASE,
      guestPort: 80,
      nic: 0,
      live: false,
      spec: `tcp:127.0.0.1:${BASE}:80`,
    });
    expect(await fails(['forward', 'add', 'off', `0.0.0.0:${BASE + 1}:80`])).toBe(
      'vivarium: A forward on 0.0.0.0 listens on every network, not just this computer: pass --public (CLI) or confirm in Settings (RULE)',
    );
    await ok(['forward', 'add', 'off', `0.0.0.0:${BASE + 1}:80`, '--public']);
    await ok(['forward', 'add', 'off', `udp:${BASE}:53`]);
    expect(await fails(['forward', 'add', 'off', '70000:80'], 2)).toMatch(
      /The host port 70000 is out of range: use 1 to 65535$/,
    );
    expect(await fails(['forward', 'add', 'off', `${BASE}:81`])).toBe(
      `vivarium: Host port ${BASE} (tcp) is already forwarded by "off" (card 1): choose another host port`,
    );
    expect((await stored())[0]?.attach.forwards).toEqual([
      { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: BASE, guestPort: 80 },
      { protocol: 'tcp', hostAddress: '0.0.0.0', hostPort: BASE + 1, guestPort: 80, public: true },
      { protocol: 'udp', hostAddress: '127.0.0.1', hostPort: BASE, guestPort: 53 },
    ]);
    const list = await ok<ForwardInfo[]>(['forward', 'list', 'off']);
    expect(list.map((x) => x.spec)).toEqual([
      `tcp:127.0.0.1:${BASE}:80`,
      `tcp:0.0.0.0:${BASE + 1}:80`,
      `udp:127.0.0.1:${BASE}:53`,
    ]);
    const { removed } = await ok<{ removed: ForwardInfo }>(['forward', 'rm', 'off', `udp:${BASE}`]);
    expect(removed).toMatchObject({ protocol: 'udp', hostPort: BASE });
    expect(await fails(['forward', 'rm', 'off', `udp:${BASE}`])).toBe(
      `vivarium: "off" has no udp forward from host port ${BASE}: list its forwards to see which it has`,
    );
    const ssh = await ok<SshForwardResult>(['forward', 'ssh', 'off']);
    expect(ssh.forward).toMatchObject({ protocol: 'tcp', guestPort: 22, auto: true, live: false });
    expect(ssh.forward.hostPort).toBeGreaterThanOrEqual(2222);
    expect(ssh.command).toBe(`ssh -p ${ssh.forward.hostPort} user@127.0.0.1`);
    const status = await run(['status', 'off']);
    expect(status.stdout).toContain(`Card 1:  Intel E1000 (e1000) `);
    expect(status.stdout).toContain(`  forward tcp:127.0.0.1:${BASE}:80\n`);
    // `set` no longer takes forwards: it says where they went.
    expect(await fails(['set', 'off', '--forward', '2222:22'], 2)).toBe(
      'vivarium: Port forwards have their own commands, which also change them while the VM runs: vivarium forward add off RULE [--public], vivarium forward rm off HOSTPORT, vivarium forward list off',
    );
  });

  it('forwards on a running VM go live at once and stop listening when removed', async () => {
    const port = BASE + 10;
    expect(await tcpOpen(port)).toBe(false);
    const f = await ok<ForwardInfo>(['forward', 'add', 'on', `${port}:80`]);
    expect(f).toMatchObject({ hostPort: port, live: true });
    expect(await tcpOpen(port)).toBe(true);
    const list = await ok<ForwardInfo[]>(['forward', 'list', 'on']);
    expect(list).toEqual([expect.objectContaining({ hostPort: port, live: true })]);
    const human = await run(['forward', 'list', 'on']);
    expect(human.stdout).toMatch(new RegExp(`^1 +tcp:127\\.0\\.0\\.1:${port}:80 +yes +`, 'm'));
    expect(await fails(['nic', 'add', 'on'])).toBe(`vivarium: "on" is running. ${NICS_NEED_STOP}`);
    expect(await fails(['forward', 'add', 'on', `${port}:22`])).toContain(
      `Host port ${port} (tcp) is already forwarded by "on" (card 1)`,
    );
    await ok(['forward', 'rm', 'on', String(port)]);
    expect(await tcpOpen(port)).toBe(false);
    expect(await ok<ForwardInfo[]>(['forward', 'list', 'on'])).toEqual([]);
  });

  it('a host port another program holds is refused and nothing changes', async () => {
    const port = BASE + 20;
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const r = await run(['forward', 'add', 'on', `${port}:80`, '--json']);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toEqual({
        error: {
          code: 'INVALID_REQUEST',
          message: `Port ${port} on 127.0.0.1 is in use by another program: choose another host port`,
          fields: { 'forward.hostPort': 'In use by another program' },
        },
      });
      expect(await ok<ForwardInfo[]>(['forward', 'list', 'on'])).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
