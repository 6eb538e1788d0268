/**
 * A ready-to-use guest's account as the wizard's form holds it: what is wrong with each field
 * (the engine's own rules, from common/), the host name that follows the VM's name until edited,
 * and the `cloud` part of vm.create. Pure: no React, no engine calls.
 */
import type { CloudCreate, GuestDefaults } from '../../../../common/contract';
import {
  hostnameFromName,
  hostnameProblem,
  publicKeyProblem,
  userNameProblem,
} from '../../../../common/rules/cloud-guest';
import { CloudCreateSchema } from '../../lib/schemas';
import type { AccountDraft } from '../../stores/wizard';

export type AccountField =
  | 'user'
  | 'keys'
  | 'pastedKeys'
  | 'password'
  | 'passwordConfirm'
  | 'hostname'
  | 'timezone'
  | 'locale'
  | 'keyboardLayout'
  | 'keyboardVariant';

export type AccountProblems = Partial<Record<AccountField, string>>;

/** The fields in the order the form shows them (the first problem is the one the footer names). */
const FIELD_ORDER: readonly AccountField[] = [
  'user',
  'keys',
  'pastedKeys',
  'password',
  'passwordConfirm',
  'hostname',
  'timezone',
  'locale',
  'keyboardLayout',
  'keyboardVariant',
];

/** The contract allows this many keys in one request. */
const MAX_KEYS = 32;

/** The guest's host name: the user's own once edited, else one made from the VM's name. */
export function accountHostname(account: AccountDraft, vmName: string): string {
  return account.hostnameEdited ? account.hostname.trim() : hostnameFromName(vmName.trim());
}

/** Pasted public keys, one a line; blank lines and `#` comments (as in authorized_keys) skipped. */
export function pastedKeyLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The key lines the guest gets: the ticked host keys, then the pasted ones, each once. */
export function accountKeys(account: AccountDraft, defaults: GuestDefaults | null): string[] {
  const ticked = (defaults?.sshKeys ?? [])
    .filter((k) => account.keyFiles.includes(k.file))
    .map((k) => k.line.trim());
  return [...new Set([...ticked, ...pastedKeyLines(account.pastedKeys)])];
}

/** What is wrong with each field, in the words the engine would use. */
export function accountProblems(
  account: AccountDraft,
  defaults: GuestDefaults | null,
  vmName: string,
): AccountProblems {
  const problems: AccountProblems = {};
  const user = userNameProblem(account.user.trim());
  if (user) problems.user = user;

  const pasted = pastedKeyLines(account.pastedKeys);
  const bad = pasted.map((line) => publicKeyProblem(line)).findIndex((p) => p !== null);
  if (bad >= 0) {
    const why = publicKeyProblem(pasted[bad]!)!;
    problems.pastedKeys = pasted.length > 1 ? `Key ${bad + 1}: ${why}` : why;
  }
  const hostKey = (defaults?.sshKeys ?? []).find(
    (k) => account.keyFiles.includes(k.file) && publicKeyProblem(k.line) !== null,
  );
  if (hostKey) problems.keys = `${hostKey.file}: ${publicKeyProblem(hostKey.line)}`;
  else if (accountKeys(account, defaults).length > MAX_KEYS)
    problems.keys = `At most ${MAX_KEYS} keys: untick some`;

  if (account.password.length > 512) problems.password = 'Use at most 512 characters';
  if (account.password && account.passwordConfirm !== account.password) {
    problems.passwordConfirm = account.passwordConfirm
      ? 'The two passwords differ: type the same one twice'
      : 'Type the password again to confirm it';
  }

  const hostname = accountHostname(account, vmName);
  const hostProblem = hostname ? hostnameProblem(hostname) : 'Give the guest a host name';
  if (hostProblem) problems.hostname = hostProblem;

  const regional = CloudCreateSchema.pick({
    timezone: true,
    locale: true,
    keyboard: true,
  }).safeParse(regionalPart(account));
  if (!regional.success) {
    for (const issue of regional.error.issues) {
      const [head, sub] = issue.path.map(String);
      const field: AccountField | null =
        head === 'timezone' || head === 'locale'
          ? head
          : head === 'keyboard'
            ? sub === 'variant'
              ? 'keyboardVariant'
              : 'keyboardLayout'
            : null;
      if (field && !problems[field])
        problems[field] =
          field === 'keyboardVariant'
            ? 'A keyboard variant is lowercase letters, digits, _ or - (or empty)'
            : issue.message;
    }
  }
  return problems;
}

/** The first problem, in the form's order (what the footer says), or null. */
export function firstAccountProblem(problems: AccountProblems): string | null {
  for (const f of FIELD_ORDER) if (problems[f]) return problems[f];
  return null;
}

/** Time zone, locale and keyboard as the request gives them: empty fields are the host's. */
function regionalPart(
  account: AccountDraft,
): Pick<CloudCreate, 'timezone' | 'locale' | 'keyboard'> {
  const tz = account.timezone.trim();
  const locale = account.locale.trim();
  const layout = account.keyboardLayout.trim();
  const variant = account.keyboardVariant.trim();
  return {
    ...(tz ? { timezone: tz } : {}),
    ...(locale ? { locale } : {}),
    ...(layout ? { keyboard: { layout, ...(variant ? { variant } : {}) } } : {}),
  };
}

/** The `cloud` part of vm.create for the draft and the cached image. */
export function cloudCreate(
  account: AccountDraft,
  defaults: GuestDefaults | null,
  vmName: string,
  image: string,
  diskMode: 'overlay' | 'copy',
): CloudCreate {
  return {
    image,
    user: account.user.trim(),
    sshKeys: accountKeys(account, defaults),
    ...(account.password ? { password: account.password } : {}),
    hostname: accountHostname(account, vmName),
    ...regionalPart(account),
    diskMode,
  };
}

/**
 * The form's fields prefilled from what this host offers (every ~/.ssh key ticked); what the user
 * already typed stays.
 */
export function prefillAccount(account: AccountDraft, g: GuestDefaults): AccountDraft {
  const keep = (mine: string, host: string) => (mine.trim() ? mine : host);
  return {
    ...account,
    user: keep(account.user, g.user),
    keyFiles: account.keyFiles.length ? account.keyFiles : g.sshKeys.map((k) => k.file),
    timezone: keep(account.timezone, g.timezone),
    locale: keep(account.locale, g.locale),
    keyboardLayout: keep(account.keyboardLayout, g.keyboard.layout),
    keyboardVariant: keep(account.keyboardVariant, g.keyboard.variant ?? ''),
  };
}

/** "2 SSH keys and a password", "Vivarium’s key only": how the guest is logged into. */
export function loginSummary(keys: number, password: boolean): string {
  const parts: string[] = [];
  if (keys > 0) parts.push(keys === 1 ? '1 SSH key' : `${keys} SSH keys`);
  if (password) parts.push('a password');
  return parts.length ? parts.join(' and ') : 'Vivarium’s own key only';
}
