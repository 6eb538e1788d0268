/**
 * Seed contents: golden files for a few specs (`UPDATE_GOLDEN=1` rewrites them), the rules of
 * each field, and, where Debian's cloud-init is installed, its own schema check.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildSeedFiles,
  CloudInitSpecSchema,
  renderMetaData,
  renderUserData,
  type CloudInitSpec,
} from '../../electron/engine/cloud-init/user-data';
import { hashPassword } from '../../electron/engine/cloud-init/password';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'cloud-init');
const work = mkdtempSync(join(tmpdir(), 'user-data-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

// Fixed keys (made once with ssh-keygen) so the golden files stay put.
const ED25519 =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDdcGdh6U7BsJ7w3Ru4N6/LgKxiV26n5uHL+gsAp3y4V dev@laptop';
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCVH6jOJ8Qn5PjA+0OrN2T6sMe/CPOrQpe4k5LFdFfb38d3K1Pq3cMwwNeSUEwiUOLsQ3KzVwpVZsRw6ZCeNLbE= work key';
const HASH = hashPassword('correct horse', 'goldensalt');

function spec(patch: Partial<CloudInitSpec> = {}): CloudInitSpec {
  return {
    user: 'dev',
    sshAuthorizedKeys: [ED25519],
    hostname: 'box',
    instanceId: 'vm-0123456789ab',
    installGuestAgent: true,
    growRoot: true,
    ...patch,
  };
}

const cases: Record<string, CloudInitSpec> = {
  'key-only': spec(),
  'full-host-defaults': spec({
    user: 'alice_w',
    passwordHash: HASH,
    sshAuthorizedKeys: [ED25519, ECDSA],
    hostname: 'web-01',
    timezone: 'America/Argentina/Buenos_Aires',
    locale: 'de_DE.UTF-8',
    keyboard: { layout: 'de', variant: 'nodeadkeys' },
  }),
  'password-only-no-agent': spec({
    sshAuthorizedKeys: [],
    passwordHash: HASH,
    installGuestAgent: false,
    growRoot: false,
    timezone: 'UTC',
  }),
  'fqdn-hostname': spec({ hostname: 'build.example.internal', keyboard: { layout: 'us' } }),
};

function cloudInitAvailable(): boolean {
  return spawnSync('cloud-init', ['--version']).status === 0;
}

describe('seed golden files', () => {
  for (const [name, s] of Object.entries(cases)) {
    it(name, () => {
      const files = buildSeedFiles(s);
      for (const f of files) {
        const file = join(GOLDEN_DIR, `${name}.${f.name}`);
        if (process.env.UPDATE_GOLDEN) {
          mkdirSync(GOLDEN_DIR, { recursive: true });
          writeFileSync(file, f.data);
        }
        expect(f.data).toBe(readFileSync(file, 'utf8'));
      }
      expect(files.map((f) => f.name)).toEqual(['user-data', 'meta-data']);
    });
  }

  it.skipIf(!cloudInitAvailable())(
    "passes Debian's cloud-init schema check (skipped without the cloud-init package)",
    () => {
      for (const [name, s] of Object.entries(cases)) {
        const file = join(work, `${name}.yaml`);
        writeFileSync(file, renderUserData(s));
        const r = spawnSync('cloud-init', ['schema', '-c', file], { encoding: 'utf8' });
        expect(`${r.stdout}${r.stderr}`).toMatch(/^Valid cloud-config/m);
        expect(r.status).toBe(0);
      }
    },
  );
});

describe('renderUserData', () => {
  it('gives the user passwordless sudo, keys, and no password login without a password', () => {
    const doc = parse(renderUserData(spec())) as Record<string, unknown>;
    expect(doc.users).toEqual([
      {
        name: 'dev',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [ED25519],
      },
    ]);
    expect(doc.ssh_pwauth).toBe(false);
    expect(doc.package_update).toBe(false);
    expect(doc.package_upgrade).toBe(false);
    expect(doc.growpart).toEqual({ mode: 'auto', devices: ['/'] });
    expect(doc.resize_rootfs).toBe(true);
    expect(doc.packages).toEqual(['qemu-guest-agent']);
  });

  it('unlocks the password and allows password SSH only when one is set', () => {
    const doc = parse(renderUserData(spec({ passwordHash: HASH }))) as {
      users: Array<Record<string, unknown>>;
      ssh_pwauth: boolean;
    };
    expect(doc.users[0]).toMatchObject({ lock_passwd: false, passwd: HASH });
    expect(doc.ssh_pwauth).toBe(true);
  });

  it('reads back the same under YAML 1.1, where a bare no or off would be a boolean', () => {
    const text = renderUserData(spec({ hostname: 'no', user: 'on', growRoot: false }));
    const doc = parse(text, { version: '1.1' }) as Record<string, unknown>;
    expect(doc.hostname).toBe('no');
    expect(doc.growpart).toEqual({ mode: 'off' });
    expect((doc.users as Array<{ name: string }>)[0]?.name).toBe('on');
  });

  it('starts with #cloud-config and keeps long key lines on one line', () => {
    const text = renderUserData(cases['full-host-defaults'] ?? spec());
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    expect(text).toContain(ECDSA);
  });

  it('has a guest agent line that sh accepts and that does nothing where nothing applies', () => {
    const doc = parse(renderUserData(spec())) as { runcmd: string[] };
    for (const line of doc.runcmd) {
      // Syntax check, then a run with a PATH holding no init tools: it must succeed quietly.
      execFileSync('sh', ['-n', '-c', line]);
      const r = spawnSync('/bin/sh', ['-c', line.replace(/usermod|chsh|pw /g, 'false ')], {
        env: { PATH: work },
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
    }
    expect(doc.runcmd.some((l) => l.includes('systemctl start qemu-guest-agent'))).toBe(true);
    expect(doc.runcmd.some((l) => l.includes('rc-service qemu-guest-agent start'))).toBe(true);
    expect(doc.runcmd.some((l) => l.includes('service qemu-guest-agent start'))).toBe(true);
  });

  it('refuses bad fields with messages that say what is wanted', () => {
    const issues = (s: CloudInitSpec) => {
      const r = CloudInitSpecSchema.safeParse(s);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues(spec({ user: 'root' }))).toEqual([
      'user: "root" is a system account: choose another login name',
    ]);
    expect(issues(spec({ user: 'Dev' }))[0]).toMatch(
      /^user: Use a login name of lowercase letters/,
    );
    expect(issues(spec({ user: '1dev' }))[0]).toMatch(/^user:/);
    expect(issues(spec({ user: 'a'.repeat(33) }))[0]).toMatch(/^user:/);
    expect(issues(spec({ hostname: '-box' }))[0]).toMatch(/^hostname:/);
    expect(issues(spec({ hostname: 'box_1' }))[0]).toMatch(/^hostname:/);
    expect(issues(spec({ hostname: `${'a'.repeat(64)}.b` }))[0]).toMatch(/^hostname:/);
    expect(issues(spec({ hostname: 'a.b-c.d9' }))).toEqual([]);
    expect(issues(spec({ timezone: '../../etc/passwd' }))[0]).toMatch(/^timezone:/);
    expect(issues(spec({ timezone: 'Etc/GMT+5' }))).toEqual([]);
    expect(issues(spec({ locale: 'en US' }))[0]).toMatch(/^locale:/);
    expect(issues(spec({ locale: 'C.UTF-8' }))).toEqual([]);
    expect(issues(spec({ keyboard: { layout: 'us; rm' } }))[0]).toMatch(/^keyboard.layout:/);
    expect(issues(spec({ sshAuthorizedKeys: ['-----BEGIN OPENSSH PRIVATE KEY-----'] }))[0]).toMatch(
      /^sshAuthorizedKeys.0: This is a private key/,
    );
    expect(issues(spec({ passwordHash: 'hunter2' }))[0]).toMatch(/^passwordHash: .*hashed/);
    expect(issues(spec({ sshAuthorizedKeys: [] }))).toEqual([
      'sshAuthorizedKeys: Give an SSH public key or a password, or nobody can log in',
    ]);
    expect(() => renderUserData(spec({ user: 'root' }))).toThrow(/system account/);
  });
});

describe('renderMetaData', () => {
  it('holds the instance id and hostname', () => {
    expect(renderMetaData({ instanceId: 'vm-1', hostname: 'box' })).toBe(
      'instance-id: vm-1\nlocal-hostname: box\n',
    );
    expect(() => renderMetaData({ instanceId: 'a b', hostname: 'box' })).toThrow();
  });
});
