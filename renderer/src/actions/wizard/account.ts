/** The "Guest account" step of a ready-to-use guest: the host's defaults, then the user's edits. */
import { prefillAccount } from '../../features/wizard/cloud';
import type { AccountDraft } from '../../stores/wizard';
import { getBridge, toApiError } from '../../bridge';
import { get, set } from './shared';

let defaultsSeq = 0;

/**
 * host.guestDefaults, once per wizard: the fields the user has not touched start from this host's
 * login name, ~/.ssh keys (all ticked), time zone, locale and keyboard.
 */
export async function loadGuestDefaults(): Promise<void> {
  const status = get().guestDefaults.status;
  if (status === 'ready' || status === 'loading') return;
  const seq = ++defaultsSeq;
  set({ guestDefaults: { status: 'loading' } });
  try {
    const value = await getBridge().call('host.guestDefaults', {});
    if (seq !== defaultsSeq) return;
    set((s) => ({
      guestDefaults: { status: 'ready', value },
      account: prefillAccount(s.account, value),
    }));
  } catch (err) {
    if (seq !== defaultsSeq) return;
    // The form still works without them: the user types the login and pastes a key.
    set((s) => ({
      guestDefaults: { status: 'error', message: toApiError(err).message },
      account: { ...s.account, user: s.account.user || 'user' },
    }));
  }
}

/** Forgets an answer still on its way (a fresh wizard). */
export function forgetGuestDefaults(): void {
  defaultsSeq++;
}

export function setAccount(patch: Partial<AccountDraft>): void {
  set((s) => ({
    account: { ...s.account, ...patch },
    createError:
      s.createError && Object.keys(s.createError.fields).some(isCloudField) ? null : s.createError,
  }));
}

/** Ticks or unticks one of the host's keys. */
export function toggleHostKey(file: string, on: boolean): void {
  const files = get().account.keyFiles.filter((f) => f !== file);
  setAccount({ keyFiles: on ? [...files, file] : files });
}

/** The user's own host name; emptied, it follows the VM's name again. */
export function setHostname(hostname: string): void {
  setAccount({ hostname, hostnameEdited: hostname.trim() !== '' });
}

function isCloudField(field: string): boolean {
  return field === 'cloud' || field.startsWith('cloud.');
}
