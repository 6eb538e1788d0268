/**
 * Shared folders and clipboard sharing in the Hardware tab, in a real Chromium against server
 * mode: "Add hardware" -> Shared folders opens the form, a folder is shared read-only and listed
 * with its mode and the guest's mount line; a missing folder is refused inline with the engine's
 * words; clipboard sharing is switched on; with the VM running, both panels lock with the reason
 * and the Display tab offers the shared clipboard. Screenshots: tests/artifacts/hardware-shares-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest; skips with the reason otherwise.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, guestMissingReason, waitFor } from '../helpers/fixtures';

const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[e2e] skipping the shared-folder tests: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let page: Page;
let vmId = '';

describe.skipIf(skipReason !== null)('Shared folders and clipboard (Hardware tab)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-shares-',
      view: { width: 1280, height: 860 },
      page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
    });
    ({ engine, page } = e2e);
    const vm = await engine.call('vm.create', {
      name: 'Share guest',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 128,
      cpus: 1,
    });
    vmId = vm.id;
    await mkdir(join(e2e.home, 'Project Files'));
  });

  afterAll(async () => {
    expect(e2e.problems).toEqual([]);
    await e2e.close();
  });

  it('shares a folder read-only from "Add hardware" and shows the line the guest runs', async () => {
    await page.goto(`${e2e.server.url}#/vm/${encodeURIComponent(vmId)}/hardware`);
    await page.getByTestId('add-hardware').click();
    await page.getByTestId('add-shares').click();
    const form = page.getByTestId('share-form');
    await form.waitFor();

    await page.getByTestId('share-path').fill(join(e2e.home, 'nowhere'));
    await page.getByTestId('share-submit').click();
    await expect
      .poll(() => page.getByTestId('share-error').textContent())
      .toMatch(/There is no folder .*nowhere on this computer: create it, or choose another/);

    await page.getByTestId('share-path').fill(join(e2e.home, 'Project Files'));
    await expect
      .poll(() => page.getByTestId('share-tag').getAttribute('placeholder'))
      .toBe('Project_Files');
    await page.getByTestId('share-readonly').check();
    await page.getByTestId('share-submit').click();
    const card = page.getByTestId('share-Project_Files');
    await card.waitFor();
    expect(await card.textContent()).toContain('Read-only');
    expect(await card.getByTestId('copy-command').first().textContent()).toContain(
      'mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,ro Project_Files /mnt/Project_Files',
    );
    expect((await engine.call('share.list', { vm: vmId })).shares[0]?.config).toMatchObject({
      tag: 'Project_Files',
      readOnly: true,
      mode: '9p',
    });
    // The device list's summary follows the config.
    expect(await page.getByTestId('hw-shares').textContent()).toContain('Project_Files · 9p');
    await e2e.shot('hardware-shares-light.png');
    await page.getByTestId('share-add-open').click();
    await e2e.shot('hardware-shares-form-light.png');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('turns clipboard sharing on with its switch', async () => {
    await page.getByTestId('hw-clipboard').click();
    await page.getByTestId('clipboard-switch').check();
    await waitFor(
      async () => (await engine.call('vm.get', { vm: vmId })).config.clipboard,
      'clipboard on',
      10_000,
    );
    expect(await page.getByTestId('hw-clipboard').textContent()).toContain('On');
    await e2e.shot('hardware-shares-clipboard-light.png');
  });

  it('locks both while the VM runs, saying why, and offers the clipboard on the Display tab', async () => {
    await engine.call('vm.start', { vm: vmId });
    await page.getByTestId('clipboard-locked').waitFor();
    expect(await page.getByTestId('clipboard-switch').isDisabled()).toBe(true);
    await page.getByTestId('hw-shares').click();
    await expect
      .poll(() => page.getByTestId('shares-locked').textContent())
      .toMatch(/running\. Shut the VM down to add or remove shared folders/);
    await e2e.shot('hardware-shares-running-light.png');

    await page.goto(`${e2e.server.url}#/vm/${encodeURIComponent(vmId)}/display`);
    const toggle = page.getByTestId('clipboard-toggle');
    await expect.poll(() => toggle.isEnabled(), { timeout: 30_000 }).toBe(true);
    await toggle.click();
    await page.getByTestId('clipboard-drawer').waitFor();
    await page.getByTestId('clipboard-to-guest').fill('hello guest');
    await page.getByTestId('clipboard-send').click();
    expect(await page.getByTestId('clipboard-send').textContent()).toContain('Sent');
    await e2e.shot('hardware-shares-display-clipboard-light.png', { fullPage: false });
  });
});
