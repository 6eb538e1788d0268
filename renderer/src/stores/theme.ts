import { create } from 'zustand';
import { readStored } from '../lib/storage';

/** What the user picked in Host › Appearance; "system" follows the OS. */
export const THEME_CHOICES = ['system', 'light', 'dark'] as const;
export type ThemeChoice = (typeof THEME_CHOICES)[number];
/** What the page shows: the choice, with "system" resolved through the media query. */
export type Theme = 'light' | 'dark';

export const THEME_KEY = 'vivarium.theme';

export interface ThemeState {
  choice: ThemeChoice;
  resolved: Theme;
}

const isChoice = (v: unknown): v is ThemeChoice => THEME_CHOICES.some((c) => c === v);

/** The OS's scheme, which "system" follows. */
export const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

export function resolveTheme(choice: ThemeChoice): Theme {
  if (choice === 'system') return systemDark.matches ? 'dark' : 'light';
  return choice;
}

const initial = readStored<ThemeChoice>(THEME_KEY, 'system', isChoice);

/** The colour theme; only `actions/theme` writes to it. */
export const useThemeStore = create<ThemeState>()(() => ({
  choice: initial,
  resolved: resolveTheme(initial),
}));
