/**
 * The theme choice in a real Chromium against server mode: Host › Appearance offers System /
 * Light / Dark; Dark wins over a light system (data-theme, color-scheme and a card's computed
 * background), survives a reload and is on <html> before the page's DOMContentLoaded (before
 * React renders); System follows the emulated prefers-color-scheme live, both ways; Light wins
 * over a dark system. Screenshots land in tests/artifacts/theme-*.png.
 *
 * Needs `npm run build` (out/renderer); skips with the reason printed otherwise.
 */
import { type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';

/** `--surface` (a card's background) in each theme, as computed. */
const SURFACE = { light: 'rgb(255, 255, 255)', dark: 'rgb(22, 26, 33)' };
/** `--bg` (the body's background colour). */
const BG = { light: 'rgb(244, 246, 248)', dark: 'rgb(14, 17, 22)' };

const skipReason = browserSkipReason();
if (skipReason) console.warn(`[e2e] skipping the theme tests: ${skipReason}`);

let e2e: E2e;
let page: Page;

const appearance = () => page.getByTestId('host-appearance');
const option = (name: string) =>
  appearance().getByRole('radiogroup', { name: 'Theme' }).getByRole('radio', { name });
/** Clicks a choice as a person does: on its label (the radio itself is invisible). */
const choose = (name: string) =>
  appearance()
    .locator('label')
    .filter({ hasText: new RegExp(`^${name}$`) })
    .click();

async function looks(): Promise<{ theme?: string; scheme: string; card: string; body: string }> {
  return page.evaluate(() => {
    const card = document.querySelector('[data-testid="host-appearance"]');
    return {
      theme: document.documentElement.dataset['theme'],
      scheme: getComputedStyle(document.documentElement).colorScheme,
      card: card ? getComputedStyle(card).backgroundColor : '',
      body: getComputedStyle(document.body).backgroundColor,
    };
  });
}

async function expectLooks(theme: 'light' | 'dark'): Promise<void> {
  expect(await looks()).toEqual({ theme, scheme: theme, card: SURFACE[theme], body: BG[theme] });
}

describe.skipIf(skipReason !== null)('Theme choice (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-theme-',
      powerOff: null,
      view: { width: 1280, height: 860 },
      page: {
        colorScheme: 'light',
        // What <html> says when the document has been parsed: the entry module has run,
        // React not yet.
        initScript: () => {
          document.addEventListener('DOMContentLoaded', () => {
            document.documentElement.setAttribute(
              'data-theme-at-dcl',
              document.documentElement.dataset['theme'] ?? 'none',
            );
          });
        },
        waitForText: 'No virtual machines yet',
      },
    });
    ({ page } = e2e);
  });

  afterAll(async () => {
    // Unset when beforeAll failed: startE2e has undone its part then.
    await (e2e as E2e | undefined)?.close();
  });

  it('follows a light system by default, with System chosen', async () => {
    await page.keyboard.press('h');
    await appearance().waitFor();
    expect(await option('System').isChecked()).toBe(true);
    await expectLooks('light');
    expect(await appearance().getByTestId('theme-hint').textContent()).toContain('light now');
  });

  it('Dark wins over a light system, and survives a reload before React renders', async () => {
    await choose('Dark');
    await expectLooks('dark');
    expect(await option('Dark').isChecked()).toBe(true);
    expect(await page.evaluate(() => localStorage.getItem('vivarium.theme'))).toBe('"dark"');
    await page.getByTestId('host-computer').waitFor({ timeout: 30_000 });
    await e2e.shot('theme-host-dark.png');

    await page.reload();
    await appearance().waitFor();
    expect(await page.locator('html').getAttribute('data-theme-at-dcl')).toBe('dark');
    expect(await option('Dark').isChecked()).toBe(true);
    await expectLooks('dark');
  });

  it('the library keeps its colours in the chosen theme', async () => {
    await page.keyboard.press('Escape');
    await page.getByText('No virtual machines yet').waitFor();
    await page.getByRole('list', { name: 'Host' }).waitFor({ timeout: 30_000 });
    await e2e.shot('theme-library-dark.png');
    await page.keyboard.press('h');
    await appearance().waitFor();
  });

  it('System follows the emulated scheme live, both ways', async () => {
    await choose('System');
    await expectLooks('light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => looks().then((l) => l.theme)).toBe('dark');
    await expectLooks('dark');
    expect(await appearance().getByTestId('theme-hint').textContent()).toContain('dark now');
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(() => looks().then((l) => l.theme)).toBe('light');
    await expectLooks('light');
    expect(await page.evaluate(() => localStorage.getItem('vivarium.theme'))).toBe('"system"');
  });

  it('Light wins over a dark system', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await choose('Light');
    await expectLooks('light');
    await e2e.shot('theme-host-light.png');
    await page.getByTitle('Back to the library (Esc)').click();
    await page.getByText('No virtual machines yet').waitFor();
    await e2e.shot('theme-library-light.png');
    // Back to the default, the system's (dark here).
    await page.keyboard.press('h');
    await choose('System');
    await expectLooks('dark');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(e2e.problems).toEqual([]);
  });
});
