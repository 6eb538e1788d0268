import { Row, Section, TextInput, type SettingsForm } from '../form';

/** Name, notes and whether destructive operations ask first: what can change while the VM runs. */
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
      <div className="field">
        <label className="check">
          <input
            type="checkbox"
            data-testid="confirm-destructive"
            checked={form.draft.confirmDestructive}
            onChange={(e) => form.set('confirmDestructive', e.target.checked)}
          />
          Ask before Power off, Reset and Revert (they lose the guest’s unsaved work)
        </label>
      </div>
    </Section>
  );
}
