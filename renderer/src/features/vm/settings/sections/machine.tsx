import { labelOptions } from '../../../../../../common/labels';
import { Row, Section, Select, type SettingsForm } from '../form';

/** The machine type, firmware and the devices the guest sees: video, sound, the USB tablet. */
export function MachineSection({ form }: { form: SettingsForm }) {
  const tabletLocked = form.locked('usbTablet');
  return (
    <Section title="Machine and firmware">
      <Row form={form} field="machine" label="Machine type">
        <Select form={form} field="machine" options={labelOptions('machine')} />
      </Row>
      <Row form={form} field="firmware" label="Firmware">
        <Select form={form} field="firmware" options={labelOptions('firmware')} />
      </Row>
      <Row form={form} field="video" label="Video card">
        <Select form={form} field="video" options={labelOptions('video')} />
      </Row>
      <Row
        form={form}
        field="sound"
        label="Sound card"
        hint="What the guest sees; there is no sound on this computer’s speakers yet."
      >
        <Select form={form} field="sound" options={labelOptions('sound')} />
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
