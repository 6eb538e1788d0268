/** The name step: the user's own name, or one offered from the OS until they type one. */
import { suggestedName } from '../../features/wizard/model';
import { get, set, takenNames } from './shared';

export function setName(name: string): void {
  set((s) => ({
    name,
    nameEdited: name.trim() !== '',
    createError: s.createError?.fields['name'] ? null : s.createError,
  }));
}

/** Offers a name from the OS until the user types their own. */
export function refreshName(): void {
  if (get().nameEdited) return;
  set({ name: suggestedName(get(), takenNames()) });
}
