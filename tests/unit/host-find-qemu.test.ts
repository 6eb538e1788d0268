/** findQemu against fake QEMU binaries (tiny sh scripts printing a version). */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostCache } from '../../electron/engine/host/cache';
import { findQemu } from '../../electron/engine/host/find-qemu';
import { parseOsRelease } from '../../electron/engine/host/install-hint';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeDir(bins: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'viv-fakeqemu-'));
  dirs.push(d);
  for (const [name, body] of Object.entries(bins)) {
    const f = join(d, name);
    writeFileSync(f, `#!/bin/sh\n${body}\n`);
    chmodSync(f, 0o755);
  }
  return d;
}
const says = (v: string) => `echo "QEMU emulator version ${v} (fake)"`;
const debian = parseOsRelease('NAME="Debian GNU/Linux"\nID=debian\n');
const fedora = parseOsRelease('NAME="Fedora Linux"\nID=fedora\n');

describe.skipIf(process.platform === 'win32')('findQemu with fake binaries', () => {
  it('finds system emulators per arch and qemu-img, with versions', async () => {
    const d = fakeDir({
      'qemu-system-x86_64': says('8.1.2'),
      'qemu-system-aarch64': says('8.1.2'),
      'qemu-img': 'echo "qemu-img version 8.1.2"',
    });
    const r = await findQemu({ env: { PATH: d }, platform: 'linux', osRelease: debian });
    expect(r.qemuMissing).toBeNull();
    expect(r.binaries).toEqual([
      { arch: 'x86_64', path: join(d, 'qemu-system-x86_64'), version: '8.1.2' },
      { arch: 'aarch64', path: join(d, 'qemu-system-aarch64'), version: '8.1.2' },
    ]);
    expect(r.img).toEqual({ path: join(d, 'qemu-img'), version: '8.1.2' });
    expect(r.notices).toEqual([]);
  });

  it('reports nothing found with the install command for the distribution', async () => {
    const empty = fakeDir({});
    const r = await findQemu({ env: { PATH: empty }, platform: 'linux', osRelease: fedora });
    expect(r.binaries).toEqual([]);
    expect(r.qemuMissing).toContain('sudo dnf install qemu-kvm qemu-img');
  });

  it('says a too-old QEMU is too old, and passes over it when a newer one follows', async () => {
    const old = fakeDir({ 'qemu-system-x86_64': says('6.2.0') });
    const r = await findQemu({ env: { PATH: old }, platform: 'linux', osRelease: debian });
    expect(r.qemuMissing).toMatch(/QEMU 6\.2\.0 \(.*\) is too old: Vivarium needs QEMU 7\.0/);
    expect(r.qemuMissing).toContain('sudo apt install qemu-system-x86 qemu-utils');

    const fresh = fakeDir({ 'qemu-system-x86_64': says('7.2.0'), 'qemu-img': says('7.2.0') });
    const both = await findQemu({
      env: { PATH: `${old}:${fresh}` },
      platform: 'linux',
      osRelease: debian,
    });
    expect(both.qemuMissing).toBeNull();
    expect(both.binaries[0]?.path).toBe(join(fresh, 'qemu-system-x86_64'));
    expect(both.notices.join('\n')).toContain('older than 7.0.0');
  });

  it('says a broken binary does not run', async () => {
    const d = fakeDir({
      'qemu-system-x86_64': 'echo "error while loading shared libraries" >&2; exit 127',
    });
    const r = await findQemu({ env: { PATH: d }, platform: 'linux', osRelease: debian });
    expect(r.qemuMissing).toMatch(/does not run .*shared libraries/);
  });

  it('prefers the configured folder, then VIVARIUM_QEMU_DIR, and says when it was not used', async () => {
    const a = fakeDir({ 'qemu-system-x86_64': says('7.1.0'), 'qemu-img': says('7.1.0') });
    const b = fakeDir({ 'qemu-system-x86_64': says('7.2.0') });
    const c = fakeDir({ 'qemu-system-x86_64': says('8.0.0') });
    const empty = fakeDir({});
    const base = { platform: 'linux' as const, osRelease: debian };
    let r = await findQemu({ ...base, qemuDir: a, env: { VIVARIUM_QEMU_DIR: b, PATH: c } });
    expect(r.binaries[0]?.version).toBe('7.1.0');
    r = await findQemu({ ...base, env: { VIVARIUM_QEMU_DIR: b, PATH: `${c}:${a}` } });
    expect(r.binaries[0]?.version).toBe('7.2.0');
    expect(r.img?.path).toBe(join(a, 'qemu-img'));
    r = await findQemu({ ...base, env: { VIVARIUM_QEMU_DIR: empty, PATH: c } });
    expect(r.binaries[0]?.version).toBe('8.0.0');
    expect(r.notices.join('\n')).toContain(
      `No usable qemu-system-x86_64 in ${empty} (VIVARIUM_QEMU_DIR)`,
    );
    expect(r.notices.join('\n')).toContain('qemu-img was not found');
  });

  it('caches versions by path, mtime and size', async () => {
    const d = fakeDir({ 'qemu-system-x86_64': says('7.2.0') });
    const cache = HostCache.memory();
    const opts = { env: { PATH: d }, platform: 'linux' as const, osRelease: debian, cache };
    const f = join(d, 'qemu-system-x86_64');
    utimesSync(f, 1_000_000_000, 1_000_000_000);
    expect((await findQemu(opts)).binaries[0]?.version).toBe('7.2.0');
    // Same size and mtime: the cached version answers, the script is not run.
    writeFileSync(f, `#!/bin/sh\n${says('7.3.0')}\n`);
    utimesSync(f, 1_000_000_000, 1_000_000_000);
    expect((await findQemu(opts)).binaries[0]?.version).toBe('7.2.0');
    // A changed mtime (an upgrade) is read again.
    utimesSync(f, 1_000_000_000, 1_000_000_005);
    expect((await findQemu(opts)).binaries[0]?.version).toBe('7.3.0');
  });

  it('skips files that are not executable and folders that do not exist', async () => {
    const d = fakeDir({ 'qemu-system-x86_64': says('7.2.0') });
    chmodSync(join(d, 'qemu-system-x86_64'), 0o644);
    const sub = join(d, 'sub');
    mkdirSync(sub);
    const r = await findQemu({
      env: { PATH: `${d}:${join(d, 'missing')}:${sub}` },
      platform: 'linux',
      osRelease: debian,
    });
    // root can "execute" a 0644 file per access(2) only if some x bit is set: none is.
    expect(r.binaries).toEqual([]);
    expect(r.qemuMissing).toContain('QEMU is not installed');
  });
});
