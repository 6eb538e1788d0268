/**
 * Server mode's token stays out of cookies and URLs (a cookie reaches every web server on the same
 * host, whatever its port; a URL lands in histories and logs). In a real Chromium: after the
 * printed address loads, the token is gone from the address bar, no cookie exists, no request
 * carried it in a cookie or a URL, no response set a cookie, and the library still loads; a
 * reload keeps working; a page opened without the token only says how to get in.
 *
 * Needs `npm run build` (out/renderer) and the fixture kernel; skips with the reason printed.
 */
import type { Request, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, startE2e, type E2eBase } from '../helpers/e2e';
import { guest, guestMissingReason } from '../helpers/fixtures';

const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[reliability] skipping the token tests: ${skipReason}`);

const VM_NAME = 'Token test VM';
let e2e: E2eBase;
let vmId: string;

describe.skipIf(skipReason !== null)('the server token in the browser', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-token-',
      view: { width: 1100, height: 700 },
      page: false,
    });
    ({ id: vmId } = await e2e.engine.call('vm.create', {
      name: VM_NAME,
      kernel: guest.kernel,
      diskSize: '0',
    }));
  });

  afterAll(async () => {
    await (e2e as E2eBase | undefined)?.close();
  });

  it('is never a cookie or in a URL after load, and the library loads', async () => {
    const { token, url } = e2e.server;
    const seen: Request[] = [];
    const answers: Response[] = [];
    const { context, page } = await e2e.openPage('light', 'about:blank');
    try {
      page.on('request', (r) => seen.push(r));
      page.on('response', (r) => answers.push(r));
      await page.goto(url);
      await page.locator(`[data-testid="vm-card"][data-vm-name="${VM_NAME}"]`).waitFor();
      await page.getByText('Connected').waitFor();

      expect(page.url()).not.toContain(token);
      expect(await page.evaluate(() => window.location.href)).not.toContain('token');
      expect(await page.evaluate(() => document.cookie)).toBe('');
      expect(await context.cookies()).toEqual([]);
      expect(seen.length).toBeGreaterThan(0);
      for (const r of seen) {
        expect(r.url(), r.url()).not.toContain(token);
        expect((await r.allHeaders())['cookie'], r.url()).toBeUndefined();
      }
      for (const r of answers) {
        expect((await r.allHeaders())['set-cookie'], r.url()).toBeUndefined();
      }

      // A reload in the same tab keeps working, still without a cookie or the token in the URL.
      await page.reload();
      await page.locator(`[data-testid="vm-card"][data-vm-name="${VM_NAME}"]`).waitFor();
      expect(page.url()).not.toContain(token);
      expect(await context.cookies()).toEqual([]);

      // The printed address plus a route, in this same tab: only the fragment changes.
      await page.goto(`${url}#/vm/${vmId}/overview`);
      await page.getByTestId('vm-view').waitFor();
      expect(page.url()).toMatch(new RegExp(`#/vm/${vmId}/overview$`));
      expect(page.url()).not.toContain(token);
    } finally {
      await context.close();
    }
    expect(e2e.problems).toEqual([]);
  });

  it('a page opened without the token shows how to get in, no data, and lets the printed address in', async () => {
    const bare = new URL(e2e.server.url);
    bare.hash = '';
    const { context, page } = await e2e.openPage('light', bare.href);
    try {
      await page.getByText('Vivarium needs its token').waitFor();
      expect(await page.getByText(VM_NAME).count()).toBe(0);
      expect(await context.cookies()).toEqual([]);
      // The printed address pasted into that same tab changes only the fragment: it lets you in.
      await page.goto(e2e.server.url);
      await page.getByText(VM_NAME).first().waitFor();
      expect(page.url()).not.toContain('token');
    } finally {
      await context.close();
    }
    e2e.problems.length = 0;
  });
});
