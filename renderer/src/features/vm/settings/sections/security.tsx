import {
  secureBootFirmwareUnavailable,
  tpmUnavailable,
} from '../../../../../../common/rules/host-requirements';
import { secureBootFits } from '../../../../../../common/rules/vm-settings';
import { ARCH_LABELS, archPreset } from '../../../../../../common/arch';
import { Check, Section, type SettingsForm } from '../form';

/** TPM and Secure Boot, each disabled with the reason (and the install command) when it cannot be on. */
export function SecuritySection({ form }: { form: SettingsForm }) {
  const { draft, host } = form;
  const preset = archPreset(draft.arch);
  const name = ARCH_LABELS[draft.arch];
  const noTpm = preset.tpm ? tpmUnavailable(host) : `${name} guests cannot have a TPM yet.`;
  const noSecureBoot = !preset.secureBoot
    ? `Secure Boot is for x86-64 guests, not ${name} ones.`
    : !secureBootFits(draft)
      ? 'Needs UEFI firmware on the Q35 machine: choose them above first.'
      : secureBootFirmwareUnavailable(host);
  return (
    <Section title="Security">
      <Check
        form={form}
        field="tpm"
        label="TPM 2.0"
        hint="Emulated by swtpm; Windows 11 needs one. Turning it off keeps its keys (BitLocker) for when it comes back."
        unavailable={noTpm}
      />
      <Check
        form={form}
        field="secureBoot"
        label="UEFI Secure Boot"
        hint="Only signed boot loaders start (Microsoft’s keys are enrolled). Turning it on or off resets the UEFI variables, boot entries included."
        unavailable={noSecureBoot}
      />
    </Section>
  );
}
