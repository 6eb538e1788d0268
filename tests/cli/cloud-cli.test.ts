/**
 * Ready-to-use guests from the command line, on the built CLI, without booting: `create
 * --cloud-image` makes the thin disk, the seed, the VM's key and its SSH forward; bad input is
 * refused naming the flag; a clone gets its own seed, host name and port; `ssh` of a stopped VM
 * says what to do. (The Debian image boots in tests/engine/cloud-guest.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmConfig } from '../../common/contract';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { natForwards } from '../../electron/engine/guest/ssh-access';
import { guest, tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let image = '';
let pubKey = '';

const env = () => ({ VIVARIUM_HOME: home.dir, VIVARIUM_OSINFO_DIR: '' });
const json = <T>(text: string) => JSON.parse(text) as T;

beforeAll(async () => {
  requireBuiltCli();
  home = await tempHome('viv-cloudcli-');
  image = join(home.dir, 'tiny-cloud.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
  const key = join(home.dir, 'me_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', key]);
  pubKey = `${key}.pub`;
});

afterAll(async () => {
  await home.remove();
});

describe('vivarium create --cloud-image', () => {
  let config: VmConfig;
  let dir = '';

  it('makes a thin disk on the image, grown, a seed with the keys, a key of its own and an SSH forward', async () => {
    const res = await runCli(
      [
        'create',
        'Dev Box',
        '--cloud-image',
        image,
        '--user',
        'dev',
        '--ssh-key',
        pubKey,
        '--disk',
        '1G',
        '--json',
      ],
      env(),
    );
    expect(res.code, res.stderr).toBe(0);
    const vm = json<{ config: VmConfig; dir: string; ready: boolean; ssh: string | null }>(
      res.stdout,
    );
    ({ config, dir } = vm);
    expect(config.cloudInit).toMatchObject({
      user: 'dev',
      hostname: 'dev-box',
      userKeys: true,
      password: false,
      keyFile: 'ssh/id_ed25519',
      image: { file: image, format: 'qcow2', mode: 'overlay' },
    });
    expect(config).toMatchObject({ guestAgent: true, cdrom: null, bootOrder: ['disk'] });
    expect(config.disks).toEqual([
      {
        id: 'disk0',
        file: 'disk0.qcow2',
        format: 'qcow2',
        bus: 'virtio',
        readOnly: false,
        cache: 'writeback',
      },
    ]);
    expect(natForwards(config)).toEqual([
      expect.objectContaining({
        protocol: 'tcp',
        hostAddress: '127.0.0.1',
        guestPort: 22,
        auto: true,
      }),
    ]);
    expect(vm.ready).toBe(false);
    expect(vm.ssh).toBeNull();

    const info = json<{ 'virtual-size': number; 'backing-filename': string }>(
      execFileSync('qemu-img', ['info', '--output=json', join(dir, 'disk0.qcow2')], {
        encoding: 'utf8',
      }),
    );
    expect(info['backing-filename']).toBe(image);
    expect(info['virtual-size']).toBe(1024 ** 3);

    const seed = await readFile(join(dir, 'cidata.iso'));
    expect(seed.subarray(32769, 32774).toString('latin1')).toBe('CD001');
    const vivariumKey = (await readFile(join(dir, 'ssh', 'id_ed25519.pub'), 'utf8')).trim();
    const userKey = (await readFile(pubKey, 'utf8')).trim();
    expect(seed.includes(vivariumKey)).toBe(true);
    expect(seed.includes(userKey)).toBe(true);
    expect(seed.includes('instance-id: vivarium-' + config.id)).toBe(true);
    for (const file of ['cidata.iso', 'cloud-init.json', 'ssh/id_ed25519']) {
      expect(((await stat(join(dir, file))).mode & 0o777).toString(8), file).toBe('600');
    }
  });

  it('takes a password on stdin and keeps only its hash', async () => {
    const res = await runCli(
      ['create', 'pw', '--cloud-image', image, '--user', 'dev', '--password-stdin', '--json'],
      env(),
      60_000,
      'correct horse\n',
    );
    expect(res.code, res.stderr).toBe(0);
    const vm = json<{ config: VmConfig; dir: string }>(res.stdout);
    expect(vm.config.cloudInit?.password).toBe(true);
    const inputs = await readFile(join(vm.dir, 'cloud-init.json'), 'utf8');
    expect(inputs).toMatch(/"passwordHash": "\$6\$/);
    expect(inputs).not.toContain('correct horse');
    expect((await readFile(join(vm.dir, 'cidata.iso'))).includes('correct horse')).toBe(false);
    // Another VM, another host port.
    expect(natForwards(vm.config)[0]?.hostPort).not.toBe(natForwards(config)[0]?.hostPort);
  });

  it('refuses bad input, naming the flag, and leaves nothing behind', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--user', 'root'], /system account.*--user/],
      [['--user', 'dev', '--hostname', 'bad_name'], /host name.*--hostname/],
      [['--user', 'dev', '--ssh-key', join(home.dir, 'me_ed25519')], /private key/],
    ];
    for (const [extra, message] of cases) {
      const res = await runCli(['create', 'bad', '--cloud-image', image, ...extra], env());
      expect(res.code, extra.join(' ')).not.toBe(0);
      expect(res.stderr).toMatch(message);
    }
    const missing = await runCli(
      ['create', 'bad', '--cloud-image', '/nope.qcow2', '--user', 'dev'],
      env(),
    );
    expect(missing.stderr).toMatch(/nope\.qcow2/);
    const iso = await runCli(['create', 'bad', '--cloud-image', guest.iso, '--user', 'dev'], env());
    expect(iso.stderr).toMatch(/install ISO, not a cloud image/);
    const both = await runCli(['create', 'bad', '--cloud-image', image, '--iso', guest.iso], env());
    expect(both.code).not.toBe(0);
    const list = json<Array<{ name: string }>>((await runCli(['list', '--json'], env())).stdout);
    expect(list.map((v) => v.name).sort()).toEqual(['Dev Box', 'pw']);
  });

  it('gives a clone its own host name, SSH port, key and seed', async () => {
    const res = await runCli(['clone', 'Dev Box', 'Dev Box 2', '--json'], env(), 120_000);
    expect(res.code, res.stderr).toBe(0);
    const status = await runCli(['status', 'Dev Box 2', '--json'], env());
    const clone = json<{ config: VmConfig; dir: string }>(status.stdout);
    expect(clone.config.cloudInit).toMatchObject({
      hostname: 'dev-box-2',
      user: 'dev',
      userKeys: true,
    });
    expect(clone.config.cloudInit?.image.mode).toBe('copy');
    const port = natForwards(clone.config)[0]?.hostPort;
    expect(port).not.toBe(natForwards(config)[0]?.hostPort);
    const seed = await readFile(join(clone.dir, 'cidata.iso'));
    expect(seed.includes(`instance-id: vivarium-${clone.config.id}`)).toBe(true);
    expect(seed.includes((await readFile(pubKey, 'utf8')).trim())).toBe(true);
    const ownKey = await readFile(join(clone.dir, 'ssh', 'id_ed25519.pub'), 'utf8');
    expect(ownKey).not.toBe(await readFile(join(dir, 'ssh', 'id_ed25519.pub'), 'utf8'));
  });

  it('`ssh` of a stopped VM says to start it; `status` shows the login', async () => {
    const res = await runCli(['ssh', 'Dev Box', '--', 'true'], env());
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/is stopped: start it first \(vivarium start 'Dev Box'\)/);
    const status = await runCli(['status', 'Dev Box'], env());
    expect(status.stdout).toMatch(/SSH: {5}ssh -p \d+ dev@127\.0\.0\.1/);
  });
});
