/** The rules vm.create and vm.update apply to a VM's TPM and Secure Boot. */
import type { ParsedParams, VmConfig } from '../../../common/contract';
import { secureBootFits } from '../../../common/rules/vm-settings';
import { VivariumError } from '../errors';
import type { HostService } from '../host/host-service';
import { requireSecureBootFirmware, requireSwtpm } from '../host/require';

export type VmPatch = ParsedParams<'vm.update'>['patch'];

/** For a config changed by `patch`: Secure Boot only on UEFI + q35, and the host tools it needs. */
export async function checkTpmAndSecureBoot(
  host: HostService,
  before: VmConfig,
  next: VmConfig,
  patch: VmPatch,
): Promise<void> {
  if (next.secureBoot && !secureBootFits(next)) {
    const fields: Record<string, string> = {};
    if (patch.secureBoot) {
      fields['secureBoot'] = 'Needs UEFI firmware on the q35 machine';
      throw new VivariumError(
        'INVALID_REQUEST',
        'Secure Boot needs UEFI firmware on the q35 machine: choose them too, or leave Secure Boot off.',
        fields,
      );
    }
    const wanted: string[] = [];
    if (next.firmware !== 'uefi') {
      wanted.push('BIOS firmware');
      fields['firmware'] = 'Secure Boot is on: it needs UEFI';
    }
    if (next.machine !== 'q35') {
      wanted.push('the i440FX (pc) machine');
      fields['machine'] = 'Secure Boot is on: it needs q35';
    }
    throw new VivariumError(
      'INVALID_REQUEST',
      `Secure Boot is on, and it needs UEFI firmware on the q35 machine: turn Secure Boot off in the same change to switch to ${wanted.join(' and ')}.`,
      fields,
    );
  }
  if ((next.secureBoot && !before.secureBoot) || (next.tpm && !before.tpm)) {
    const info = await host.get();
    if (next.secureBoot && !before.secureBoot) requireSecureBootFirmware(info);
    if (next.tpm && !before.tpm) requireSwtpm(info);
  }
}
