/**
 * The host's timezone, locale and keyboard, offered as a new guest's: pure parsers over what the
 * host says, and thin readers. Anything unreadable or odd falls back to UTC, en_US.UTF-8, us.
 */
import { readFile } from 'node:fs/promises';
import { parseOsRelease } from '../host/install-hint';
import { KeyboardSchema, LocaleSchema, TimezoneSchema } from './user-data';

export interface Keyboard {
  layout: string;
  variant?: string;
}

export interface HostDefaults {
  timezone: string;
  locale: string;
  keyboard: Keyboard;
}

export const DEFAULT_TIMEZONE = 'UTC';
export const DEFAULT_LOCALE = 'en_US.UTF-8';
export const DEFAULT_KEYBOARD: Keyboard = { layout: 'us' };

/** An IANA name as Intl reports it; UTC when absent or not a plain IANA name. Pure. */
export function normaliseTimezone(tz: string | undefined): string {
  if (!tz) return DEFAULT_TIMEZONE;
  if (tz === 'Etc/UTC' || tz === 'Etc/Universal' || tz === 'Universal' || tz === 'Zulu') {
    return DEFAULT_TIMEZONE;
  }
  return TimezoneSchema.safeParse(tz).success ? tz : DEFAULT_TIMEZONE;
}

/** Territories for languages named alone (`LANG=de`), where the code is not simply upper-cased. */
const TERRITORY: Readonly<Record<string, string>> = {
  en: 'US',
  ja: 'JP',
  zh: 'CN',
  ko: 'KR',
  sv: 'SE',
  da: 'DK',
  nb: 'NO',
  nn: 'NO',
  cs: 'CZ',
  uk: 'UA',
  el: 'GR',
  he: 'IL',
  ar: 'EG',
  hi: 'IN',
  vi: 'VN',
  ca: 'ES',
  et: 'EE',
  sl: 'SI',
  ga: 'IE',
};

/**
 * A POSIX locale (`de_DE.utf8`, `fr_FR@euro`, `pt-BR`, `C`) as a guest's UTF-8 locale:
 * `de_DE.UTF-8`. C, POSIX and anything unparseable give en_US.UTF-8. Pure.
 */
export function normaliseLocale(value: string | undefined): string {
  const raw = (value ?? '').split(':')[0]?.trim() ?? '';
  const m = /^([A-Za-z]{2,3})(?:[_-]([A-Za-z]{2}))?(?:\.[A-Za-z0-9-]+)?(?:@([A-Za-z0-9]+))?$/.exec(
    raw,
  );
  if (!m || /^(C|POSIX)$/i.test(m[1] ?? '')) return DEFAULT_LOCALE;
  const lang = (m[1] ?? '').toLowerCase();
  const territory = m[2] ? m[2].toUpperCase() : (TERRITORY[lang] ?? lang.toUpperCase());
  // Modifiers that only chose a legacy charset mean nothing in UTF-8.
  const modifier = m[3] && !/^euro$/i.test(m[3]) ? `@${m[3].toLowerCase()}` : '';
  const locale = `${lang}_${territory}.UTF-8${modifier}`;
  return LocaleSchema.safeParse(locale).success ? locale : DEFAULT_LOCALE;
}

/** The locale the host's programs use: LC_ALL, then LC_CTYPE, then LANG, then Intl's. Pure. */
export function hostLocaleFrom(env: NodeJS.ProcessEnv, intlLocale: string | undefined): string {
  for (const name of ['LC_ALL', 'LC_CTYPE', 'LANG'] as const) {
    const v = env[name];
    if (v && !/^(C|POSIX)(\..*)?$/i.test(v)) return normaliseLocale(v);
    if (v) return DEFAULT_LOCALE;
  }
  return normaliseLocale(intlLocale);
}

function keyboardFrom(layouts: string | undefined, variants: string | undefined): Keyboard | null {
  const layout = (layouts ?? '').split(',')[0]?.trim() ?? '';
  const variant = (variants ?? '').split(',')[0]?.trim() ?? '';
  const parsed = KeyboardSchema.safeParse(variant ? { layout, variant } : { layout });
  return parsed.success ? parsed.data : null;
}

/** Debian's /etc/default/keyboard (XKBLAYOUT, XKBVARIANT; the first of a list). Pure. */
export function parseDefaultKeyboard(text: string): Keyboard | null {
  const vars = parseOsRelease(text);
  return keyboardFrom(vars.XKBLAYOUT, vars.XKBVARIANT);
}

/** systemd-localed's /etc/X11/xorg.conf.d/00-keyboard.conf (Fedora, Arch). Pure. */
export function parseXorgKeyboard(text: string): Keyboard | null {
  const option = (name: string) =>
    new RegExp(`^\\s*Option\\s+"${name}"\\s+"([^"]*)"`, 'mi').exec(text)?.[1];
  return keyboardFrom(option('XkbLayout'), option('XkbVariant'));
}

const KEYBOARD_FILES: ReadonlyArray<[string, (text: string) => Keyboard | null]> = [
  ['/etc/default/keyboard', parseDefaultKeyboard],
  ['/etc/X11/xorg.conf.d/00-keyboard.conf', parseXorgKeyboard],
];

export async function readHostKeyboard(platform = process.platform): Promise<Keyboard> {
  if (platform !== 'linux') return DEFAULT_KEYBOARD;
  for (const [file, parse] of KEYBOARD_FILES) {
    try {
      const kb = parse(await readFile(file, 'utf8'));
      if (kb) return kb;
    } catch {
      // not this distribution's file
    }
  }
  return DEFAULT_KEYBOARD;
}

export async function readHostDefaults(): Promise<HostDefaults> {
  const intl = Intl.DateTimeFormat().resolvedOptions();
  return {
    timezone: normaliseTimezone(intl.timeZone),
    locale: hostLocaleFrom(process.env, intl.locale),
    keyboard: await readHostKeyboard(),
  };
}
