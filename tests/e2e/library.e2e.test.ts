/**
 * The Library view in a real Chromium against server mode on the real engine: the empty state,
 * a VM appearing live, Start -> running -> Pause/Resume -> Power off, errors shown with the
 * engine's message, search, and dark mode. Screenshots land in tests/artifacts/.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest (`npm run fixtures`); skips with the
 * reason printed otherwise.
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../electron/server';
import { STATIC_DIR, browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, guestMissingReason } from '../helpers/fixtures';

const VM_NAME = 'E2E, "quoted" VM';
const RUNNING_TIMEOUT = 60_000;

const skipReason = browserSkipReason();
const fixtureReason = guestMissingReason();

if (skipReason) console.warn(`[e2e] skipping the Library tests: ${skipReason}`);
else if (fixtureReason) console.warn(`[e2e] skipping the VM lifecycle tests: ${fixtureReason}`);

let e2e: E2e;
let page: Page;

function card(name: string): Locator {
  return page.locator(`[data-testid="vm-card"][data-vm-name='${name.replace(/'/g, "\\'")}']`);
}

function button(c: Locator, name: string): Locator {
  return c.getByRole('button', { name, exact: true });
}

async function waitForState(c: Locator, state: string, timeout = 15_000): Promise<void> {
  await c
    .getByTestId('vm-state')
    .filter({ hasText: new RegExp(`^${state}$`) })
    .waitFor({ timeout });
}

describe.skipIf(skipReason !== null)('Library (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-',
      view: { width: 1280, height: 800 },
      page: { colorScheme: 'light' },
    });
    ({ page } = e2e);
  });

  afterAll(async () => {
    // Undo what beforeAll got to, newest first: page, browser, server, VMs, engine, files.
    // Unset when beforeAll failed: startE2e has undone its part then.
    await (e2e as E2e | undefined)?.close();
  });

  it('shows the empty state, titled Vivarium, with the token gone from the address bar', async () => {
    await page.getByText('No virtual machines yet').waitFor();
    expect(await page.title()).toBe('Vivarium');
    expect(page.url()).not.toContain('token=');
    await page.getByText('Connected').waitFor();
    // The host facts arrive once the engine has probed QEMU (the first probe takes a moment).
    await page.getByRole('list', { name: 'Host' }).waitFor({ timeout: 30_000 });
    await e2e.shot('library-empty.png');
    expect(e2e.problems).toEqual([]);
  });

  describe.skipIf(fixtureReason !== null)('with a VM', () => {
    it('shows a VM created elsewhere at once (vm.added, no reload)', async () => {
      await e2e.engine.call('vm.create', {
        name: VM_NAME,
        kernel: guest.kernel,
        initrd: guest.initrd,
        append: 'console=ttyS0 quiet',
        memoryMiB: 256,
        diskSize: '0',
      });
      const c = card(VM_NAME);
      await c.waitFor();
      await waitForState(c, 'stopped');
      await c.getByRole('heading', { name: VM_NAME }).waitFor();
      expect(await c.textContent()).toContain('256 MiB');
      expect(await button(c, 'Start').isEnabled()).toBe(true);
      for (const name of ['Pause', 'Resume', 'Shut down', 'Power off']) {
        expect(await button(c, name).isDisabled(), name).toBe(true);
      }
    });

    it(
      'starts the VM: Start -> running, with the buttons that fit',
      async () => {
        const c = card(VM_NAME);
        await button(c, 'Start').click();
        await waitForState(c, 'running', RUNNING_TIMEOUT);
        expect(await button(c, 'Start').isDisabled()).toBe(true);
        expect(await button(c, 'Pause').isEnabled()).toBe(true);
        expect(await button(c, 'Shut down').isEnabled()).toBe(true);
        expect(await button(c, 'Power off').isEnabled()).toBe(true);
        await e2e.shot('library-running.png');
      },
      RUNNING_TIMEOUT + 30_000,
    );

    it('pauses and resumes', async () => {
      const c = card(VM_NAME);
      await button(c, 'Pause').click();
      await waitForState(c, 'paused');
      expect(await button(c, 'Resume').isEnabled()).toBe(true);
      expect(await button(c, 'Pause').isDisabled()).toBe(true);
      await e2e.shot('library-paused.png');
      await button(c, 'Resume').click();
      await waitForState(c, 'running');
    });

    it('shows engine errors as dismissible notifications with the engine’s message', async () => {
      // A second VM whose kernel disappears before it starts: the engine refuses with its reason.
      const gone = join(e2e.home, 'vanishing-vmlinuz');
      await copyFile(guest.kernel, gone);
      await e2e.engine.call('vm.create', {
        name: 'Broken kernel',
        os: 'debian12',
        kernel: gone,
        memoryMiB: 512,
        cpus: 2,
        diskSize: '0',
      });
      await rm(gone);
      const c = card('Broken kernel');
      await c.waitFor();
      await button(c, 'Start').click();
      const toast = page.getByTestId('notification');
      await toast.waitFor();
      const text = (await toast.textContent()) ?? '';
      expect(text).toContain('Couldn’t start “Broken kernel”');
      expect(text).toContain('vanishing-vmlinuz');
      await e2e.shot('library-error.png');
      await toast.getByRole('button', { name: 'Dismiss notification' }).click();
      await toast.waitFor({ state: 'detached' });
    });

    it('filters with the search box', async () => {
      const search = page.getByRole('searchbox', { name: 'Search machines' });
      await search.fill('quoted');
      await page.locator('[data-testid="vm-card"]').first().waitFor();
      expect(await page.locator('[data-testid="vm-card"]').count()).toBe(1);
      await search.fill('debian');
      await card('Broken kernel').waitFor();
      expect(await page.locator('[data-testid="vm-card"]').count()).toBe(1);
      await search.fill('no such thing');
      await page.getByText('No machines match').waitFor();
      await search.fill('');
      await card(VM_NAME).waitFor();
      expect(await page.locator('[data-testid="vm-card"]').count()).toBe(2);
    });

    it('renders dark mode', async () => {
      const { context: ctx, page: p } = await e2e.openPage('dark');
      try {
        await p.locator('[data-testid="vm-card"]').first().waitFor();
        await p
          .locator(`[data-testid="vm-card"][data-vm-name='${VM_NAME}'] [data-testid="vm-state"]`)
          .filter({ hasText: /^running$/ })
          .waitFor();
        const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
        expect(bg).not.toBe('rgb(244, 246, 248)');
        await e2e.shot('library-dark.png', { page: p });
      } finally {
        await ctx.close();
      }
    });

    it('powers the VM off: Power off -> stopped', async () => {
      const c = card(VM_NAME);
      await button(c, 'Power off').click();
      // Power off asks first (what is lost), then powers off.
      await page.getByTestId('confirm-power').click();
      await waitForState(c, 'stopped', 30_000);
      expect(await button(c, 'Start').isEnabled()).toBe(true);
      expect(await button(c, 'Power off').isDisabled()).toBe(true);
      await e2e.shot('library-stopped.png');
      expect(e2e.problems).toEqual([]);
    });

    it('reconnects after the server restarts and re-fetches what it missed', async () => {
      const { port, token } = e2e.server;
      await e2e.server.close();
      await page.getByText('Connection lost.').waitFor();
      // Made while the page was away: only a re-fetch can show it.
      await e2e.engine.call('vm.create', {
        name: 'Made while away',
        kernel: guest.kernel,
        diskSize: '0',
      });
      e2e.server = await startServer({ engine: e2e.engine, port, token, staticDir: STATIC_DIR });
      await card('Made while away').waitFor({ timeout: 20_000 });
      await page.getByText('Connected').waitFor();
      expect(await page.getByText('Connection lost.').count()).toBe(0);
      // Dropped sockets are logged by Chromium as console errors: expected here.
      e2e.problems.length = 0;
    });
  });
});
