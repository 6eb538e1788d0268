import { writeStored } from '../lib/storage';
import {
  THEME_KEY,
  resolveTheme,
  systemDark,
  useThemeStore,
  type Theme,
  type ThemeChoice,
} from '../stores/theme';

/** `data-theme` on <html> selects the CSS variables; `color-scheme` follows from it in CSS. */
function apply(theme: Theme): void {
  const root = document.documentElement;
  if (root.dataset['theme'] !== theme) root.dataset['theme'] = theme;
  // The canvas before the stylesheet applies (and the page's scrollbars) match too.
  document.querySelector('meta[name="color-scheme"]')?.setAttribute('content', theme);
}

export function setTheme(choice: ThemeChoice): void {
  useThemeStore.setState({ choice, resolved: resolveTheme(choice) });
  writeStored(THEME_KEY, choice);
}

let started = false;

/**
 * Applies the stored choice at once (the entry calls it before React renders, so the first paint
 * has the right colours: the CSP forbids an inline script in index.html), then keeps <html> in
 * step with the choice, with the OS while it is "system", and with other windows' choices.
 */
export function startTheme(): void {
  if (started) return;
  started = true;
  apply(useThemeStore.getState().resolved);
  useThemeStore.subscribe((s) => apply(s.resolved));
  systemDark.addEventListener('change', () => {
    const { choice } = useThemeStore.getState();
    useThemeStore.setState({ resolved: resolveTheme(choice) });
  });
  // Another window (a VM window, another tab) changed it.
  window.addEventListener('storage', (e) => {
    if (e.key !== THEME_KEY) return;
    let value: unknown = null;
    try {
      value = e.newValue === null ? 'system' : JSON.parse(e.newValue);
    } catch {
      return;
    }
    if (value === 'system' || value === 'light' || value === 'dark') {
      useThemeStore.setState({ choice: value, resolved: resolveTheme(value) });
    }
  });
}
