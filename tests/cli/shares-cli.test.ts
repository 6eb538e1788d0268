/**
 * `vivarium share add|list|rm` and `vivarium clipboard` on the built CLI: a share added from a
 * relative path, listed with the guest's mount line (and in --json), refused with what to do
 * (a missing folder, a taken tag, a bad mode), removed; the clipboard switched on and off.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShareList, VmSummary } from '../../common/contract';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { guest, tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
const viv = (...args: string[]) => runCli(args, { VIVARIUM_HOME: home.dir });

beforeAll(async () => {
  requireBuiltCli();
  home = await tempHome('viv-cli-share-');
  await mkdir(join(home.dir, 'project files'));
});

afterAll(async () => {
  await home.remove();
});

describe('vivarium share', () => {
  it('adds, lists and removes shared folders, with the line the guest runs', async () => {
    const made = await viv('create', 'box', '--kernel', guest.kernel, '--memory', '128', '--json');
    expect(made.code).toBe(0);
    const vm = JSON.parse(made.stdout) as VmSummary;

    const dir = join(home.dir, 'project files');
    const added = await viv('share', 'add', 'box', dir, '--readonly');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`Shared ${dir} as 'project_files' (9p, read-only).`);
    expect(added.stdout).toContain(
      'In the guest: mkdir -p /mnt/project_files && mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,ro project_files /mnt/project_files',
    );

    const json = await viv('share', 'add', vm.id, home.dir, '--tag', 'home', '--json');
    const list = JSON.parse(json.stdout) as ShareList;
    expect(list.shares.map((s) => [s.config.tag, s.config.mode, s.config.readOnly])).toEqual([
      ['project_files', '9p', true],
      ['home', '9p', false],
    ]);

    const shown = await viv('share', 'list', 'box');
    expect(shown.stdout).toMatch(/^home: .* \(9p, read-write\)$/m);
    expect(shown.stdout).toContain(
      '  /etc/fstab:   home /mnt/home 9p trans=virtio,version=9p2000.L,msize=524288,nofail 0 0',
    );
    expect(shown.stdout).toContain('Clipboard sharing: off');

    const missing = await viv('share', 'add', 'box', join(home.dir, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/There is no folder .*nope on this computer: create it/);
    const taken = await viv('share', 'add', 'box', home.dir, '--tag', 'home');
    expect(taken.stderr).toContain('"box" already has a shared folder tagged home');
    const badTag = await viv('share', 'add', 'box', home.dir, '--tag', 'a,b');
    expect(badTag.stderr).toMatch(/A tag is a short word.*--tag/);
    const badMode = await viv('share', 'add', 'box', home.dir, '--mode', 'nfs');
    expect(badMode.code).toBe(2);

    expect((await viv('share', 'rm', 'box', 'home')).stdout).toContain(
      "Removed the shared folder 'home'.",
    );
    const gone = await viv('share', 'rm', 'box', 'home');
    expect(gone.stderr).toContain(
      '"box" has no shared folder tagged home: its tags are project_files',
    );
    const after = JSON.parse((await viv('share', 'ls', 'box', '--json')).stdout) as ShareList;
    expect(after.shares.map((s) => s.config.tag)).toEqual(['project_files']);
  });

  it('turns clipboard sharing on and off', async () => {
    expect((await viv('create', 'clip', '--kernel', guest.kernel, '--memory', '128')).code).toBe(0);
    expect((await viv('clipboard', 'clip', 'on')).stdout).toContain(
      'Clipboard sharing is on for "clip".',
    );
    expect((await viv('share', 'list', 'clip')).stdout).toContain('Clipboard sharing: on');
    const bad = await viv('clipboard', 'clip', 'maybe');
    expect(bad.code).toBe(2);
    await viv('clipboard', 'clip', 'off');
    const list = JSON.parse((await viv('share', 'list', 'clip', '--json')).stdout) as ShareList;
    expect(list.clipboard).toBe(false);
  });
});
