/**
 * `vivarium set NAME --forward RULE [--public]`: a forward on loopback goes in as asked; one on an
 * address other computers reach is refused without --public (with the fix in the message), and
 * taken with it; --no-forwards removes them. The stored config says what the user chose.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { guest, guestMissingReason } from '../helpers/fixtures';

const why = guestMissingReason();
if (why) console.warn(`[cli] skipping the --forward tests: ${why}`);

describe.skipIf(why !== null)('vivarium set --forward', () => {
  let home: string;
  let configFile: string;
  const env = () => ({ VIVARIUM_HOME: home });

  beforeAll(async () => {
    requireBuiltCli();
    home = await mkdtemp(join(tmpdir(), 'vivarium-cli-fwd-'));
    const made = await runCli(
      ['create', 'fw', '--kernel', guest.kernel, '--disk', '0', '--json'],
      env(),
    );
    expect(made.code, made.stderr).toBe(0);
    const { id } = JSON.parse(made.stdout) as { id: string };
    configFile = join(home, 'vms', id, 'vm.json');
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const forwards = async () =>
    (JSON.parse(await readFile(configFile, 'utf8')) as { network: { portForwards: unknown[] } })
      .network.portForwards;

  it('takes a loopback forward as asked', async () => {
    const r = await runCli(
      ['set', 'fw', '--forward', '2222:22', '--forward', 'udp:127.0.0.2:5353:53'],
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await forwards()).toEqual([
      { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 },
      { protocol: 'udp', hostAddress: '127.0.0.2', hostPort: 5353, guestPort: 53 },
    ]);
  });

  it('refuses a forward on every network without --public, and takes it with', async () => {
    const refused = await runCli(['set', 'fw', '--forward', '0.0.0.0:8080:80'], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'A forward on 0.0.0.0 listens on every network, not just this computer: pass --public (CLI) or confirm in Settings',
    );
    expect(await forwards()).toHaveLength(2);
    const ok = await runCli(['set', 'fw', '--forward', '0.0.0.0:8080:80', '--public'], env());
    expect(ok.code, ok.stderr).toBe(0);
    expect(await forwards()).toEqual([
      { protocol: 'tcp', hostAddress: '0.0.0.0', hostPort: 8080, guestPort: 80, public: true },
    ]);
  });

  it('--no-forwards removes them; --public alone is a usage error', async () => {
    expect((await runCli(['set', 'fw', '--no-forwards'], env())).code).toBe(0);
    expect(await forwards()).toEqual([]);
    const alone = await runCli(['set', 'fw', '--public'], env());
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toContain('--public goes with --forward');
  });
});
