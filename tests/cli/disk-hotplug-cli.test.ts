/**
 * `vivarium disk ...` on a running VM, on the built CLI: a SCSI disk with a cache mode is plugged
 * in live (the guest sees it on its serial console), `disk list` shows its bus, cache and sizes,
 * a live grow reaches the guest, SATA is refused with the reason, and an unplug takes it away.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import type { DiskInfo, VmStorage, VmSummary } from '../../common/contract';
import { requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine | undefined;
let con: GuestConsole | undefined;
const env = (): NodeJS.ProcessEnv => ({ VIVARIUM_HOME: home.dir });

async function ok(args: string[]): Promise<CliResult> {
  const r = await runCli(args, env(), 120_000);
  expect(r.code, `vivarium ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** The guest's /sys/block/DEV/size (512-byte sectors) once it is `want` (null: no such disk). */
async function guestSees(dev: string, want: number | null): Promise<void> {
  if (!con) throw new Error('no console');
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    const m = await con.run(
      `echo SZ-${dev}:$(cat /sys/block/${dev}/size 2>/dev/null || echo none)`,
      new RegExp(`SZ-${dev}:(\\d+|none)\\r?\\n`),
    );
    last = m[1] ?? '';
    if (last === (want === null ? 'none' : String(want))) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`guest ${dev}: ${last}, expected ${String(want)}`);
}

beforeAll(async () => {
  requireBuiltCli();
  requireGuest();
  home = await tempHome('viv-cli-disks-');
});

afterAll(async () => {
  con?.close();
  await engine?.close();
  await runCli(['stop', 'plug', '--force'], env()).catch(() => undefined);
  await home.remove();
});

describe('vivarium disk on a running VM', () => {
  it('plugs in a SCSI disk, lists it, grows it live, refuses SATA, and unplugs it', async () => {
    await ok([
      'create',
      'plug',
      '--kernel',
      guest.kernel,
      '--initrd',
      guest.initrd,
      '--append',
      guest.append,
      '--memory',
      '128',
      '--cpus',
      '1',
      '--disk',
      '16M',
      '--network',
      'none',
    ]);
    await ok(['start', 'plug']);
    const vm = JSON.parse((await ok(['status', 'plug', '--json'])).stdout) as { dir: string };
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
    // The test reads the guest's console through an engine of its own (a second process).
    engine = await openEngine({ home: home.dir, role: 'oneshot' });
    con = await GuestConsole.open(engine, 'plug');

    const added = await ok(['disk', 'add', 'plug', '24M', '--bus', 'scsi', '--cache', 'unsafe']);
    expect(added.stdout).toContain('Added disk1 (24M, scsi) to plug, plugged in while it runs.');
    await guestSees('sda', (24 * 1024 * 1024) / 512);

    const table = (await ok(['disk', 'list', 'plug'])).stdout;
    expect(table).toMatch(/DISK\s+FORMAT\s+BUS\s+CACHE\s+SIZE\s+USED/);
    expect(table).toMatch(/disk1\s+qcow2\s+scsi\s+unsafe\s+24(\.0)? MiB/);
    const listed = JSON.parse((await ok(['disk', 'list', 'plug', '--json'])).stdout) as VmStorage;
    expect(listed.disks[1]).toMatchObject<Partial<DiskInfo>>({ bus: 'scsi', cache: 'unsafe' });
    expect(listed.disks[1]?.actualSize).toBeGreaterThan(0);

    const grown = await ok(['disk', 'resize', 'plug', '+8M', '--disk', 'disk1']);
    expect(grown.stdout).toContain('disk1 of plug is now 32');
    await guestSees('sda', (32 * 1024 * 1024) / 512);

    const sata = await runCli(['disk', 'add', 'plug', '8M', '--bus', 'sata'], env());
    expect(sata.code).not.toBe(0);
    expect(sata.stderr).toContain('SATA disks cannot be plugged in while the VM runs');
    const cache = await runCli(['disk', 'set', 'plug', 'disk1', '--cache', 'none'], env());
    expect(cache.code).not.toBe(0);
    expect(cache.stderr).toContain('Shut the VM down to change');

    const detached = await ok(['disk', 'detach', 'plug', 'disk1', '--delete', '--json']);
    expect((JSON.parse(detached.stdout) as VmSummary).config.disks).toHaveLength(1);
    await guestSees('sda', null);
  }, 240_000);
});
