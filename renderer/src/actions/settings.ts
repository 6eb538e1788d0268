import type { AppSettings, AppSettingsPatch } from '../../../common/contract';
import { getBridge, toApiError } from '../bridge';
import { useSettingsStore } from '../stores/settings';
import { notifyError } from './notifications';

export async function loadSettings(): Promise<void> {
  try {
    const settings = await getBridge().call('settings.get', {});
    useSettingsStore.setState({ settings, error: null });
  } catch (err) {
    useSettingsStore.setState({ error: toApiError(err).message });
  }
}

/** A `settings` event: another window or the CLI changed them. */
export function applySettingsEvent(settings: AppSettings): void {
  useSettingsStore.setState({ settings, error: null });
}

export async function updateSettings(patch: AppSettingsPatch): Promise<void> {
  useSettingsStore.setState({ saving: true });
  try {
    const settings = await getBridge().call('settings.update', patch);
    useSettingsStore.setState({ settings, error: null });
  } catch (err) {
    notifyError('Couldn’t save the preference', err);
  } finally {
    useSettingsStore.setState({ saving: false });
  }
}
