import { describe, expect, it } from 'vitest';
import { shellQuote, sshCommandLine } from '../../electron/engine/ssh/command';

describe('sshCommandLine', () => {
  it('is short to read and complete to run', () => {
    expect(sshCommandLine({ user: 'dev', port: 2222 })).toEqual({
      argv: ['ssh', '-p', '2222', 'dev@127.0.0.1'],
      display: 'ssh -p 2222 dev@127.0.0.1',
    });
    const full = sshCommandLine({
      user: 'dev',
      port: 2201,
      host: '127.0.0.2',
      keyFile: '/home/u/vms/a b/id_ed25519',
      knownHostsFile: '/home/u/vms/a b/known_hosts',
    });
    expect(full.display).toBe('ssh -p 2201 dev@127.0.0.2');
    expect(full.argv).toEqual([
      'ssh',
      '-p',
      '2201',
      '-i',
      '/home/u/vms/a b/id_ed25519',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      'UserKnownHostsFile=/home/u/vms/a b/known_hosts',
      'dev@127.0.0.2',
    ]);
  });

  it('quotes for a shell only when needed', () => {
    expect(shellQuote('dev@127.0.0.1')).toBe('dev@127.0.0.1');
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });
});
