/**
 * Golden argv for every curated catalogue entry: its profile applied to a fixed host, turned
 * into a VM config as `vm.create` does, then `buildQemuArgs`. `UPDATE_GOLDEN=1` rewrites
 * tests/fixtures/argv/profile-*.txt. Then the real qemu-system-x86_64 checks each distinct
 * hardware combination: started with -S, asked for its status over QMP, told to quit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VmConfigSchema,
  type CreateDefaults,
  type HostInfo,
  type VmConfig,
} from '../../common/contract';
import { Catalog, loadCurated } from '../../electron/engine/catalog/catalog';
import { profileToCreateDefaults } from '../../electron/engine/catalog/profile';
import { enginePaths, vmFiles } from '../../electron/engine/paths';
import { buildQemuArgs, type LaunchContext } from '../../electron/engine/qemu/args';
import { connectWhenReady } from '../../electron/engine/qmp/client';
import { parseSize } from '../../electron/engine/storage/qemu-img';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'argv');
const ID = 'c0ffee123456';
const QEMU = process.env['VIVARIUM_QEMU'] ?? 'qemu-system-x86_64';
const HAVE_QEMU =
  spawnSync(QEMU, ['--version']).status === 0 && spawnSync('qemu-img', ['--version']).status === 0;
const OVMF = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
  secCode: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  secVars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
};
const HAVE_OVMF = existsSync(OVMF.code) && existsSync(OVMF.vars);
const HAVE_SECBOOT = existsSync(OVMF.secCode) && existsSync(OVMF.secVars);
if (!HAVE_QEMU)
  console.warn(
    'catalog-profiles: QEMU acceptance skipped (qemu-system-x86_64 or qemu-img missing)',
  );

const host: HostInfo = {
  platform: 'linux',
  arch: 'x64',
  cpus: 4,
  totalMemoryMiB: 16384,
  freeDiskBytes: 200 * 2 ** 30,
  dataDir: '/home/u/.local/share/vivarium',
  qemu: { binaries: [], img: null },
  qemuMissing: null,
  accelerators: [],
  bestAccelerator: 'tcg',
  notices: [],
  firmware: { seabios: null, ovmfCode: OVMF.code, ovmfVars: OVMF.vars },
};

/** What engine.createVm builds from a request filled in by the profile. */
function configFrom(d: CreateDefaults, overrides: Partial<VmConfig> = {}): VmConfig {
  return VmConfigSchema.parse({
    configVersion: 3,
    id: ID,
    name: `Profile ${d.entry}`,
    os: d.os,
    createdAt: '2026-01-01T00:00:00.000Z',
    machine: d.machine,
    firmware: d.firmware,
    cpu: { model: 'max', count: d.cpus },
    memoryMiB: d.memoryMiB,
    disks:
      parseSize(d.diskSize) > 0
        ? [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: d.diskBus }]
        : [],
    cdrom: '/isos/install.iso',
    bootOrder: ['cdrom', 'disk'],
    nics: [{ model: d.nicModel, mac: '52:54:00:12:34:56', attach: { kind: 'nat' } }],
    video: d.video,
    sound: d.sound,
    usbTablet: d.usbTablet,
    ...overrides,
  });
}

const files = vmFiles(
  enginePaths('/home/u/.local/share/vivarium', '/run/user/1000/vivarium/abcd1234'),
  ID,
);
const ctx: LaunchContext = {
  accel: 'tcg',
  platform: 'linux',
  ovmfCode: OVMF.code,
  ovmfSecureBootCode: OVMF.secCode,
  tpmSocket: '/run/user/1000/vivarium/abcd1234/c0ffee123456/swtpm.sock',
  vmDir: files.dir,
  files,
};

const catalog = Catalog.build(loadCurated(), [], null);
const cases: Array<[string, VmConfig]> = catalog.entries.map((e) => [
  `profile-${e.id}`,
  configFrom(profileToCreateDefaults(e, host)),
]);
// What the config can express beyond today's profiles: Windows 11 with its TPM and Secure Boot.
const win11 = profileToCreateDefaults(catalog.get('windows-11')!, host);
cases.push([
  'profile-windows-11-tpm-secureboot',
  configFrom(win11, { tpm: true, secureBoot: true }),
]);

describe('catalogue profiles -> argv (golden)', () => {
  for (const [name, config] of cases) {
    it(name, () => {
      const text = `${buildQemuArgs(config, ctx).join('\n')}\n`;
      const file = join(GOLDEN_DIR, `${name}.txt`);
      if (process.env['UPDATE_GOLDEN']) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('refuses what the host cannot do, saying what is missing', () => {
    const tpmOnly = configFrom(win11, { tpm: true });
    expect(() => buildQemuArgs(tpmOnly, { ...ctx, tpmSocket: null })).toThrow(/needs swtpm/);
    const sb = configFrom(win11, { secureBoot: true });
    expect(() => buildQemuArgs(sb, { ...ctx, ovmfSecureBootCode: null })).toThrow(
      /Secure Boot build/,
    );
    expect(() => buildQemuArgs({ ...sb, firmware: 'bios' }, ctx)).toThrow(/Secure Boot needs UEFI/);
  });
});

/** Hardware that changes the argv; entries sharing it need only one QEMU run. */
function signature(c: VmConfig): string {
  return [
    c.machine,
    c.firmware,
    c.secureBoot,
    c.disks.map((d) => d.bus).join('+') || 'nodisk',
    c.nics[0]?.model ?? 'nonic',
    c.video,
    c.sound,
    c.usbTablet,
  ].join('/');
}

describe.skipIf(!HAVE_QEMU)('QEMU accepts each distinct profile', () => {
  let dir = '';
  let iso = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viv-prof-'));
    iso = join(dir, 'install.iso');
    await writeFile(iso, Buffer.alloc(64 * 2048));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const distinct = new Map<string, [string, VmConfig]>();
  for (const [name, config] of cases) {
    if (name.includes('tpm')) continue;
    const sig = signature(config);
    if (!distinct.has(sig)) distinct.set(sig, [name, config]);
  }
  if (HAVE_SECBOOT) {
    distinct.set('secure-boot', [
      'windows-11 with Secure Boot',
      configFrom(win11, { secureBoot: true }),
    ]);
  }

  for (const [sig, [name, base]] of distinct) {
    const needsOvmf = base.firmware === 'uefi';
    it.skipIf(needsOvmf && !HAVE_OVMF)(
      `${name} (${sig})`,
      async () => {
        const id = Math.random().toString(16).slice(2, 14).padEnd(12, '0');
        const home = join(dir, id);
        const paths = enginePaths(home, join(dir, 'run', id.slice(0, 6)));
        const f = vmFiles(paths, id);
        await mkdir(f.dir, { recursive: true });
        await mkdir(f.run, { recursive: true, mode: 0o700 });
        await mkdir(f.logsDir, { recursive: true });
        const config: VmConfig = {
          ...base,
          id,
          cdrom: iso,
          memoryMiB: Math.min(base.memoryMiB, 512),
          cpu: { model: 'max', count: 1 },
        };
        for (const d of config.disks) {
          expect(
            spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(f.dir, d.file), '1G'])
              .status,
          ).toBe(0);
        }
        if (config.firmware === 'uefi') {
          const vars = config.secureBoot ? OVMF.secVars : OVMF.vars;
          expect(
            spawnSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', vars, f.nvram])
              .status,
          ).toBe(0);
        }
        const args = buildQemuArgs(config, { ...ctx, vmDir: f.dir, files: f, tpmSocket: null });
        const child = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        try {
          const qmp = await Promise.race([
            connectWhenReady(f.qmpSockets[0]!, { deadlineMs: 20_000 }),
            exited.then((code) => {
              throw new Error(`QEMU exited (${code}) before QMP: ${stderr}`);
            }),
          ]);
          const status = await qmp.execute<{ status: string }>('query-status');
          expect(status.status).toBe('prelaunch');
          await qmp.execute('quit').catch(() => undefined);
          qmp.close();
          expect(await exited).toBe(0);
        } finally {
          if (child.exitCode === null) child.kill('SIGKILL');
        }
        expect(stderr).not.toMatch(/error/i);
      },
      30_000,
    );
  }
});
