/**
 * `vivarium host` lists each guest architecture: its emulator and firmware, how it runs here and
 * what to install (through the built CLI, `npm run build`; this machine has them all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchSupport } from '../../common/contract';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;

async function ok(args: string[]): Promise<string> {
  const r = await runCli(args, { VIVARIUM_HOME: home.dir }, 120_000);
  if (r.code !== 0) throw new Error(`vivarium ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  requireBuiltCli();
  home = await tempHome('viv-cli-arch-');
});

afterAll(() => home.remove());

describe('vivarium host: guest architectures', () => {
  it('--json lists every architecture with its emulator, firmware and accelerator', async () => {
    const info = JSON.parse(await ok(['host', '--json'])) as {
      arch: string;
      arches: ArchSupport[];
    };
    expect(info.arches.map((a) => a.arch)).toEqual([
      'x86_64',
      'aarch64',
      'ppc64le',
      's390x',
      'riscv64',
    ]);
    const arm = info.arches.find((a) => a.arch === 'aarch64')!;
    expect(arm.qemu?.path).toMatch(/qemu-system-aarch64$/);
    expect(arm.uefi?.code).toMatch(/AAVMF_CODE/);
    expect(arm).toMatchObject({ ready: true, install: null, missingPackages: [] });
    expect(info.arches.find((a) => a.arch === 'ppc64le')!.qemu?.path).toMatch(/qemu-system-ppc64$/);
    for (const a of info.arches) {
      if (a.arch === 'x86_64') continue;
      // This host is x86-64: every other architecture is emulated, with the notice.
      expect(a, a.arch).toMatchObject({ native: false, accelerator: 'tcg' });
      expect(a.notice, a.arch).toMatch(/emulated .* times slower/);
    }
  });

  it('says per architecture whether it is ready and how it runs', async () => {
    const human = await ok(['host']);
    expect(human).toMatch(/Guest architectures:/);
    expect(human).toMatch(/aarch64\s+ARM 64-bit \(aarch64\): ready, emulated \(TCG\)/);
    expect(human).toMatch(/s390x\s+IBM Z mainframe \(s390x\): ready, emulated \(TCG\)/);
  });
});
