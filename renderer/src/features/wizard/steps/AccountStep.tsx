import { useId, useState, type ReactNode } from 'react';
import { setAccount, setHostname, toggleHostKey } from '../../../actions/wizard/account';
import { Icon } from '../../../components/Icon';
import type { AccountField } from '../cloud';
import { useWizard } from '../use-wizard';

/**
 * A ready-to-use guest's first boot: the login it makes (name, the host's ~/.ssh keys ticked,
 * pasted keys, an optional password), its host name, and the host's regional settings folded
 * away. Every field says what is wrong with it as one types, with the engine's own rules.
 */
export function AccountStep() {
  const { s, d } = useWizard();
  const a = s.account;
  const g = d.account.guestDefaults;
  const problems = d.account.problems;
  // The engine's answer to Create, for the field it names, wins over the form's own check.
  const engine = (field: string): string | undefined => {
    const fields = s.createError?.fields ?? {};
    const key = Object.keys(fields).find(
      (k) => k === `cloud.${field}` || k.startsWith(`cloud.${field}.`),
    );
    return key ? fields[key] : undefined;
  };
  const problem = (field: AccountField, engineField: string = field): string | undefined =>
    engine(engineField) ?? problems[field];
  const [showPaste, setShowPaste] = useState(a.pastedKeys !== '');
  const hostKeys = g?.sshKeys ?? [];
  const keyCount = d.account.keys.length;

  if (s.guestDefaults.status === 'loading' || s.guestDefaults.status === 'idle') {
    return (
      <div className="wizard__loading">
        <span className="spinner" /> Reading this computer’s SSH keys and settings…
      </div>
    );
  }

  return (
    <div className="account" data-testid="wizard-account">
      <div className="account__row">
        <Field
          label="User name"
          problem={problem('user')}
          hint={
            g && a.user.trim() === g.user
              ? 'Your login on this computer; the guest’s first boot makes it for you.'
              : 'The login the guest’s first boot makes for you.'
          }
        >
          {(id, describedBy) => (
            <input
              id={id}
              value={a.user}
              spellCheck={false}
              autoComplete="off"
              autoCapitalize="off"
              aria-describedby={describedBy}
              aria-invalid={problem('user') ? true : undefined}
              onChange={(e) => setAccount({ user: e.target.value })}
            />
          )}
        </Field>
        <Field
          label="Host name"
          problem={problem('hostname')}
          hint={
            a.hostnameEdited
              ? 'Empty it to follow the VM’s name again.'
              : 'From the VM’s name; it follows the name until you change it.'
          }
        >
          {(id, describedBy) => (
            <input
              id={id}
              className="mono"
              value={a.hostnameEdited ? a.hostname : d.account.hostname}
              spellCheck={false}
              autoComplete="off"
              aria-describedby={describedBy}
              aria-invalid={problem('hostname') ? true : undefined}
              onChange={(e) => setHostname(e.target.value)}
            />
          )}
        </Field>
      </div>

      <fieldset className="account__keys">
        <legend>
          <Icon name="lock" size={14} />
          SSH keys
          <span className="muted"> · {keyCount === 0 ? 'none of yours' : `${keyCount} given`}</span>
        </legend>
        {hostKeys.length > 0 ? (
          <ul className="keys" aria-label="Your public keys">
            {hostKeys.map((k) => {
              const on = a.keyFiles.includes(k.file);
              return (
                <li key={k.file}>
                  <label className={`key${on ? ' is-on' : ''}`}>
                    <input
                      type="checkbox"
                      checked={on}
                      onChange={(e) => toggleHostKey(k.file, e.target.checked)}
                    />
                    <span className="key__type">{keyTypeLabel(k.type)}</span>
                    <span className="key__comment">{k.comment || '(no comment)'}</span>
                    <span className="key__file mono" title={k.file}>
                      {shortPath(k.file)}
                    </span>
                  </label>
                </li>
              );
            })}
          </ul>
        ) : (
          <p className="muted account__none">
            {s.guestDefaults.status === 'error'
              ? `This computer’s keys could not be read (${s.guestDefaults.message}).`
              : 'No public keys in ~/.ssh on this computer.'}{' '}
            Paste one, set a password, or rely on the VM’s own key below.
          </p>
        )}
        {problem('keys', 'sshKeys') ? (
          <p className="field__error" role="alert">
            {problem('keys', 'sshKeys')}
          </p>
        ) : null}
        {showPaste || hostKeys.length === 0 ? (
          <Field
            label="Paste a public key"
            problem={problem('pastedKeys')}
            hint="One key a line, as in a .pub file or authorized_keys."
          >
            {(id, describedBy) => (
              <textarea
                id={id}
                className="mono account__paste"
                rows={2}
                value={a.pastedKeys}
                placeholder="ssh-ed25519 AAAAC3Nza… you@laptop"
                spellCheck={false}
                autoComplete="off"
                aria-describedby={describedBy}
                aria-invalid={problem('pastedKeys') ? true : undefined}
                onChange={(e) => setAccount({ pastedKeys: e.target.value })}
              />
            )}
          </Field>
        ) : (
          <button type="button" className="link-btn" onClick={() => setShowPaste(true)}>
            <Icon name="plus" size={13} />
            Paste another public key
          </button>
        )}
        <p className="account__own-key">
          <Icon name="shield" size={15} />
          <span>
            Vivarium also makes a key of its own for this VM, so{' '}
            <code>vivarium ssh {s.name.trim() ? quoteName(s.name.trim()) : 'NAME'}</code> gets in
            without yours.
          </span>
        </p>
      </fieldset>

      <div className="account__row">
        <Field
          label="Password"
          optional
          problem={problem('password')}
          hint="Also lets you log in on the console. Leave it empty for keys only."
        >
          {(id, describedBy) => (
            <input
              id={id}
              type="password"
              value={a.password}
              autoComplete="new-password"
              aria-describedby={describedBy}
              aria-invalid={problem('password') ? true : undefined}
              onChange={(e) => setAccount({ password: e.target.value })}
            />
          )}
        </Field>
        <Field
          label="Confirm the password"
          problem={a.password && a.passwordConfirm ? problems.passwordConfirm : undefined}
          {...(a.password ? { hint: 'Type it again.' } : {})}
        >
          {(id, describedBy) => (
            <input
              id={id}
              type="password"
              value={a.passwordConfirm}
              autoComplete="new-password"
              disabled={!a.password}
              aria-describedby={describedBy}
              aria-invalid={
                a.password && a.passwordConfirm && problems.passwordConfirm ? true : undefined
              }
              onChange={(e) => setAccount({ passwordConfirm: e.target.value })}
            />
          )}
        </Field>
      </div>

      {g && !g.sshClient ? (
        <div className="callout callout--warn" role="note">
          <Icon name="alert" size={15} />
          <span>
            There is no <code>ssh</code> command on this computer: install OpenSSH’s client (Debian:{' '}
            <code>sudo apt install openssh-client</code>) to log in to the guest.
          </span>
        </div>
      ) : null}

      <Regional />
    </div>
  );
}

/** Time zone, locale and keyboard, from this host unless changed: folded away. */
function Regional() {
  const { s, d } = useWizard();
  const a = s.account;
  const p = d.account.problems;
  const bad = Boolean(p.timezone || p.locale || p.keyboardLayout || p.keyboardVariant);
  const g = d.account.guestDefaults;
  const same =
    g !== null &&
    a.timezone === g.timezone &&
    a.locale === g.locale &&
    a.keyboardLayout === g.keyboard.layout &&
    a.keyboardVariant === (g.keyboard.variant ?? '');
  const keyboard = `${a.keyboardLayout || '—'}${a.keyboardVariant ? ` (${a.keyboardVariant})` : ''}`;
  return (
    <details className="hw account__regional" open={bad || undefined}>
      <summary>
        <Icon name="globe" size={15} />
        Regional settings
        <span className="muted">
          {' '}
          · {a.timezone || '—'}, {a.locale || '—'}, {keyboard} keyboard
          {same ? ' · from this computer' : ''}
        </span>
      </summary>
      <div className="account__row account__row--regional">
        <Field label="Time zone" problem={p.timezone}>
          {(id, describedBy) => (
            <input
              id={id}
              value={a.timezone}
              placeholder="Europe/Paris"
              spellCheck={false}
              aria-describedby={describedBy}
              onChange={(e) => setAccount({ timezone: e.target.value })}
            />
          )}
        </Field>
        <Field label="Locale" problem={p.locale}>
          {(id, describedBy) => (
            <input
              id={id}
              value={a.locale}
              placeholder="en_US.UTF-8"
              spellCheck={false}
              aria-describedby={describedBy}
              onChange={(e) => setAccount({ locale: e.target.value })}
            />
          )}
        </Field>
        <Field label="Keyboard layout" problem={p.keyboardLayout}>
          {(id, describedBy) => (
            <input
              id={id}
              value={a.keyboardLayout}
              placeholder="us"
              spellCheck={false}
              aria-describedby={describedBy}
              onChange={(e) => setAccount({ keyboardLayout: e.target.value })}
            />
          )}
        </Field>
        <Field label="Variant" optional problem={p.keyboardVariant}>
          {(id, describedBy) => (
            <input
              id={id}
              value={a.keyboardVariant}
              placeholder="intl"
              spellCheck={false}
              aria-describedby={describedBy}
              onChange={(e) => setAccount({ keyboardVariant: e.target.value })}
            />
          )}
        </Field>
      </div>
    </details>
  );
}

function Field({
  label,
  problem,
  hint,
  optional = false,
  children,
}: {
  label: string;
  problem?: string | undefined;
  hint?: string;
  optional?: boolean;
  children: (id: string, describedBy: string) => ReactNode;
}) {
  const id = useId();
  return (
    <div className={`field${problem ? ' field--error' : ''}`}>
      <label htmlFor={id}>
        {label}
        {optional ? (
          <span className="muted account__optional" aria-hidden="true">
            optional
          </span>
        ) : null}
      </label>
      {children(id, `${id}-msg`)}
      {problem ? (
        <p className="field__error" id={`${id}-msg`} role="alert">
          {problem}
        </p>
      ) : hint ? (
        <p className="field__hint" id={`${id}-msg`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** "ssh-ed25519" -> "ED25519", "ecdsa-sha2-nistp256" -> "ECDSA". */
function keyTypeLabel(type: string): string {
  const t = type.replace(/^sk-/, '').replace(/@.*$/, '');
  if (t.startsWith('ssh-')) return t.slice(4).toUpperCase();
  if (t.startsWith('ecdsa')) return 'ECDSA';
  return t.toUpperCase();
}

/** "/home/me/.ssh/id_ed25519.pub" -> "~/.ssh/id_ed25519.pub": the keys come from ~/.ssh. */
function shortPath(file: string): string {
  return file.replace(/^.*(?=[\\/]\.ssh[\\/][^\\/]+$)/, '~');
}

/** A VM name as a shell word, for the command shown. */
function quoteName(name: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(name) ? name : `'${name.replace(/'/g, `'\\''`)}'`;
}
