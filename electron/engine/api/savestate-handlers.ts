/** The contract's save-state methods (suspend to disk, discard) and the app settings. */
import type { SaveStateService } from '../savestate/service';
import type { AppSettingsStore } from '../settings/app-settings';
import type { ApiEvent } from '../../../common/contract';
import type { HandlerGroup } from './handlers';

export function saveStateHandlers(
  saves: SaveStateService,
): HandlerGroup<'vm.suspend' | 'vm.discardState'> {
  return {
    'vm.suspend': ({ vm }) => saves.suspend(vm),
    'vm.discardState': ({ vm }) => saves.discard(vm),
  };
}

export function settingsHandlers(
  settings: AppSettingsStore,
  emit: (event: ApiEvent) => void,
): HandlerGroup<'settings.get' | 'settings.update'> {
  return {
    'settings.get': () => settings.get(),
    'settings.update': async (patch) => {
      const next = await settings.update(patch);
      emit({ type: 'settings', settings: next });
      return next;
    },
  };
}
