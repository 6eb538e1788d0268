import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  isSupportedVersion,
  parseQemuVersion,
} from '../../electron/engine/host/version';

describe('parseQemuVersion', () => {
  it.each([
    [
      'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022',
      '7.2.22',
    ],
    ['qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)', '7.2.22'],
    ['QEMU emulator version 8.2.0 (v8.2.0-12045-g3d58f9b5c5)', '8.2.0'],
    ['QEMU emulator version 2.11.1(Debian 1:2.11+dfsg-1ubuntu7.41)', '2.11.1'],
    ['QEMU emulator version 9.1.90 (v9.2.0-rc0)', '9.1.90'],
    ['QEMU emulator version 6.2', '6.2.0'],
  ])('%s -> %s', (text, want) => {
    expect(parseQemuVersion(text)?.text).toBe(want);
  });

  it('returns null for output without a version', () => {
    expect(parseQemuVersion('')).toBeNull();
    expect(parseQemuVersion('command not found')).toBeNull();
  });

  it('compares numerically and knows the minimum', () => {
    const v = (s: string) => parseQemuVersion(`version ${s}`)!;
    expect(compareVersions(v('7.10.0'), v('7.2.0'))).toBeGreaterThan(0);
    expect(compareVersions(v('7.2.22'), v('7.2.22'))).toBe(0);
    expect(isSupportedVersion(v('6.2.0'))).toBe(false);
    expect(isSupportedVersion(v('7.0.0'))).toBe(true);
    expect(isSupportedVersion(v('10.0.2'))).toBe(true);
  });
});
