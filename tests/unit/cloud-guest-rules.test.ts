import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreateVmRequestSchema, VmConfigSchema } from '../../common/contract';
import {
  hostnameFromName,
  hostnameProblem,
  publicKeyProblem,
  userNameProblem,
} from '../../common/rules/cloud-guest';
import { promisedPorts } from '../../electron/engine/guest/auto-forwards';
import { guestSsh } from '../../electron/engine/guest/ssh-access';
import { enginePaths, vmFiles } from '../../electron/engine/paths';

const KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkLbJ3y3wLkZ8bQ0m5b3c3Tq0b1+3pZ3v0yYcYb8cQe me@laptop';

describe('ready-to-use guest rules', () => {
  it('accepts ordinary logins and refuses system accounts and odd names', () => {
    for (const ok of ['dev', 'alice', 'a_b-c', '_svc', 'x1'])
      expect(userNameProblem(ok)).toBeNull();
    for (const bad of ['root', 'Dev', '1abc', 'a b', 'a/b', 'a,b', '', 'x'.repeat(33), 'nobody']) {
      expect(userNameProblem(bad)).toMatch(/login name|system account/);
    }
  });

  it('accepts RFC 1123 host names only', () => {
    for (const ok of ['web', 'web-1', 'a.b.c', 'X9']) expect(hostnameProblem(ok)).toBeNull();
    for (const bad of ['-web', 'web-', 'a..b', 'we b', 'a_b', '']) {
      expect(hostnameProblem(bad)).not.toBeNull();
    }
  });

  it('makes a valid host name out of any VM name', () => {
    expect(hostnameFromName('My Debian 13!')).toBe('my-debian-13');
    expect(hostnameFromName('Ünïcodé, with/slashes')).toBe('unicode-with-slashes');
    expect(hostnameFromName('!!!')).toBe('vm');
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (name) => {
        expect(hostnameProblem(hostnameFromName(name))).toBeNull();
      }),
    );
  });

  it('tells a public key from a private key and from junk', () => {
    expect(publicKeyProblem(KEY)).toBeNull();
    expect(publicKeyProblem('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...')).toMatch(
      /private key/,
    );
    expect(publicKeyProblem('hello world')).toMatch(/Not an OpenSSH public key/);
  });

  it('validates the cloud create request: no ISO beside it, a network, clear field errors', () => {
    const base = { name: 'x', cloud: { image: '/i.qcow2', user: 'dev' } };
    expect(CreateVmRequestSchema.safeParse(base).success).toBe(true);
    const withIso = CreateVmRequestSchema.safeParse({ ...base, iso: '/a.iso' });
    expect(withIso.error?.issues[0]?.message).toMatch(/boots its disk/);
    const offline = CreateVmRequestSchema.safeParse({ ...base, network: 'none' });
    expect(offline.error?.issues[0]?.message).toMatch(/needs a network/);
    const badUser = CreateVmRequestSchema.safeParse({
      ...base,
      cloud: { ...base.cloud, user: 'root' },
    });
    expect(badUser.error?.issues[0]).toMatchObject({ path: ['cloud', 'user'] });
    const badKey = CreateVmRequestSchema.safeParse({
      ...base,
      cloud: { ...base.cloud, sshKeys: ['-----BEGIN OPENSSH PRIVATE KEY-----'] },
    });
    expect(badKey.error?.issues[0]?.path).toEqual(['cloud', 'sshKeys', 0]);
  });
});

describe('ssh access to a cloud guest', () => {
  const files = vmFiles(enginePaths('/home/u/viv', '/run/viv'), 'a1b2c3d4e5f6');
  const config = (userKeys: boolean, hostAddress = '127.0.0.1') =>
    VmConfigSchema.parse({
      configVersion: 3,
      id: 'a1b2c3d4e5f6',
      name: 'dev',
      createdAt: '2026-01-01T00:00:00Z',
      memoryMiB: 512,
      nics: [
        {
          mac: '52:54:00:12:34:56',
          attach: {
            kind: 'nat',
            forwards: [{ protocol: 'tcp', hostAddress, hostPort: 2225, guestPort: 22, auto: true }],
          },
        },
      ],
      cloudInit: {
        user: 'me',
        hostname: 'dev',
        keyFile: 'ssh/id_ed25519',
        userKeys,
        image: { file: '/c/img.qcow2', format: 'qcow2', mode: 'overlay' },
      },
    });

  it("shows a plain command when the user's own key is in the guest, -i with Vivarium's otherwise", () => {
    expect(guestSsh(config(true), files)?.command).toBe('ssh -p 2225 me@127.0.0.1');
    expect(guestSsh(config(false), files)?.command).toBe(
      'ssh -i /home/u/viv/vms/a1b2c3d4e5f6/ssh/id_ed25519 -p 2225 me@127.0.0.1',
    );
  });

  it("connects through loopback for a forward on every address, with the VM's key and known_hosts", () => {
    const ssh = guestSsh(config(true, '0.0.0.0'), files);
    expect(ssh?.host).toBe('127.0.0.1');
    expect(ssh?.argv).toContain('/home/u/viv/vms/a1b2c3d4e5f6/ssh/id_ed25519');
    expect(ssh?.argv.join(' ')).toContain(files.knownHosts);
    expect(ssh?.argv.at(-1)).toBe('me@127.0.0.1');
  });

  it('counts the TCP host ports every other VM is promised', () => {
    const a = config(true);
    const b = VmConfigSchema.parse({
      ...a,
      id: 'b1b2c3d4e5f6',
      nics: [
        {
          mac: '52:54:00:12:34:57',
          attach: {
            kind: 'nat',
            forwards: [
              { protocol: 'udp', hostPort: 53, guestPort: 53 },
              { protocol: 'tcp', hostPort: 8080, guestPort: 80 },
            ],
          },
        },
      ],
    });
    expect([...promisedPorts([{ config: a }, { config: b }])].sort()).toEqual([2225, 8080]);
    expect([...promisedPorts([{ config: a }, { config: b }], a.id)]).toEqual([8080]);
  });
});
