import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  accelProbeCacheKey,
  HOST_CACHE_FILE,
  HostCache,
  type AccelProbeKeyParts,
} from '../../electron/engine/host/cache';

const BASE: AccelProbeKeyParts = {
  accel: 'kvm',
  qemu: { path: '/usr/bin/qemu-system-x86_64', mtimeMs: 1700000000000, size: 12345678 },
  qemuVersion: '7.2.22',
  osRelease: '6.1.0-18-amd64',
  bootId: '280b0735-a2f7-4dfa-8c70-ca8a8608e420',
  probeImageSha256: 'ab'.repeat(32),
};

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'viv-hostcache-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('accelProbeCacheKey', () => {
  it('is stable for the same facts', () => {
    expect(accelProbeCacheKey(BASE)).toBe(accelProbeCacheKey({ ...BASE, qemu: { ...BASE.qemu } }));
    expect(accelProbeCacheKey(BASE)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, Partial<AccelProbeKeyParts>]>([
    ['accelerator', { accel: 'tcg' }],
    ['qemu path', { qemu: { ...BASE.qemu, path: '/usr/local/bin/qemu-system-x86_64' } }],
    ['qemu mtime', { qemu: { ...BASE.qemu, mtimeMs: BASE.qemu.mtimeMs + 1 } }],
    ['qemu size', { qemu: { ...BASE.qemu, size: BASE.qemu.size + 1 } }],
    ['qemu version', { qemuVersion: '8.0.0' }],
    ['kernel release', { osRelease: '6.1.0-19-amd64' }],
    ['boot id (a reboot)', { bootId: '00000000-0000-0000-0000-000000000000' }],
    ['no boot id', { bootId: null }],
    ['probe image', { probeImageSha256: 'cd'.repeat(32) }],
  ])('changes with the %s', (_what, patch) => {
    expect(accelProbeCacheKey({ ...BASE, ...patch })).not.toBe(accelProbeCacheKey(BASE));
  });
});

describe('HostCache', () => {
  const stamp = { path: '/usr/bin/qemu-img', mtimeMs: 1, size: 2 };
  const record = { usable: false, hung: true, reason: 'hung', elapsedMs: 3000, at: 'now' };

  it('round-trips binary facts and probe records through the file', async () => {
    const dir = tmp();
    const a = await HostCache.load(dir);
    expect(a.getBinary(stamp)).toBeUndefined();
    a.setBinary(stamp, { version: '7.2.22' });
    a.setProbe('k1', record);
    await a.save();
    const b = await HostCache.load(dir);
    expect(b.getBinary(stamp)?.version).toBe('7.2.22');
    expect(b.getBinary({ ...stamp, mtimeMs: 5 })).toBeUndefined();
    expect(b.getProbe('k1')).toEqual(record);
  });

  it('ignores the file on refresh and drops entries a run did not use', async () => {
    const dir = tmp();
    const a = await HostCache.load(dir);
    a.setProbe('old', record);
    await a.save();
    const r = await HostCache.load(dir, true);
    expect(r.getProbe('old')).toBeUndefined();
    r.setProbe('new', { ...record, usable: true, hung: false });
    await r.save();
    const c = await HostCache.load(dir);
    expect(c.getProbe('old')).toBeUndefined();
    expect(c.getProbe('new')?.usable).toBe(true);
  });

  it('starts empty from a corrupt or foreign file', async () => {
    const dir = tmp();
    writeFileSync(join(dir, HOST_CACHE_FILE), '{not json');
    expect((await HostCache.load(dir)).getProbe('x')).toBeUndefined();
    writeFileSync(
      join(dir, HOST_CACHE_FILE),
      JSON.stringify({ format: 99, binaries: {}, probes: { x: record } }),
    );
    const c = await HostCache.load(dir);
    expect(c.getProbe('x')).toBeUndefined();
    c.setProbe('y', record);
    await c.save();
    expect(
      (JSON.parse(readFileSync(join(dir, HOST_CACHE_FILE), 'utf8')) as { format: number }).format,
    ).toBe(1);
  });
});
