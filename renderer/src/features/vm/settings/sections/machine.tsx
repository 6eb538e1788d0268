import { archPreset, firmwareLabel } from '../../../../../../common/arch';
import { labelOptions } from '../../../../../../common/labels';
import { Row, Section, Select, type SettingsForm } from '../form';

/** Only what the architecture's machine has (and the value the VM has now, whatever it is). */
function offered<V extends string>(
  options: ReadonlyArray<readonly [V, string]>,
  allowed: readonly V[],
  current: V,
): ReadonlyArray<readonly [V, string]> {
  return options.filter(([v]) => allowed.includes(v) || v === current);
}

/**
 * The machine type, firmware and the devices the guest sees (video, sound, the USB tablet), as
 * the guest's architecture offers them.
 */
export function MachineSection({ form }: { form: SettingsForm }) {
  const tabletLocked = form.locked('usbTablet');
  const d = form.draft;
  const p = archPreset(d.arch);
  const firmwares = offered(labelOptions('firmware'), p.firmwares, d.firmware).map(
    ([v]) => [v, firmwareLabel(d.arch, v)] as const,
  );
  return (
    <Section title="Machine and firmware">
      <Row form={form} field="machine" label="Machine type">
        <Select
          form={form}
          field="machine"
          options={offered(labelOptions('machine'), p.machines, d.machine)}
        />
      </Row>
      <Row form={form} field="firmware" label="Firmware">
        <Select form={form} field="firmware" options={firmwares} />
      </Row>
      <Row form={form} field="video" label="Video card">
        <Select
          form={form}
          field="video"
          options={offered(labelOptions('video'), p.videos, d.video)}
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
          options={offered(labelOptions('sound'), p.sounds, d.sound)}
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
