/**
 * The real Electron shell, driven by Playwright's `_electron`. Runs where an Electron binary is
 * installed; elsewhere (CI sets ELECTRON_SKIP_BINARY_DOWNLOAD=1) it is skipped with the reason.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpcReply, PreloadBridge } from '../../common/contract';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'out/main/main.js');

/** The electron package exports the binary's path, or throws when the binary was not installed. */
function findElectron(): { path: string } | { skip: string } {
  let binary: unknown;
  try {
    binary = createRequire(import.meta.url)('electron');
  } catch (err) {
    return { skip: `no Electron binary (${err instanceof Error ? err.message : String(err)})` };
  }
  if (typeof binary !== 'string') return { skip: 'the electron package did not give a path' };
  if (!existsSync(binary)) return { skip: `no Electron binary at ${binary}` };
  return { path: binary };
}

const electron = findElectron();
const skipReason = 'skip' in electron ? electron.skip : null;
if (skipReason) console.log(`tests/electron skipped: ${skipReason}`);

type Page$ = typeof globalThis & { vivarium?: PreloadBridge; require?: unknown; process?: unknown };

describe.skipIf(skipReason !== null)('Electron shell', () => {
  let home = '';
  let app: ElectronApplication | null = null;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    if (!('path' in electron)) return;
    home = await mkdtemp(join(tmpdir(), 'vivarium-electron-'));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    delete env['ELECTRON_RENDERER_URL']; // always the built renderer
    env['VIVARIUM_HOME'] = home;
    const args = [MAIN];
    // Chromium refuses to run as root with its sandbox; the page's sandbox options still apply.
    if (process.getuid?.() === 0) args.unshift('--no-sandbox');
    // No display server: Chromium's headless Ozone backend (UNVERIFIED for every Electron build).
    if (process.platform === 'linux' && !env['DISPLAY'] && !env['WAYLAND_DISPLAY']) {
      args.unshift('--ozone-platform=headless');
    }
    app = await _electron.launch({ executablePath: electron.path, args, env, cwd: ROOT });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    await app?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('opens one window titled Vivarium', async () => {
    const title = await app!.evaluate(({ BrowserWindow }) =>
      BrowserWindow.getAllWindows().map((w) => w.getTitle()),
    );
    expect(title).toEqual(['Vivarium']);
    expect(await page.title()).toBe('Vivarium');
    expect(page.url()).toMatch(/^file:\/\/.*\/out\/renderer\/index\.html/);
  });

  it('renders the library', async () => {
    await page.getByRole('heading', { name: 'Library' }).waitFor();
    await page.getByTestId('library-empty').waitFor();
  });

  it('exposes window.vivarium and no Node', async () => {
    const seen = await page.evaluate(() => {
      const w = window as Page$;
      return {
        bridge: typeof w.vivarium?.call === 'function' && typeof w.vivarium.onEvent === 'function',
        keys: w.vivarium ? Object.keys(w.vivarium).sort() : [],
        require: typeof w.require,
        process: typeof w.process,
      };
    });
    expect(seen).toEqual({
      bridge: true,
      keys: ['call', 'onEvent', 'pathForFile'],
      require: 'undefined',
      process: 'undefined',
    });
  });

  it('answers calls through the bridge with IpcReply', async () => {
    const replies = await page.evaluate(async () => {
      const bridge = (window as Page$).vivarium!;
      return [await bridge.call('vm.list', {}), await bridge.call('no.such.method', {})];
    });
    expect(replies[0]).toEqual({ ok: true, result: [] } satisfies IpcReply);
    expect(replies[1]).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  });

  it('blocks navigation to another origin and new windows', async () => {
    const before = page.url();
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500);
    expect(page.url()).toBe(before);
    const opened = await page.evaluate(() => window.open('file:///etc/hostname') === null);
    expect(opened).toBe(true);
    expect(app!.windows()).toHaveLength(1);
  });
});
