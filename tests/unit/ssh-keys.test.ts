import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  listUserPublicKeys,
  parsePublicKey,
  sshKeygenMissingMessage,
} from '../../electron/engine/ssh/keys';

const work = mkdtempSync(join(tmpdir(), 'ssh-keys-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** A real key of each type from the host's ssh-keygen: `type base64 comment`. */
function realKey(type: string, bits?: number): string {
  const file = join(work, `k${String(n++)}`);
  execFileSync('ssh-keygen', [
    '-t',
    type,
    ...(bits ? ['-b', String(bits)] : []),
    '-N',
    '',
    '-q',
    '-C',
    'me@laptop two words',
    '-f',
    file,
  ]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

function fingerprint(line: string): string {
  const file = join(work, `fp${String(n++)}.pub`);
  writeFileSync(file, `${line}\n`);
  return (
    execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]).toString().split(' ')[1] ?? ''
  );
}

describe('parsePublicKey', () => {
  const ed = realKey('ed25519');
  const ecdsa = realKey('ecdsa', 384);
  const rsa = realKey('rsa', 2048);

  it('accepts ed25519, ecdsa and rsa keys and keeps comments with spaces', () => {
    for (const [line, type] of [
      [ed, 'ssh-ed25519'],
      [ecdsa, 'ecdsa-sha2-nistp384'],
      [rsa, 'ssh-rsa'],
    ] as const) {
      const parsed = parsePublicKey(`  ${line}\n`);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      expect(parsed.key.type).toBe(type);
      expect(parsed.key.comment).toBe('me@laptop two words');
      expect(parsed.key.line).toBe(line);
      expect(parsed.key.fingerprint).toBe(fingerprint(line));
    }
  });

  it('accepts a key without a comment and security-key types', () => {
    const [type, data] = ed.split(' ');
    const parsed = parsePublicKey(`${type ?? ''} ${data ?? ''}`);
    expect(parsed.ok && parsed.key.comment).toBe('');
    // An sk- key's blob starts with its own type name; the rest is not checked.
    const sk = 'sk-ssh-ed25519@openssh.com';
    const blob = Buffer.concat([
      Buffer.from([0, 0, 0, sk.length]),
      Buffer.from(sk),
      Buffer.alloc(40),
    ]);
    const skLine = `${sk} ${blob.toString('base64')} yubikey`;
    expect(parsePublicKey(skLine)).toMatchObject({ ok: true, key: { type: sk } });
  });

  it('refuses a private key pasted by mistake, saying so', () => {
    const file = join(work, `priv${String(n++)}`);
    execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', file]);
    const result = parsePublicKey(readFileSync(file, 'utf8'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/private key.*\.pub/s);
    const rsaPem = '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----';
    expect(!parsePublicKey(rsaPem).ok && parsePublicKey(rsaPem)).toMatchObject({
      reason: expect.stringMatching(/private key/) as unknown,
    });
  });

  it('refuses DSA, unknown types, broken base64 and a blob of another type', () => {
    const data = ed.split(' ')[1] ?? '';
    expect(parsePublicKey(`ssh-dss ${data}`)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/DSA/) as unknown,
    });
    expect(parsePublicKey('hello world')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not an OpenSSH/) as unknown,
    });
    expect(parsePublicKey(`ssh-ed25519 ${data.slice(0, -3)}`)).toMatchObject({ ok: false });
    expect(parsePublicKey(`ssh-rsa ${data}`)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not hold a ssh-rsa key/) as unknown,
    });
    expect(parsePublicKey('')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/empty/) as unknown,
    });
    expect(parsePublicKey(`${ed}\n${rsa}`)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/one SSH key/) as unknown,
    });
  });
});

describe('listUserPublicKeys', () => {
  it('lists the valid lines of ~/.ssh/*.pub only', async () => {
    const home = join(work, 'home');
    mkdirSync(join(home, '.ssh', 'sub.pub'), { recursive: true });
    const ed = realKey('ed25519');
    const rsa = realKey('rsa', 2048);
    writeFileSync(join(home, '.ssh', 'id_ed25519.pub'), `${ed}\n`);
    writeFileSync(join(home, '.ssh', 'two.pub'), `# a comment\n\n${rsa}\r\nnot a key\n`);
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'private, not listed');
    writeFileSync(join(home, '.ssh', 'broken.pub'), 'ssh-ed25519 AAAA\n');
    const keys = await listUserPublicKeys(home);
    expect(keys.map((k) => [k.file, k.type, k.line])).toEqual([
      [join(home, '.ssh', 'id_ed25519.pub'), 'ssh-ed25519', ed],
      [join(home, '.ssh', 'two.pub'), 'ssh-rsa', rsa],
    ]);
    expect(keys[0]?.comment).toBe('me@laptop two words');
  });

  it('is empty without ~/.ssh', async () => {
    expect(await listUserPublicKeys(join(work, 'nobody'))).toEqual([]);
  });
});

describe('generateKeyPair', () => {
  it('makes an ed25519 pair, files 0600 in a 0700 folder', async () => {
    const dir = join(work, 'vm', 'ssh');
    const pair = await generateKeyPair(dir, 'vivarium vm box');
    expect(pair.privateKeyFile).toBe(join(dir, 'id_ed25519'));
    expect(pair.publicKey).toMatch(/^ssh-ed25519 \S+ vivarium vm box$/);
    expect(readFileSync(`${pair.privateKeyFile}.pub`, 'utf8').trim()).toBe(pair.publicKey);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(pair.privateKeyFile).mode & 0o777).toBe(0o600);
    expect(statSync(`${pair.privateKeyFile}.pub`).mode & 0o777).toBe(0o600);
    // The private key really matches: ssh-keygen derives the same public key from it.
    const derived = execFileSync('ssh-keygen', ['-y', '-f', pair.privateKeyFile]).toString();
    expect(derived.split(' ').slice(0, 2)).toEqual(pair.publicKey.split(' ').slice(0, 2));
    await expect(generateKeyPair(dir, 'again')).rejects.toThrow(/already exists/);
  });

  it('names the package to install when ssh-keygen is missing', async () => {
    await expect(
      generateKeyPair(join(work, 'missing'), 'x', { sshKeygen: join(work, 'no-ssh-keygen') }),
    ).rejects.toThrow(/ssh-keygen was not found: .*(openssh|OpenSSH)/);
    expect(sshKeygenMissingMessage('linux', { ID: 'debian' })).toBe(
      'ssh-keygen was not found: sudo apt install openssh-client',
    );
    expect(sshKeygenMissingMessage('linux', { ID: 'fedora' })).toMatch(
      /dnf install openssh-clients/,
    );
    expect(sshKeygenMissingMessage('win32', null)).toMatch(/Install OpenSSH|install OpenSSH/);
  });
});
