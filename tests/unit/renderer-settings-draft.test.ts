/**
 * The Settings form's model: config -> draft -> patch, checked as vm.update will check it, with
 * the engine's rules from common/rules (fields a running VM refuses, Secure Boot's firmware,
 * what the host has).
 */
import { describe, expect, it } from 'vitest';
import { VmConfigSchema, type VmConfig } from '../../common/contract';
import { SECURE_BOOT_NEEDS, stopToChangeMessage } from '../../common/rules/vm-settings';
import {
  checkDraft,
  draftForArch,
  draftOf,
  patchOf,
  type Draft,
} from '../../renderer/src/features/vm/settings/draft';

function config(patch: Record<string, unknown> = {}): VmConfig {
  return VmConfigSchema.parse({
    configVersion: 3,
    id: 'abcdefabcdef',
    name: 'Build box',
    createdAt: '2026-01-01T00:00:00Z',
    memoryMiB: 1024,
    cpu: { model: 'max', count: 2 },
    nics: [
      {
        mac: '52:54:00:12:34:56',
        attach: {
          kind: 'nat',
          forwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 }],
        },
      },
    ],
    kernelBoot: { kernel: '/boot/vmlinuz', append: 'console=ttyS0' },
    extraArgs: ['-device', 'virtio-rng-pci'],
    ...patch,
  });
}

const HOST = { totalMemoryMiB: 8192, cpus: 4 };
const edit = (c: VmConfig, change: Partial<Draft>): Draft => ({ ...draftOf(c), ...change });

describe('draftOf', () => {
  it('turns numbers into the text the fields show, and lists into lines', () => {
    const d = draftOf(config());
    expect(d).toMatchObject({
      name: 'Build box',
      memoryMiB: '1024',
      cpuCount: '2',
      cpuModel: 'max',
      cdrom: '',
      kernelOn: true,
      kernel: '/boot/vmlinuz',
      initrd: '',
      append: 'console=ttyS0',
      extraArgs: '-device\nvirtio-rng-pci',
    });
  });

  it('an untouched draft is no change at all', () => {
    const c = config();
    expect(patchOf(draftOf(c), c)).toEqual({ patch: {}, errors: {} });
    const check = checkDraft(draftOf(c), c, HOST, true);
    expect(check).toMatchObject({ patch: {}, changed: [], blocked: [], valid: true });
  });
});

describe('patchOf', () => {
  it('the memory balloon toggles as { balloon }, which a running VM must stop for', () => {
    const c = config({ balloon: true });
    expect(draftOf(c).balloon).toBe(true);
    expect(patchOf(edit(c, { balloon: false }), c)).toEqual({
      patch: { balloon: false },
      errors: {},
    });
    const check = checkDraft(edit(c, { balloon: false }), c, HOST, true);
    expect(check.blocked).toContain('balloon');
  });

  it('a new memory size becomes { memoryMiB }', () => {
    const c = config();
    expect(patchOf(edit(c, { memoryMiB: ' 2048 ' }), c)).toEqual({
      patch: { memoryMiB: 2048 },
      errors: {},
    });
  });

  it('text that is not a whole number is an error on its field, not a patch', () => {
    const c = config();
    const { patch, errors } = patchOf(edit(c, { memoryMiB: '2 GiB', cpuCount: '1.5' }), c);
    expect(patch).toEqual({});
    expect(errors).toEqual({ memoryMiB: 'Enter a whole number', cpuCount: 'Enter a whole number' });
  });

  it('an empty CD-ROM field ejects; kernel boot off sends null; extra args drop blank lines', () => {
    const c = config({ cdrom: '/isos/debian.iso' });
    const { patch } = patchOf(
      edit(c, { cdrom: '  ', kernelOn: false, extraArgs: '-device\n\n  virtio-rng-pci \n-s' }),
      c,
    );
    expect(patch).toEqual({
      cdrom: null,
      kernelBoot: null,
      extraArgs: ['-device', 'virtio-rng-pci', '-s'],
    });
  });
});

describe('checkDraft', () => {
  it('a running VM blocks hardware changes but not its name or notes', () => {
    const c = config();
    const check = checkDraft(edit(c, { memoryMiB: '2048', name: 'Renamed' }), c, HOST, true);
    expect(check.changed.sort()).toEqual(['memoryMiB', 'name']);
    expect(check.blocked).toEqual(['memoryMiB']);
    expect(check.valid).toBe(true);
    expect(stopToChangeMessage(check.blocked)).toContain('memoryMiB');
    const renameOnly = checkDraft(edit(c, { name: 'Renamed', notes: 'CI' }), c, HOST, true);
    expect(renameOnly.blocked).toEqual([]);
    // Off, nothing is blocked.
    expect(checkDraft(edit(c, { memoryMiB: '2048' }), c, HOST, false).blocked).toEqual([]);
  });

  it('Secure Boot without UEFI on q35 is an error, with the engine’s words', () => {
    const c = config({ firmware: 'bios', machine: 'q35' });
    const check = checkDraft(edit(c, { secureBoot: true }), c, HOST, false);
    expect(check.valid).toBe(false);
    expect(check.errors['secureBoot']).toBe(SECURE_BOOT_NEEDS);
    const fits = checkDraft(edit(c, { secureBoot: true, firmware: 'uefi' }), c, HOST, false);
    expect(fits.errors['secureBoot']).toBeUndefined();
    expect(fits.patch).toEqual({ secureBoot: true, firmware: 'uefi' });
    const pc = checkDraft(
      edit(c, { secureBoot: true, firmware: 'uefi', machine: 'pc' }),
      c,
      HOST,
      false,
    );
    expect(pc.errors['secureBoot']).toBe(SECURE_BOOT_NEEDS);
  });

  it('more memory or CPUs than the host has is an error; unknown host: only the schema', () => {
    const c = config();
    const big = edit(c, { memoryMiB: '16384', cpuCount: '8' });
    const check = checkDraft(big, c, HOST, false);
    expect(check.errors).toEqual({
      memoryMiB: 'At most 8192 MiB (all of this computer’s memory)',
      cpuCount: 'This computer has 4 CPUs',
    });
    expect(checkDraft(big, c, null, false).valid).toBe(true);
  });

  it('the contract’s schema speaks for the fields it bounds', () => {
    const c = config();
    const check = checkDraft(edit(c, { name: '   ', memoryMiB: '4' }), c, HOST, false);
    expect(check.valid).toBe(false);
    expect(Object.keys(check.errors).sort()).toEqual(['memoryMiB', 'name']);
    expect(check.errors['name']).toContain('Give the VM a name');
  });
});

describe('another architecture', () => {
  const bios = () => config({ kernelBoot: null, firmware: 'bios', machine: 'q35', video: 'std' });

  it("moves machine, firmware and devices to the new preset's, and back to the VM's own", () => {
    const c = bios();
    const arm = draftForArch(draftOf(c), c, 'aarch64');
    // ARM's virt has no BIOS that boots a CD: UEFI (AAVMF) it is.
    expect(arm).toMatchObject({
      arch: 'aarch64',
      machine: 'virt',
      firmware: 'uefi',
      video: 'virtio',
    });
    const check = checkDraft(arm, c, HOST, false);
    expect(check.valid).toBe(true);
    expect(check.patch).toMatchObject({ arch: 'aarch64', machine: 'virt', firmware: 'uefi' });
    expect(draftForArch(arm, c, 'x86_64')).toEqual(draftOf(c));
    // With a kernel given directly, "no firmware" boots too and is kept.
    const k = config({ firmware: 'bios' });
    expect(draftForArch(draftOf(k), k, 'aarch64').firmware).toBe('bios');
    expect(draftForArch(draftOf(c), c, 's390x')).toMatchObject({
      machine: 's390-ccw-virtio',
      video: 'none',
      sound: 'none',
    });
  });

  it('says what does not fit the architecture, and a running VM refuses the change', () => {
    const c = bios();
    const wrong = checkDraft(edit(c, { arch: 'aarch64' }), c, HOST, false);
    expect(wrong.valid).toBe(false);
    expect(wrong.errors['arch']).toMatch(/virt machine, not q35/);
    const running = checkDraft(draftForArch(draftOf(c), c, 'aarch64'), c, HOST, true);
    expect(running.blocked).toContain('arch');
  });
});
