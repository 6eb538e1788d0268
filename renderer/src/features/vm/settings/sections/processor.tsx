import { accelLabel } from '../../../../../../common/format';
import { labelOptions } from '../../../../../../common/labels';
import { Row, Section, Select, TextInput, type SettingsForm } from '../form';

/** Memory, CPUs, the CPU model and the accelerator, with what this computer has beside them. */
export function ProcessorSection({ form }: { form: SettingsForm }) {
  const { host } = form;
  const balloonLocked = form.locked('balloon');
  return (
    <Section title="Processor and memory">
      <div className="form__row">
        <Row
          form={form}
          field="memoryMiB"
          label="Memory (MiB)"
          hint={host ? `This computer has ${host.totalMemoryMiB} MiB` : undefined}
        >
          <TextInput form={form} field="memoryMiB" inputMode="numeric" />
        </Row>
        <Row
          form={form}
          field="cpuCount"
          label="CPUs"
          hint={host ? `Up to ${host.cpus}` : undefined}
        >
          <TextInput form={form} field="cpuCount" inputMode="numeric" />
        </Row>
      </div>
      <div
        className={`field${balloonLocked ? ' field--locked' : ''}`}
        title={balloonLocked ? (form.lockedReason ?? undefined) : undefined}
      >
        <label className="check">
          <input
            type="checkbox"
            data-testid="settings-balloon"
            checked={form.draft.balloon}
            disabled={balloonLocked}
            onChange={(e) => form.set('balloon', e.target.checked)}
          />
          Memory balloon (the guest’s memory can be lowered and raised while it runs, and it reports
          what it uses)
        </label>
      </div>
      <Row
        form={form}
        field="cpuModel"
        label="CPU model"
        hint="“max” offers the guest every feature QEMU can emulate."
      >
        <TextInput form={form} field="cpuModel" mono />
      </Row>
      <Row form={form} field="accel" label="Accelerator">
        <Select
          form={form}
          field="accel"
          options={labelOptions('accel').map(
            ([v, text]) =>
              [
                v,
                v === 'auto' && host
                  ? `${text} (${accelLabel(host.bestAccelerator, true)} here)`
                  : text,
              ] as const,
          )}
        />
      </Row>
    </Section>
  );
}
