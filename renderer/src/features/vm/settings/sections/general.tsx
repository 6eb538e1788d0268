import { Row, Section, TextInput, type SettingsForm } from '../form';

/** Name and notes: the two fields that can change while the VM runs. */
export function GeneralSection({ form }: { form: SettingsForm }) {
  return (
    <Section title="General">
      <Row form={form} field="name" label="Name">
        <TextInput form={form} field="name" />
      </Row>
      <Row form={form} field="notes" label="Notes">
        <textarea
          id={`${form.id}-notes`}
          value={form.draft.notes}
          rows={3}
          onChange={(e) => form.set('notes', e.target.value)}
          placeholder="What this VM is for, password hints, anything"
        />
      </Row>
    </Section>
  );
}
