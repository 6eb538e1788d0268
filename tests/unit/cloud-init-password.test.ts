import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { encrypt } from 'unixcrypt';
import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  isSha512CryptHash,
  randomSalt,
} from '../../electron/engine/cloud-init/password';

/** The SHA-512 vectors published with Drepper's "Unix crypt using SHA-256 and SHA-512". */
const VECTORS: Array<[string, string, string]> = [
  [
    '$6$saltstring',
    'Hello world!',
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
  ],
  [
    '$6$rounds=10000$saltstringsaltstring',
    'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
  ],
  [
    '$6$rounds=5000$toolongsaltstring',
    'This is just a test',
    '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0',
  ],
  [
    '$6$rounds=1400$anotherlongsaltstring',
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1',
  ],
  [
    '$6$rounds=77777$short',
    'we have a short salt string but not a short password',
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0',
  ],
  [
    '$6$rounds=123456$asaltof16chars..',
    'a short string',
    '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1',
  ],
  [
    '$6$rounds=10$roundstoolow',
    'the minimum number is still observed',
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.',
  ],
];

function openssl(plain: string, salt: string): string {
  // -stdin keeps passwords that start with '-' from being read as options.
  return execFileSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], {
    input: `${plain}\n`,
  })
    .toString()
    .trim();
}

describe('hashPassword', () => {
  it('matches the specification test vectors (the library, rounds included)', () => {
    for (const [salt, plain, expected] of VECTORS) expect(encrypt(plain, salt)).toBe(expected);
    expect(hashPassword('Hello world!', 'saltstring')).toBe(VECTORS[0]?.[2]);
  });

  it('matches openssl passwd -6 for any password and salt', () => {
    const salt = fc.stringMatching(/^[./0-9A-Za-z]{1,16}$/);
    // openssl reads one line (no newlines) and answers <NULL> for an empty one; through stdin,
    // anything else goes, UTF-8 included.
    const plain = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 80 })
      .filter((s) => !/[\n\r\0]/.test(s));
    fc.assert(
      fc.property(plain, salt, (p, s) => {
        expect(hashPassword(p, s)).toBe(openssl(p, s));
      }),
      { numRuns: 40 },
    );
  });

  it('draws a fresh 16-character salt each time', () => {
    const a = hashPassword('secret');
    const b = hashPassword('secret');
    expect(a).not.toBe(b);
    expect(isSha512CryptHash(a)).toBe(true);
    expect(a.split('$')[2]).toHaveLength(16);
    expect(randomSalt()).toMatch(/^[./0-9A-Za-z]{16}$/);
    expect(openssl('secret', a.split('$')[2] ?? '')).toBe(a);
  });

  it('refuses a salt crypt cannot hold', () => {
    expect(() => hashPassword('x', 'a$b')).toThrow(/salt/);
    expect(() => hashPassword('x', '')).toThrow(/salt/);
  });

  it('tells a hash from a password', () => {
    expect(isSha512CryptHash(VECTORS[0]?.[2] ?? '')).toBe(true);
    expect(isSha512CryptHash('$1$abc$def')).toBe(false);
    expect(isSha512CryptHash('hunter2')).toBe(false);
  });
});
