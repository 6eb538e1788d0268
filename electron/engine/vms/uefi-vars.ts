/**
 * The UEFI variable store (uefi-vars.qcow2) of a VM: made from OVMF's template that matches
 * Secure Boot (with it: Microsoft's keys enrolled), rebuilt when Secure Boot is switched, and made
 * again for a UEFI VM that has none.
 */
import { copyFile, open, rename, rm, stat } from 'node:fs/promises';
import { ARCH_LABELS, archInstallCommand, firmwareLabel, type VmArch } from '../../../common/arch';
import type { HostInfo } from '../../../common/contract';
import { VivariumError } from '../errors';
import { archSupportOf } from '../host/arch-support';
import type { HostService } from '../host/host-service';
import { requireSecureBootFirmware } from '../host/require';
import { fileExists, isNodeError } from '../library/atomic-file';
import type { Vm } from '../library/vm';
import { createNvram, imageInfo, overwriteNvram } from '../storage/qemu-img';

export const OVMF_MISSING =
  'UEFI firmware (OVMF) was not found: install it (Debian/Ubuntu: sudo apt install ovmf) or use BIOS.';

/** What to install when the UEFI firmware of a guest of `arch` is missing. */
export function uefiMissingMessage(arch: VmArch): string {
  if (arch === 'x86_64') return OVMF_MISSING;
  return `UEFI firmware for ${ARCH_LABELS[arch]} guests (${firmwareLabel(arch, 'uefi')}) was not found: ${archInstallCommand(arch)}.`;
}

/** The variable-store template of a guest of `arch` (OVMF's, AAVMF's); null when missing. */
export function uefiVarsTemplate(host: HostInfo, arch: VmArch, secureBoot: boolean): string | null {
  if (arch === 'x86_64') {
    return secureBoot ? (host.firmware.ovmfSecureBootVars ?? null) : host.firmware.ovmfVars;
  }
  return archSupportOf(host, arch)?.uefi?.vars ?? null;
}

export class UefiVarsStore {
  constructor(private readonly host: HostService) {}

  /** This host has the template (and qemu-img) for a store with or without Secure Boot. */
  async hasTemplate(secureBoot: boolean, arch: VmArch = 'x86_64'): Promise<boolean> {
    const host = await this.host.get();
    return Boolean(uefiVarsTemplate(host, arch, secureBoot) && host.qemu.img);
  }

  /** Makes the UEFI variable store of a UEFI VM that has none (an older VM, a deleted file). */
  async ensure(vm: Vm): Promise<void> {
    if (await fileExists(vm.files.nvram)) return;
    const made = await this.prepare(vm, vm.config.secureBoot);
    await rename(made, vm.files.nvram).catch(async (err: unknown) => {
      await rm(made, { force: true });
      throw err;
    });
  }

  /**
   * A UEFI variable store for `vm` from the template that matches `secureBoot` (with Secure Boot:
   * Microsoft's keys enrolled), written to a new file beside `files.nvram` whose path it returns:
   * the caller renames it into place, or removes it. Nothing of it is left when this fails.
   * The snapshots inside the current store stay (the new file is a copy of it with its present
   * contents overwritten): a disk-less VM keeps even its saved memory there.
   */
  async prepare(vm: Vm, secureBoot: boolean, arch: VmArch = vm.config.arch): Promise<string> {
    const host = await this.host.get();
    if (secureBoot) requireSecureBootFirmware(host);
    const vars = uefiVarsTemplate(host, arch, secureBoot);
    if (!host.qemu.img || !vars) throw new VivariumError('QEMU_MISSING', uefiMissingMessage(arch));
    const img = host.qemu.img.path;
    const tmp = `${vm.files.nvram}.new-${process.pid}`;
    await rm(tmp, { force: true });
    try {
      const current = (await fileExists(vm.files.nvram))
        ? await imageInfo(img, vm.files.nvram, { format: 'qcow2' })
        : null;
      if (current && current.virtualSize === (await stat(vars)).size) {
        await copyFile(vm.files.nvram, tmp);
        await overwriteNvram(img, vars, tmp);
      } else {
        if (current?.snapshots.length) {
          // Another firmware build (the host's OVMF changed): a fresh store would lose them.
          throw new VivariumError(
            'BAD_STATE',
            `The UEFI variable store of "${vm.config.name}" holds snapshots and does not fit ${vars}: delete its snapshots first, or leave Secure Boot as it is.`,
          );
        }
        await createNvram(img, vars, tmp);
      }
      const handle = await open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      return tmp;
    } catch (err) {
      await rm(tmp, { force: true });
      if (isNodeError(err) && (err.code === 'ENOSPC' || err.code === 'EDQUOT')) {
        throw new VivariumError(
          'DISK_FULL',
          `The disk holding ${vm.files.dir} is full: free some space and try again (nothing was changed).`,
        );
      }
      throw err;
    }
  }
}
