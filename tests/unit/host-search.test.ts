import { describe, expect, it } from 'vitest';
import { qemuExeName, qemuSearchDirs } from '../../electron/engine/host/find-qemu';
import {
  ovmfCandidates,
  ovmfFromDescriptor,
  qemuDataDirs,
  seabiosCandidates,
} from '../../electron/engine/host/firmware';

describe('qemuSearchDirs', () => {
  it('searches the configured folder, VIVARIUM_QEMU_DIR, then PATH on Linux', () => {
    expect(
      qemuSearchDirs({
        qemuDir: '/opt/qemu/bin',
        env: {
          VIVARIUM_QEMU_DIR: '/env/qemu',
          PATH: '/usr/local/bin:/usr/bin::.:relative:/usr/bin/',
        },
        platform: 'linux',
      }),
    ).toEqual(['/opt/qemu/bin', '/env/qemu', '/usr/local/bin', '/usr/bin']);
  });

  it('adds Homebrew and MacPorts on macOS (GUI apps get a short PATH)', () => {
    expect(qemuSearchDirs({ env: { PATH: '/usr/bin:/bin' }, platform: 'darwin' })).toEqual([
      '/usr/bin',
      '/bin',
      '/opt/homebrew/bin',
      '/usr/local/bin',
      '/opt/local/bin',
    ]);
  });

  it('adds Program Files\\qemu on Windows and reads Path case-insensitively', () => {
    const dirs = qemuSearchDirs({
      env: {
        Path: 'C:\\Windows\\system32;"C:\\Tools\\bin";c:\\windows\\System32',
        ProgramFiles: 'C:\\Program Files',
        USERPROFILE: 'C:\\Users\\ann',
      },
      platform: 'win32',
    });
    expect(dirs).toEqual([
      'C:\\Windows\\system32',
      'C:\\Tools\\bin',
      'C:\\Program Files\\qemu',
      'C:\\Users\\ann\\scoop\\apps\\qemu\\current',
    ]);
    expect(qemuExeName('qemu-img', 'win32')).toBe('qemu-img.exe');
    expect(qemuExeName('qemu-img', 'linux')).toBe('qemu-img');
  });
});

describe('firmware search', () => {
  const debianDescriptor = {
    'interface-types': ['uefi'],
    mapping: {
      device: 'flash',
      executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.fd', format: 'raw' },
      'nvram-template': { filename: '/usr/share/OVMF/OVMF_VARS_4M.fd', format: 'raw' },
    },
    targets: [{ architecture: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }],
    features: ['acpi-s3', 'amd-sev', 'verbose-dynamic'],
  };

  it('takes a plain split x86_64 UEFI descriptor', () => {
    expect(ovmfFromDescriptor(debianDescriptor)).toEqual([
      '/usr/share/OVMF/OVMF_CODE_4M.fd',
      '/usr/share/OVMF/OVMF_VARS_4M.fd',
    ]);
  });

  it('skips Secure Boot, SMM-only, qcow2, other-arch, stateless and BIOS descriptors', () => {
    const d = debianDescriptor;
    expect(ovmfFromDescriptor({ ...d, features: ['secure-boot', 'requires-smm'] })).toBeNull();
    expect(ovmfFromDescriptor({ ...d, features: ['requires-smm'] })).toBeNull();
    expect(
      ovmfFromDescriptor({
        ...d,
        mapping: { ...d.mapping, executable: { filename: '/x.qcow2', format: 'qcow2' } },
      }),
    ).toBeNull();
    expect(
      ovmfFromDescriptor({ ...d, targets: [{ architecture: 'aarch64', machines: ['virt-*'] }] }),
    ).toBeNull();
    expect(
      ovmfFromDescriptor({
        ...d,
        mapping: { device: 'flash', executable: d.mapping.executable },
      }),
    ).toBeNull();
    expect(ovmfFromDescriptor({ ...d, 'interface-types': ['bios'] })).toBeNull();
    expect(ovmfFromDescriptor(null)).toBeNull();
  });

  it('derives data folders and candidates from the binary per OS', () => {
    expect(
      qemuDataDirs({
        platform: 'darwin',
        qemuPath: '/opt/homebrew/bin/qemu-system-x86_64',
      })[0],
    ).toBe('/opt/homebrew/share/qemu');
    const win = {
      platform: 'win32' as const,
      qemuPath: 'C:\\Program Files\\qemu\\qemu-system-x86_64.exe',
    };
    expect(qemuDataDirs(win)[0]).toBe('C:\\Program Files\\qemu\\share');
    expect(ovmfCandidates(win)[0]).toEqual([
      'C:\\Program Files\\qemu\\share\\edk2-x86_64-code.fd',
      'C:\\Program Files\\qemu\\share\\edk2-i386-vars.fd',
    ]);
    const linux = { platform: 'linux' as const, qemuPath: '/usr/bin/qemu-system-x86_64' };
    expect(seabiosCandidates(linux)).toContain('/usr/share/seabios/bios-256k.bin');
    expect(ovmfCandidates(linux)[0]).toEqual([
      '/usr/share/OVMF/OVMF_CODE_4M.fd',
      '/usr/share/OVMF/OVMF_VARS_4M.fd',
    ]);
    expect(ovmfCandidates(linux).map((p) => p[0])).toContain('/usr/share/edk2/ovmf/OVMF_CODE.fd');
  });
});
