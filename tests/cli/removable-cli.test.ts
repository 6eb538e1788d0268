/**
 * `vivarium cdrom ...` and `vivarium usb ...` end to end on the built CLI: a disc goes into a
 * stopped VM's config and into a running VM's drive; a USB drive made from an image file is
 * attached to the running guest and detached again; this computer's empty USB bus is said
 * plainly, and so is a host device that is not there. `--json` prints the engine's results.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CdromChange, RemovableResults, UsbHostList } from '../../common/contract';
import { ROOT, requireBuiltCli, runCli } from '../helpers/cli';
import { guest, guestMissingReason } from '../helpers/fixtures';

const why = guestMissingReason();
if (why) console.warn(`[cli] skipping the cdrom/usb tests: ${why}`);

describe.skipIf(why !== null)('vivarium cdrom / usb', () => {
  let home: string;
  let iso: string;
  let stick: string;
  let config: string;
  const run = (args: string[]) => runCli(args, { VIVARIUM_HOME: join(home, 'home') }, 90_000);
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
    JSON.parse(await readFile(config, 'utf8')) as { cdrom: string | null; usb: unknown[] };

  beforeAll(async () => {
    requireBuiltCli();
    home = await mkdtemp(join(tmpdir(), 'vivarium-cli-media-'));
    await mkdir(join(home, 'src'));
    await writeFile(join(home, 'src', 'hello.txt'), 'hi\n');
    iso = join(home, 'disc.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, join(home, 'src')], {
      stdio: 'ignore',
    });
    stick = join(home, 'stick.img');
    execFileSync('truncate', ['-s', '4M', stick]);
    const vm = await ok<{ id: string }>([
      'create',
      'media',
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
    config = join(home, 'home', 'vms', vm.id, 'vm.json');
  }, 60_000);

  afterAll(async () => {
    if (home) {
      await run(['stop', 'media', '--force']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    }
  });

  it('inserts and ejects the CD of a stopped VM (a relative path is from the current folder)', async () => {
    const r = await ok<CdromChange>(['cdrom', 'media', 'insert', relative(ROOT, iso)]);
    expect(r).toMatchObject({ medium: iso, applied: 'config', note: null });
    expect((await stored()).cdrom).toBe(iso);
    const text = await run(['cdrom', 'media', 'eject']);
    expect(text.stdout.trim()).toBe('Ejected the CD of media.');
    expect((await stored()).cdrom).toBeNull();
  });

  it('refuses a missing file or one that is no ISO, and keeps the config', async () => {
    expect(await fails(['cdrom', 'insert', 'media', join(home, 'nope.iso')])).toMatch(
      /The disc image .*nope\.iso does not exist: choose an ISO file that exists/,
    );
    expect(await fails(['cdrom', 'insert', 'media', stick])).toMatch(/is not a CD image/);
    expect((await stored()).cdrom).toBeNull();
  });

  it('says this computer shows no USB devices, and a host device that is not there', async () => {
    const host = await ok<UsbHostList>(['usb', 'list']);
    expect(host.devices).toEqual([]);
    expect(host.message).toMatch(/This computer shows no USB devices/);
    const text = await run(['usb', 'list']);
    expect(text.stdout).toMatch(/This computer shows no USB devices/);
    expect(await fails(['usb', 'attach', 'media', '1d6b:0002'])).toMatch(
      /No USB device 1d6b:0002 here: This computer shows no USB devices/,
    );
    // A usage mistake: exit code 2.
    expect(await fails(['usb', 'attach', 'media', '1d6b:0002', '--read-only'], 2)).toMatch(
      /--read-only and --format are for USB drives/,
    );
  });

  it('changes the CD and attaches and detaches a USB drive of the running VM', async () => {
    await ok(['start', 'media']);
    const cd = await ok<CdromChange>(['cdrom', 'insert', 'media', iso]);
    expect(cd).toMatchObject({ medium: iso, applied: 'live' });
    const attached = await ok<RemovableResults['usb.attach']>([
      'usb',
      'attach',
      'media',
      stick,
      '--read-only',
    ]);
    expect(attached).toMatchObject({
      applied: 'live',
      attached: { config: { id: 'usb1', kind: 'drive', readOnly: true }, live: true },
    });
    const listed = await run(['usb', 'list', 'media']);
    expect(listed.stdout.trim()).toBe(
      'usb1  USB drive stick.img (read-only) (in the running guest)',
    );
    expect((await stored()).usb).toHaveLength(1);
    const detached = await run(['usb', 'detach', 'media', 'usb1']);
    expect(detached.stdout.trim()).toBe(
      'Detached usb1 (USB drive stick.img (read-only)) from media, out of the running guest too.',
    );
    expect((await stored()).usb).toEqual([]);
    expect(await fails(['usb', 'detach', 'media', 'usb1'])).toMatch(
      /"media" has no USB devices attached/,
    );
  }, 120_000);
});
