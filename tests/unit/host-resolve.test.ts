import { describe, expect, it } from 'vitest';
import type { AcceleratorReport, HostInfo } from '../../common/contract';
import { VivariumError } from '../../electron/engine/errors';
import { fallbackNotice, resolveAccelerator } from '../../electron/engine/host/resolve';

function host(accelerators: AcceleratorReport[], patch: Partial<HostInfo> = {}): HostInfo {
  const best = accelerators.find((a) => a.name !== 'tcg' && a.usable)?.name ?? 'tcg';
  return {
    platform: 'linux',
    arch: 'x86_64',
    cpus: 2,
    totalMemoryMiB: 4096,
    freeDiskBytes: null,
    dataDir: '/data',
    qemu: {
      binaries: [{ arch: 'x86_64', path: '/usr/bin/qemu-system-x86_64', version: '7.2.22' }],
      img: { path: '/usr/bin/qemu-img', version: '7.2.22' },
    },
    qemuMissing: null,
    accelerators,
    bestAccelerator: best,
    notices: [],
    firmware: { seabios: null, ovmfCode: null, ovmfVars: null },
    ...patch,
  };
}

const TCG: AcceleratorReport = { name: 'tcg', present: true, usable: true };
const KVM_OK: AcceleratorReport = { name: 'kvm', present: true, usable: true };
const KVM_HUNG: AcceleratorReport = {
  name: 'kvm',
  present: true,
  usable: false,
  reason: 'a test guest hung under it (nested or broken virtualization)',
};
const KVM_NO_ACCESS: AcceleratorReport = {
  name: 'kvm',
  present: true,
  usable: false,
  reason:
    '/dev/kvm is not accessible to you: add yourself to the kvm group: sudo usermod -aG kvm $USER (then log out and back in).',
};
const KVM_ABSENT: AcceleratorReport = {
  name: 'kvm',
  present: false,
  usable: false,
  reason: '/dev/kvm does not exist: turn on virtualization.',
};

function thrown(fn: () => unknown): VivariumError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VivariumError);
    return err as VivariumError;
  }
  throw new Error('did not throw');
}

describe('resolveAccelerator', () => {
  it("'auto' takes the best usable accelerator without a notice", () => {
    expect(resolveAccelerator(host([KVM_OK, TCG]), 'auto')).toEqual({ accel: 'kvm', notice: null });
  });

  it("'auto' falls back to TCG with the broken-KVM notice", () => {
    const r = resolveAccelerator(host([KVM_HUNG, TCG]), 'auto');
    expect(r.accel).toBe('tcg');
    expect(r.notice).toBe(
      'KVM is present but a test guest hung under it (nested or broken virtualization); VMs will run under TCG, which is slower.',
    );
  });

  it('says how to get access to /dev/kvm', () => {
    const r = resolveAccelerator(host([KVM_NO_ACCESS, TCG]), 'auto');
    expect(r.notice).toContain('KVM is present but /dev/kvm is not accessible');
    expect(r.notice).toContain('sudo usermod -aG kvm $USER');
    expect(r.notice).toMatch(/back in\); VMs will run under TCG/);
  });

  it('explains an absent accelerator, and a host that has none', () => {
    expect(resolveAccelerator(host([KVM_ABSENT, TCG]), 'auto').notice).toMatch(
      /^No hardware acceleration: \/dev\/kvm does not exist/,
    );
    expect(resolveAccelerator(host([TCG], { platform: 'freebsd' }), 'auto').notice).toMatch(
      /no hardware accelerator/,
    );
  });

  it('gives an explicitly requested usable accelerator', () => {
    expect(resolveAccelerator(host([KVM_OK, TCG]), 'kvm')).toEqual({ accel: 'kvm', notice: null });
    expect(resolveAccelerator(host([KVM_OK, TCG]), 'tcg')).toEqual({ accel: 'tcg', notice: null });
  });

  it('refuses an explicitly requested unusable accelerator with BAD_STATE and suggests auto', () => {
    const e = thrown(() => resolveAccelerator(host([KVM_HUNG, TCG]), 'kvm'));
    expect(e.code).toBe('BAD_STATE');
    expect(e.message).toContain('a test guest hung under it');
    expect(e.message).toContain("'auto'");
    expect(e.message).toContain('(TCG)');
    const hvf = thrown(() => resolveAccelerator(host([KVM_OK, TCG]), 'hvf'));
    expect(hvf.code).toBe('BAD_STATE');
    expect(hvf.message).toContain('not available on this host (linux)');
    expect(hvf.message).toContain('(KVM)');
  });

  it('refuses everything when QEMU is missing', () => {
    const h = host([], { qemuMissing: 'QEMU is not installed. Install it with: x' });
    expect(thrown(() => resolveAccelerator(h, 'auto')).code).toBe('QEMU_MISSING');
  });

  it('has no fallback notice for usable accelerators or TCG', () => {
    expect(fallbackNotice(KVM_OK)).toBeNull();
    expect(fallbackNotice(TCG)).toBeNull();
  });
});
