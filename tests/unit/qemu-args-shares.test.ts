/**
 * The argv of shared folders and clipboard sharing (golden files beside qemu-args.test.ts's, in
 * tests/fixtures/argv/shares-*.txt; UPDATE_GOLDEN=1 rewrites them), and the rules the Hardware
 * tab and the CLI show: tags, paths, the guest's lines.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VERSION, VmConfigSchema, type VmConfig } from '../../common/contract';
import {
  NINEP_MSIZE,
  guestFstabLine,
  guestMountLine,
  sharePathProblem,
  shareReadOnlyProblem,
  shareTagProblem,
  tagFromPath,
} from '../../common/rules/shares';
import {
  buildQemuArgs,
  smbSharesProblem,
  type LaunchContext,
} from '../../electron/engine/qemu/args';
import { virtiofsdArgs } from '../../electron/engine/qemu/virtiofsd';
import { enginePaths, vmFiles } from '../../electron/engine/paths';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'argv');
const ID = 'a1b2c3d4e5f6';
const MAC = '52:54:00:d4:e5:f6';

function config(overrides: Record<string, unknown> = {}): VmConfig {
  return VmConfigSchema.parse({
    configVersion: CONFIG_VERSION,
    nics: [{ model: 'virtio-net-pci', mac: MAC, attach: { kind: 'nat' } }],
    id: ID,
    name: 'Test VM',
    createdAt: '2026-01-01T00:00:00.000Z',
    memoryMiB: 1024,
    cpu: { model: 'max', count: 2 },
    disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'virtio' }],
    ...overrides,
  });
}

const files = vmFiles(
  enginePaths('/home/u/.local/share/vivarium', '/run/user/1000/vivarium/abcd1234'),
  ID,
);

function ctx(overrides: Partial<LaunchContext> = {}): LaunchContext {
  return {
    accel: 'tcg',
    platform: 'linux',
    ovmfCode: null,
    vmDir: files.dir,
    files,
    ...overrides,
  };
}

const cases: Record<string, [VmConfig, LaunchContext]> = {
  'shares-9p-rw-and-ro': [
    config({
      shares: [
        { tag: 'code', path: '/home/u/src' },
        { tag: 'docs', path: '/home/u/My Docs,old', readOnly: true },
      ],
    }),
    ctx(),
  ],
  'shares-smb-on-nat-card': [
    config({ shares: [{ tag: 'win', path: '/home/u/Public,share', mode: 'smb' }] }),
    ctx({ smbd: '/usr/sbin/smbd' }),
  ],
  'shares-virtiofs-shared-memory': [
    config({ shares: [{ tag: 'fast', path: '/home/u/data', mode: 'virtiofs' }] }),
    ctx({ virtiofsSockets: { fast: `${files.run}/vfs-fast.sock` } }),
  ],
  'clipboard-vdagent': [config({ clipboard: true, guestAgent: true }), ctx()],
};

describe('shares and clipboard argv golden files', () => {
  for (const [name, [cfg, context]] of Object.entries(cases)) {
    it(name, () => {
      const text = `${buildQemuArgs(cfg, context).join('\n')}\n`;
      const file = join(GOLDEN_DIR, `${name}.txt`);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  }
});

describe('shares in the argv', () => {
  it('escapes a comma in a 9p path so it cannot start a new -fsdev option', () => {
    const args = buildQemuArgs(cases['shares-9p-rw-and-ro']?.[0] ?? config(), ctx());
    expect(args).toContain(
      'local,id=share-docs,path=/home/u/My Docs,,old,security_model=none,readonly=on',
    );
    expect(args).toContain('local,id=share-code,path=/home/u/src,security_model=none');
  });

  it('keeps the sandbox but lets QEMU fork smbd when a folder is shared over SMB', () => {
    const smb = buildQemuArgs(
      cases['shares-smb-on-nat-card']?.[0] ?? config(),
      ctx({ smbd: '/usr/sbin/smbd' }),
    );
    const sandbox = smb[smb.indexOf('-sandbox') + 1] ?? '';
    expect(smb.includes('-sandbox') ? sandbox : 'none').not.toMatch(/spawn=deny/);
    const netdev = JSON.parse(smb[smb.indexOf('-netdev') + 1] ?? '{}') as Record<string, unknown>;
    expect(netdev).toMatchObject({ type: 'user', smb: '/home/u/Public,share' });
    const plain = buildQemuArgs(config(), ctx());
    expect(plain[plain.indexOf('-sandbox') + 1]).toMatch(/spawn=deny/);
  });

  it('refuses SMB without smbd (with the install line), without a NAT card, and two on one card', () => {
    const one = config({ shares: [{ tag: 'w', path: '/w', mode: 'smb' }] });
    expect(() => buildQemuArgs(one, ctx())).toThrow(/sudo apt install samba/);
    const noNat = config({ nics: [], shares: [{ tag: 'w', path: '/w', mode: 'smb' }] });
    expect(smbSharesProblem(noNat)).toMatch(/this VM has none: add a NAT card, or use 9p/);
    const two = config({
      shares: [
        { tag: 'a', path: '/a', mode: 'smb' },
        { tag: 'b', path: '/b', mode: 'smb' },
      ],
    });
    expect(smbSharesProblem(two)).toMatch(
      /one SMB folder per NAT card, and this VM has 1 NAT card/,
    );
    expect(() => buildQemuArgs(two, ctx({ smbd: '/usr/sbin/smbd' }))).toThrow(/one SMB folder/);
  });

  it('needs virtiofsd running for a virtiofs share, and gives QEMU shared memory for it', () => {
    const vfs = config({ shares: [{ tag: 'fast', path: '/d', mode: 'virtiofs' }] });
    expect(() => buildQemuArgs(vfs, ctx())).toThrow(/virtiofsd is not running/);
    expect(virtiofsdArgs({ socket: '/run/x.sock', source: '/d', log: '/l' })).toEqual([
      '--socket-path=/run/x.sock',
      '-o',
      'source=/d',
      '-o',
      'cache=auto',
      '-f',
    ]);
  });

  it('refuses two shares with one tag and a tag that is not a word when a config loads', () => {
    expect(() =>
      config({
        shares: [
          { tag: 'a', path: '/a' },
          { tag: 'a', path: '/b' },
        ],
      }),
    ).toThrow(/Two shared folders have the tag a/);
    expect(() => config({ shares: [{ tag: 'a,b', path: '/a' }] })).toThrow(/short word/);
    expect(() => config({ shares: [{ tag: 'a', path: 'rel/dir' }] })).toThrow(/absolute path/);
  });
});

describe('share rules', () => {
  it('takes short words as tags and makes one from a folder name', () => {
    expect(shareTagProblem('data')).toBeNull();
    expect(shareTagProblem('my-share_2')).toBeNull();
    expect(shareTagProblem('')).toMatch(/Give the share a tag/);
    expect(shareTagProblem('9lives')).toMatch(/starting with a letter/);
    expect(shareTagProblem('a b')).toMatch(/short word/);
    expect(shareTagProblem('x'.repeat(32))).toMatch(/31 characters/);
    expect(tagFromPath('/home/u/My Photos/')).toBe('My_Photos');
    expect(tagFromPath('/srv/2024,data')).toBe('data');
    expect(tagFromPath('/')).toBe('share');
  });

  it('refuses a relative path everywhere and a comma for virtiofs only; virtiofs has no read-only mode', () => {
    expect(sharePathProblem('relative', '9p')).toMatch(/absolute path/);
    expect(sharePathProblem('/a,b', '9p')).toBeNull();
    expect(sharePathProblem('/a,b', 'smb')).toBeNull();
    expect(sharePathProblem('/a,b', 'virtiofs')).toMatch(/comma/);
    expect(shareReadOnlyProblem('virtiofs', true)).toMatch(/no read-only mode/);
    expect(shareReadOnlyProblem('9p', true)).toBeNull();
  });

  it('gives the guest one line to mount each kind, with a large msize for 9p', () => {
    expect(NINEP_MSIZE).toBe(524288);
    expect(guestMountLine({ tag: 'code', mode: '9p', readOnly: true })).toBe(
      'mkdir -p /mnt/code && mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,ro code /mnt/code',
    );
    expect(guestFstabLine({ tag: 'code', mode: '9p', readOnly: false })).toBe(
      'code /mnt/code 9p trans=virtio,version=9p2000.L,msize=524288,nofail 0 0',
    );
    expect(guestMountLine({ tag: 'w', mode: 'smb', readOnly: false })).toBe(
      'net use Z: \\\\10.0.2.4\\qemu',
    );
    expect(guestFstabLine({ tag: 'w', mode: 'smb', readOnly: false })).toBeNull();
    expect(guestMountLine({ tag: 'f', mode: 'virtiofs', readOnly: false })).toBe(
      'mkdir -p /mnt/f && mount -t virtiofs f /mnt/f',
    );
  });
});
