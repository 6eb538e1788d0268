/**
 * probeHost's decisions against a fake qemu-system-x86_64 (a sh script): a crawling, a working and
 * a failing KVM, a QEMU built without KVM, and the cache. Needs a Linux host with an accessible
 * /dev/kvm (the probe checks the real device before it runs the fake).
 */
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeHost } from '../../electron/engine/host/probe';

function kvmAccessible(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeQemu(kvm: string, accels = 'tcg\\nkvm'): { bin: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'viv-fakeprobe-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  const script = `#!/bin/sh
echo "$*" >> "${root}/calls.log"
case "$1 $2" in
  "--version ") echo "QEMU emulator version 7.2.0 (fake)" ;;
  "-accel help") printf 'Accelerators supported in QEMU binary:\\n${accels}\\n' ;;
  "-L help") echo /nonexistent/share/qemu ;;
  "-accel tcg") sleep 0.1; exit 85 ;;
  "-accel kvm") ${kvm} ;;
esac
`;
  mkdirSync(bin);
  writeFileSync(join(bin, 'qemu-system-x86_64'), script);
  chmodSync(join(bin, 'qemu-system-x86_64'), 0o755);
  writeFileSync(join(bin, 'qemu-img'), '#!/bin/sh\necho "qemu-img version 7.2.0 (fake)"\n');
  chmodSync(join(bin, 'qemu-img'), 0o755);
  return { bin, root };
}

function probeCalls(root: string): string[] {
  return readFileSync(join(root, 'calls.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('-accel ') && l !== '-accel help');
}

async function probe(root: string, bin: string, refresh = false) {
  const t0 = performance.now();
  const host = await probeHost({
    cacheDir: join(root, 'cache'),
    dataDir: root,
    env: { PATH: bin },
    refresh,
  });
  return { host, ms: Math.round(performance.now() - t0) };
}

describe.skipIf(process.platform !== 'linux' || !kvmAccessible())('probeHost decisions', () => {
  it('stops a crawling KVM once TCG has shown how long the probe takes, and caches it', async () => {
    const { bin, root } = fakeQemu('exec sleep 30');
    const { host, ms } = await probe(root, bin);
    console.log(`[host-probe] crawling KVM decided in ${ms} ms (deadline 3000 ms)`);
    expect(host.bestAccelerator).toBe('tcg');
    expect(host.accelerators).toEqual([
      {
        name: 'kvm',
        present: true,
        usable: false,
        reason: 'a test guest hung under it (nested or broken virtualization)',
      },
      { name: 'tcg', present: true, usable: true },
    ]);
    expect(host.notices).toContain(
      'KVM is present but a test guest hung under it (nested or broken virtualization); VMs will run under TCG, which is slower.',
    );
    expect(probeCalls(root)).toHaveLength(2);
    const again = await probe(root, bin);
    expect(again.host.accelerators).toEqual(host.accelerators);
    expect(probeCalls(root)).toHaveLength(2);
    await probe(root, bin, true);
    expect(probeCalls(root)).toHaveLength(4);
  });

  it('takes a KVM that runs the probe', async () => {
    const { bin, root } = fakeQemu('exit 85');
    const { host } = await probe(root, bin);
    expect(host.bestAccelerator).toBe('kvm');
    expect(host.accelerators[0]).toEqual({ name: 'kvm', present: true, usable: true });
    expect(host.notices).toEqual([]);
  });

  it("says why KVM failed, in QEMU's words", async () => {
    const { bin, root } = fakeQemu(
      'echo "qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied" >&2; exit 1',
    );
    const { host } = await probe(root, bin);
    expect(host.bestAccelerator).toBe('tcg');
    expect(host.accelerators[0]?.reason).toBe(
      'a test guest failed under it (exit code 1: qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied)',
    );
    expect(host.notices[0]).toMatch(/^KVM is present but a test guest failed under it/);
  });

  it('reports a QEMU built without KVM without running a probe under it', async () => {
    const { bin, root } = fakeQemu('exit 85', 'tcg');
    const { host } = await probe(root, bin);
    expect(host.accelerators[0]).toMatchObject({ name: 'kvm', present: false, usable: false });
    expect(host.accelerators[0]?.reason).toContain('built without KVM support');
    expect(probeCalls(root)).toEqual([expect.stringMatching(/^-accel tcg /)]);
  });
});
