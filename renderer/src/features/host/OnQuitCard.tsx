import type { OnQuit } from '../../../../common/contract';
import { loadSettings, updateSettings } from '../../actions/settings';
import { useSettingsStore } from '../../stores/settings';
import { Card } from './parts';

/** Every choice the contract has (a new one is a compile error here), in the order shown. */
const CHOICES: Record<OnQuit, { label: string; hint: string }> = {
  keep: {
    label: 'Keep VMs running (default)',
    hint: 'Running VMs go on without Vivarium; open it again to see them.',
  },
  suspend: {
    label: 'Suspend them',
    hint: 'Each running VM is saved to disk before Vivarium (or vivarium serve) exits, and resumes where it was at its next start.',
  },
};
const ORDER = Object.keys(CHOICES) as OnQuit[];

/** What happens to running VMs when the app quits: an engine setting, so the CLI's serve obeys it too. */
export function OnQuitCard() {
  const settings = useSettingsStore((s) => s.settings);
  const error = useSettingsStore((s) => s.error);
  const saving = useSettingsStore((s) => s.saving);
  const choice = settings?.onQuit ?? null;
  return (
    <Card title="When Vivarium quits" icon="power" className="host__onquit" testId="host-onquit">
      <div className="appearance">
        <div
          className="segmented"
          role="radiogroup"
          aria-label="When Vivarium quits"
          aria-busy={saving || settings === null || undefined}
        >
          {ORDER.map((value) => (
            <label key={value} className={choice === value ? 'is-on' : undefined}>
              <input
                type="radio"
                name="on-quit"
                value={value}
                data-testid={`on-quit-${value}`}
                checked={choice === value}
                disabled={settings === null || saving}
                onChange={() => void updateSettings({ onQuit: value })}
              />
              {CHOICES[value].label}
            </label>
          ))}
        </div>
        {error ? (
          <p className="muted host__hint">
            Couldn’t read the preference: {error}{' '}
            <button
              type="button"
              className="btn btn--ghost btn--compact"
              onClick={() => void loadSettings()}
            >
              Try again
            </button>
          </p>
        ) : choice ? (
          <p className="muted host__hint" data-testid="on-quit-hint">
            {CHOICES[choice].hint}
          </p>
        ) : null}
      </div>
    </Card>
  );
}
