/** App settings: choices about Vivarium itself rather than one VM, kept in the data folder. */
import { z } from 'zod';

/** What happens to running VMs when the app (or `vivarium serve`) quits. */
export const ON_QUIT_CHOICES = ['keep', 'suspend'] as const;
export type OnQuit = (typeof ON_QUIT_CHOICES)[number];

export interface AppSettings {
  /**
   * 'keep' (default): running VMs go on without the app. 'suspend': each running VM is saved to
   * disk (as `vm.suspend` does) before the app exits, and resumes at its next start.
   */
  onQuit: OnQuit;
}

export const DEFAULT_APP_SETTINGS: AppSettings = { onQuit: 'keep' };

/** Human words for the choices (the Preferences view, `vivarium settings`). */
export const ON_QUIT_LABELS: Record<OnQuit, string> = {
  keep: 'Keep VMs running',
  suspend: 'Suspend them (save to disk)',
};

export const AppSettingsPatchSchema = z
  .object({
    onQuit: z.enum(ON_QUIT_CHOICES),
  })
  .partial();
export type AppSettingsPatch = z.input<typeof AppSettingsPatchSchema>;

export const settingsMethods = {
  'settings.get': z.object({}),
  /** Changes the given settings; the others stay. Announced as a `settings` event. */
  'settings.update': AppSettingsPatchSchema,
} as const;

export interface SettingsResults {
  'settings.get': AppSettings;
  'settings.update': AppSettings;
}
