/**
 * Bridged cards: bridge-check against a bridge of the test's own (made as root, removed after),
 * reading a bridge.conf of the test's own (the engine's conf option) so /etc is left alone; and
 * a VM bridged to a bridge that does not exist is refused before QEMU starts, saying what to run.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { readBridgeFacts } from '../../electron/engine/network/bridge-check';
import { errorOf, guest, requireGuest, tempHome } from '../helpers/fixtures';

const BR = 'vivtestbr0';
const root = typeof process.getuid === 'function' && process.getuid() === 0;

let home: Awaited<ReturnType<typeof tempHome>> | undefined;
let engine: Engine;
let conf = '';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

beforeAll(async () => {
  if (!root) {
    console.log('bridge: making a bridge needs root; run as root to check bridged networking');
    return;
  }
  requireGuest();
  home = await tempHome('viv-br-');
  conf = join(home.dir, 'bridge.conf');
  engine = await openEngine({ home: home.dir, role: 'owner', bridgeConf: conf });
});

afterAll(async () => {
  if (!root) return;
  try {
    ip('link', 'del', BR);
  } catch {
    // Not made, or gone already.
  }
  await engine.close();
  await home?.remove();
});

describe.skipIf(!root)('bridged cards', () => {
  it('lists each missing piece with its root command, then is ready once they are there', async () => {
    const before = await engine.call('network.bridgeCheck', { bridge: BR });
    expect(before.ok).toBe(false);
    expect(before.problems.map((p) => p.what).join('\n')).toMatch(
      new RegExp(`no bridge called ${BR}[\\s\\S]*${conf} does not exist`),
    );
    expect(before.commands).toContain(
      `sudo ip link add ${BR} type bridge && sudo ip link set ${BR} up`,
    );
    expect(
      before.commands.some((c) => c.includes(`echo 'allow ${BR}' | sudo tee -a ${conf}`)),
    ).toBe(true);

    ip('link', 'add', BR, 'type', 'bridge');
    const halfway = await engine.call('network.bridgeCheck', { bridge: BR });
    expect(halfway.bridges).toContain(BR);
    expect(halfway.problems).toHaveLength(1);
    expect(halfway.problems[0]?.what).toContain(conf);

    await writeFile(conf, `# written by the test\nallow ${BR}\n`);
    const after = await engine.call('network.bridgeCheck', { bridge: BR });
    expect(after).toMatchObject({ ok: true, problems: [], commands: [] });
    expect(after.helper).toMatch(/qemu-bridge-helper$/);
  });

  it('refuses to start a VM bridged to a bridge that does not exist, before QEMU runs', async () => {
    const vm = await engine.call('vm.create', {
      name: 'bridged',
      kernel: guest.kernel,
      initrd: guest.initrd,
      diskSize: '0',
      network: 'bridge:vivnosuchbr9',
    });
    const err = await errorOf(engine.call('vm.start', { vm: vm.id }));
    expect(err.message).toMatch(
      /Card 1 is bridged to vivnosuchbr9, which is not ready: There is no bridge called vivnosuchbr9.*sudo ip link add vivnosuchbr9 type bridge/,
    );
    const after = await engine.call('vm.get', { vm: vm.id });
    expect(after.runtime.state).toBe('stopped');
  });

  it('takes a helper given CAP_NET_ADMIN instead of setuid, as libcap reports it', async () => {
    const plain = join(home?.dir ?? '', 'helper-plain');
    const capped = join(home?.dir ?? '', 'helper-capped');
    await copyFile('/usr/lib/qemu/qemu-bridge-helper', plain);
    await copyFile(plain, capped);
    execFileSync('setcap', ['cap_net_admin+ep', capped]);
    expect((await readBridgeFacts({ helperPaths: [plain] })).helperSetuid).toBe(false);
    expect((await readBridgeFacts({ helperPaths: [capped] })).helperSetuid).toBe(true);
  });
});
