/**
 * Guests of other architectures on the built CLI (`node out/main/cli.js`, from `npm run build`):
 * `detect` tells an arm64 ISO's architecture from its boot files and says how to create it,
 * `create --arch` makes a VM on that architecture's preset (and refuses an unknown one),
 * `list` and `status` show it, `set --arch` moves a stopped VM, `host --json` lists each
 * architecture's emulator.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { tempHome } from '../helpers/fixtures';

const ARM_ISO = resolve(import.meta.dirname, '../fixtures/.cache/arch/arm64/grub.iso');
const skip = existsSync(ARM_ISO)
  ? null
  : `${ARM_ISO} is missing: run bash tests/fixtures/build-arch-guests.sh`;
if (skip) console.warn(`[cli] skipping the architecture tests: ${skip}`);

let home: Awaited<ReturnType<typeof tempHome>>;

function run(args: string[]): Promise<CliResult> {
  return runCli(args, { VIVARIUM_HOME: home.dir, VIVARIUM_OSINFO_DIR: '' });
}

describe.skipIf(skip !== null)('vivarium with --arch', () => {
  beforeAll(async () => {
    requireBuiltCli();
    home = await tempHome('viv-archcli-');
  });

  afterAll(async () => {
    await home.remove();
  });

  it("detects an arm64 ISO's architecture from its boot files", async () => {
    const json = await run(['detect', ARM_ISO, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const d = JSON.parse(json.stdout) as {
      arch: string;
      iso: { architectures: string[]; archEvidence: Array<{ reason: string }> };
    };
    expect(d.arch).toBe('aarch64');
    expect(d.iso.architectures).toEqual(['aarch64']);
    expect(d.iso.archEvidence[0]?.reason).toBe('EFI boot image holds EFI/BOOT/BOOTAA64.EFI');
    const human = await run(['detect', ARM_ISO]);
    expect(human.stdout).toContain(
      'Boots on:    ARM 64-bit (aarch64) (EFI boot image holds EFI/BOOT/BOOTAA64.EFI)',
    );
    expect(human.stdout).toContain('vivarium create NAME --os generic --arch aarch64 --iso');
  });

  it('refuses an architecture it does not know, naming the ones it does', async () => {
    const res = await run(['create', 'nope', '--arch', 'sparc64', '--iso', ARM_ISO]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/'sparc64' is invalid.*x86_64, aarch64, ppc64le, s390x, riscv64/);
  });

  it('creates a VM on the architecture, lists and shows it, and moves it back', async () => {
    const res = await run([
      'create',
      'arm',
      '--arch',
      'aarch64',
      '--iso',
      ARM_ISO,
      '--memory',
      '256',
      '--disk',
      '0',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^Created arm .*ARM 64-bit \(aarch64\), virt .*UEFI \(AAVMF\)/m);
    expect(res.stdout).toMatch(/Note: ARM 64-bit \(aarch64\) is emulated .* times slower/);
    const list = await run(['list']);
    expect(list.stdout).toMatch(/^NAME\s+STATE\s+ARCH\s+CPUS/m);
    expect(list.stdout).toMatch(/^arm\s+stopped\s+aarch64\s/m);
    const status = await run(['status', 'arm']);
    expect(status.stdout).toMatch(/^Arch: {4}aarch64$/m);
    const json = JSON.parse((await run(['status', 'arm', '--json'])).stdout) as { arch: string };
    expect(json.arch).toBe('aarch64');

    const back = await run(['set', 'arm', '--arch', 'x86_64']);
    expect(back.code, back.stderr).toBe(0);
    const after = JSON.parse((await run(['status', 'arm', '--json'])).stdout) as {
      arch: string;
      config: { machine: string };
    };
    expect(after).toMatchObject({ arch: 'x86_64', config: { machine: 'q35' } });
  });

  it('keeps the architecture of a VM with snapshots', async () => {
    const made = await run([
      'create',
      'snap',
      '--iso',
      ARM_ISO,
      '--memory',
      '256',
      '--disk',
      '64M',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const snap = await run(['snapshot', 'create', 'snap', 'before']);
    expect(snap.code, snap.stderr).toBe(0);
    const res = await run(['set', 'snap', '--arch', 'aarch64']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'The VM has snapshots of its current architecture: delete its snapshot before changing the architecture',
    );
    const after = JSON.parse((await run(['status', 'snap', '--json'])).stdout) as { arch: string };
    expect(after.arch).toBe('x86_64');
  });

  it("lists each architecture's emulator in host --json", async () => {
    const res = await run(['host', '--json']);
    const host = JSON.parse(res.stdout) as { arches?: Array<{ arch: string; ready: boolean }> };
    expect(host.arches?.map((a) => a.arch)).toEqual([
      'x86_64',
      'aarch64',
      'ppc64le',
      's390x',
      'riscv64',
    ]);
    expect(host.arches?.find((a) => a.arch === 'aarch64')?.ready).toBe(true);
  });
});
