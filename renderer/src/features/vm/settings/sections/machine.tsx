import type { VmConfig } from '../../../../../../common/contract';
import { FIRMWARES, MACHINE_TYPES, SOUND_MODELS, VIDEO_MODELS } from '../../../../lib/schemas';
import { Row, Section, Select, type SettingsForm } from '../form';

const SOUND_LABELS: Record<VmConfig['sound'], string> = {
  none: 'None',
  hda: 'Intel HD Audio',
  ac97: 'AC’97',
  sb16: 'Sound Blaster 16 (DOS)',
};

/** The machine type, firmware and the devices the guest sees: video, sound, the USB tablet. */
export function MachineSection({ form }: { form: SettingsForm }) {
  const tabletLocked = form.locked('usbTablet');
  return (
    <Section title="Machine and firmware">
      <Row form={form} field="machine" label="Machine type">
        <Select
          form={form}
          field="machine"
          options={MACHINE_TYPES.map(
            (m) => [m, m === 'q35' ? 'Q35 (modern, PCIe)' : 'i440FX (older PC)'] as const,
          )}
        />
      </Row>
      <Row form={form} field="firmware" label="Firmware">
        <Select
          form={form}
          field="firmware"
          options={FIRMWARES.map(
            (f) => [f, f === 'bios' ? 'BIOS (SeaBIOS)' : 'UEFI (OVMF)'] as const,
          )}
        />
      </Row>
      <Row form={form} field="video" label="Video card">
        <Select
          form={form}
          field="video"
          options={VIDEO_MODELS.map((v) => [v, v === 'none' ? 'None (no display)' : v] as const)}
        />
      </Row>
      <Row
        form={form}
        field="sound"
        label="Sound card"
        hint="What the guest sees; there is no sound on this computer’s speakers yet."
      >
        <Select
          form={form}
          field="sound"
          options={SOUND_MODELS.map((m) => [m, SOUND_LABELS[m]] as const)}
        />
      </Row>
      <div
        className={`field${tabletLocked ? ' field--locked' : ''}`}
        title={tabletLocked ? (form.lockedReason ?? undefined) : undefined}
      >
        <label className="check">
          <input
            type="checkbox"
            checked={form.draft.usbTablet}
            disabled={tabletLocked}
            onChange={(e) => form.set('usbTablet', e.target.checked)}
          />
          USB tablet (the pointer follows the mouse exactly)
        </label>
      </div>
    </Section>
  );
}
