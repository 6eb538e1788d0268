/**
 * App settings (settings.json in the data folder): small, read each time so a change made by
 * another process (the app's Preferences, `vivarium settings`) is what the next reader sees.
 */
import { join } from 'node:path';
import {
  AppSettingsPatchSchema,
  DEFAULT_APP_SETTINGS,
  ON_QUIT_CHOICES,
  type AppSettings,
  type AppSettingsPatch,
} from '../../../common/contract';
import { isNodeError, readJsonFile, writeFileAtomic } from '../library/atomic-file';

export function appSettingsFile(home: string): string {
  return join(home, 'settings.json');
}

export class AppSettingsStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  /** What is on disk; a missing file is the defaults, and so is a field that is not understood. */
  async get(): Promise<AppSettings> {
    let raw: unknown;
    try {
      raw = await readJsonFile(this.file);
    } catch (err) {
      if (isNodeError(err) && err.code === 'ENOENT') return { ...DEFAULT_APP_SETTINGS };
      if (err instanceof SyntaxError) return { ...DEFAULT_APP_SETTINGS };
      throw err;
    }
    const onQuit = (raw as { onQuit?: unknown } | null)?.onQuit;
    return {
      ...DEFAULT_APP_SETTINGS,
      ...((ON_QUIT_CHOICES as readonly unknown[]).includes(onQuit)
        ? { onQuit: onQuit as AppSettings['onQuit'] }
        : {}),
    };
  }

  /** Changes the given settings (one writer at a time in this process), keeping the rest. */
  update(patch: AppSettingsPatch): Promise<AppSettings> {
    const parsed = AppSettingsPatchSchema.parse(patch);
    const next = this.queue.then(async () => {
      const settings: AppSettings = { ...(await this.get()), ...parsed };
      await writeFileAtomic(this.file, `${JSON.stringify(settings, null, 2)}\n`, false, {
        sync: false,
      });
      return settings;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
