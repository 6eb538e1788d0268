/**
 * The Settings form's building blocks: one object every section gets, with the draft, its errors
 * and locks, and the field controls (a labelled row, text, select, checkbox) that show them alike.
 */
import type { ReactNode } from 'react';
import type { HostInfo } from '../../../../../common/contract';
import { Icon } from '../../../components/Icon';
import type { Draft } from './draft';

export interface SettingsForm {
  /** Prefix of the inputs' ids, for their labels. */
  id: string;
  draft: Draft;
  host: HostInfo | null;
  set: <K extends keyof Draft>(key: K, value: Draft[K]) => void;
  /** Several fields at once (an architecture change moves machine and firmware with it). */
  setDraft: (draft: Draft) => void;
  /** The error shown for a dotted field path. */
  err: (key: string) => string | undefined;
  /** The field cannot change in the VM's current state. */
  locked: (key: string) => boolean;
  /** Why the locked fields are locked, or null while the VM is off. */
  lockedReason: string | null;
}

/** A labelled field with its error (or hint) below; locked fields say why on hover. */
export function Row({
  form,
  field,
  label,
  hint,
  children,
}: {
  form: SettingsForm;
  field: string;
  label: string;
  hint?: ReactNode;
  children: ReactNode;
}) {
  const e = form.err(field);
  const off = form.locked(field);
  return (
    <div
      className={`field${e ? ' field--error' : ''}${off ? ' field--locked' : ''}`}
      title={off ? (form.lockedReason ?? undefined) : undefined}
    >
      <label htmlFor={`${form.id}-${field}`}>
        {label}
        {off ? <Icon name="lock" size={12} /> : null}
      </label>
      {children}
      {e ? (
        <p className="field__error" role="alert">
          {e}
        </p>
      ) : hint ? (
        <p className="field__hint">{hint}</p>
      ) : null}
    </div>
  );
}

type TextKey = {
  [K in keyof Draft]: Draft[K] extends string ? K : never;
}[keyof Draft];

export function TextInput({
  form,
  field,
  mono = false,
  placeholder,
  inputMode,
}: {
  form: SettingsForm;
  field: TextKey;
  mono?: boolean;
  placeholder?: string;
  inputMode?: 'numeric';
}) {
  return (
    <input
      id={`${form.id}-${field}`}
      value={form.draft[field]}
      disabled={form.locked(field)}
      className={mono ? 'mono' : undefined}
      placeholder={placeholder}
      inputMode={inputMode}
      spellCheck={false}
      autoComplete="off"
      aria-invalid={form.err(field) ? true : undefined}
      onChange={(e) => form.set(field, e.target.value)}
    />
  );
}

export function Select<K extends TextKey>({
  form,
  field,
  options,
}: {
  form: SettingsForm;
  field: K;
  options: ReadonlyArray<readonly [Draft[K], string]>;
}) {
  return (
    <select
      id={`${form.id}-${field}`}
      value={form.draft[field]}
      disabled={form.locked(field)}
      onChange={(e) => form.set(field, e.target.value as Draft[K])}
    >
      {options.map(([v, l]) => (
        <option key={v} value={v}>
          {l}
        </option>
      ))}
    </select>
  );
}

/** A checkbox field; `unavailable` (why it cannot be turned on) disables it while it is off. */
export function Check({
  form,
  field,
  label,
  hint,
  unavailable,
}: {
  form: SettingsForm;
  field: 'tpm' | 'secureBoot';
  label: string;
  hint: string;
  unavailable: string | null;
}) {
  const e = form.err(field);
  const on = form.draft[field];
  const off = form.locked(field) || (unavailable !== null && !on);
  return (
    <div
      className={`field${e ? ' field--error' : ''}${off ? ' field--locked' : ''}`}
      title={form.locked(field) ? (form.lockedReason ?? undefined) : (unavailable ?? undefined)}
    >
      <label className="check">
        <input
          type="checkbox"
          checked={on}
          disabled={off}
          aria-invalid={e ? true : undefined}
          onChange={(ev) => form.set(field, ev.target.checked)}
        />
        {label}
      </label>
      {e ? (
        <p className="field__error" role="alert">
          {e}
        </p>
      ) : (
        <p className="field__hint">{unavailable ?? hint}</p>
      )}
    </div>
  );
}

export function Section({
  title,
  children,
  danger = false,
}: {
  title: string;
  children: ReactNode;
  danger?: boolean;
}) {
  return (
    <fieldset className={`card settings__section${danger ? ' settings__section--danger' : ''}`}>
      <legend className="card__title">{title}</legend>
      {children}
    </fieldset>
  );
}
