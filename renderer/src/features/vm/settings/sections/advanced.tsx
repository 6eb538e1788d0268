import { Row, Section, type SettingsForm } from '../form';

/** The user's own QEMU arguments, added last and never parsed back. */
export function AdvancedSection({ form }: { form: SettingsForm }) {
  return (
    <Section title="Advanced">
      <Row
        form={form}
        field="extraArgs"
        label="Extra QEMU arguments"
        hint="Added after everything Vivarium builds, one per line, never parsed."
      >
        <textarea
          id={`${form.id}-extraArgs`}
          className="mono"
          rows={3}
          value={form.draft.extraArgs}
          disabled={form.locked('extraArgs')}
          placeholder={'One argument per line, e.g.\n-device\nvirtio-rng-pci'}
          onChange={(e) => form.set('extraArgs', e.target.value)}
        />
      </Row>
    </Section>
  );
}
