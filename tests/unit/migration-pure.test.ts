/**
 * The pure parts of live migration: the destination URL as `vivarium serve` prints it, the
 * subprotocol the server's auth reads the token from, and the PSK file QEMU reads. (The
 * blockers are checked on a real QEMU in tests/server/migration.test.ts.)
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { methods } from '../../common/contract';
import { newPsk, pskCredsObject, writePskDir } from '../../electron/engine/migration/psk';
import { parseDestination } from '../../electron/engine/migration/remote';
import { protocolToken, tokenProtocols } from '../../electron/server/auth';

describe('parseDestination', () => {
  it('reads the URL serve prints (token in the fragment) and the ?token= form', () => {
    const d = parseDestination('http://127.0.0.1:8123/#token=abc123');
    expect(d).toEqual({
      rpcUrl: 'ws://127.0.0.1:8123/rpc',
      host: '127.0.0.1',
      token: 'abc123',
      shown: 'http://127.0.0.1:8123/',
    });
    expect(parseDestination('http://[::1]:9000/?token=t0k').host).toBe('::1');
    expect(parseDestination('https://box.lan:9000/#token=x').rpcUrl).toBe('wss://box.lan:9000/rpc');
  });

  it('refuses a URL without a token or of another scheme, saying what to paste', () => {
    expect(() => parseDestination('http://127.0.0.1:8123/')).toThrow(/no token/);
    expect(() => parseDestination('ftp://h/#token=x')).toThrow(/http/);
    expect(() => parseDestination('not a url')).toThrow(/vivarium serve/);
  });

  it('sends the token the way the server reads it', () => {
    const offered = tokenProtocols('s3cr3t/with=odd:chars');
    expect(protocolToken(offered.join(', '))).toBe('s3cr3t/with=odd:chars');
  });

  it('the contract refuses a URL without a token before anything is asked', () => {
    const r = methods['migration.start'].safeParse({ vm: 'a', to: 'http://h:1/' });
    expect(r.success).toBe(false);
  });
});

describe('the migration key', () => {
  it('is written 0600 in a 0700 folder as qemu:<hex>, and removed', async () => {
    const run = await mkdtemp(join(tmpdir(), 'viv-psk-'));
    try {
      const psk = newPsk();
      expect(psk).toMatch(/^[0-9a-f]{64}$/);
      expect(newPsk()).not.toBe(psk);
      const dir = await writePskDir(join(run, 'vm'), psk);
      const file = join(dir.dir, 'keys.psk');
      expect(readFileSync(file, 'utf8')).toBe(`qemu:${psk}\n`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dir.dir).mode & 0o777).toBe(0o700);
      expect(pskCredsObject(dir, 'server')).not.toHaveProperty('username');
      expect(pskCredsObject(dir, 'client')).toMatchObject({ username: 'qemu', endpoint: 'client' });
      await dir.remove();
      expect(() => statSync(dir.dir)).toThrow();
    } finally {
      await rm(run, { recursive: true, force: true });
    }
  });
});
