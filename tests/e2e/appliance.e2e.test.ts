/**
 * "Import an appliance" in the New-VM wizard, in a real Chromium against server mode on the real
 * engine: an .ova uploaded from the browser is read and its mapped hardware shown (with what was
 * not carried over), a tampered one is refused with the reason, and Import makes the VM with both
 * disks and opens its page. Screenshots, light and dark: tests/artifacts/appliance-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest; skips with the reason otherwise.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { buildAppliance, guestDisks, ovaMembers, tarOf } from '../helpers/appliances';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, waitFor } from '../helpers/fixtures';

const skipReason =
  browserSkipReason() ??
  (!existsSync(guest.iso) ? 'the fixture ISO is missing: run `npm run fixtures`' : null);
if (skipReason) console.warn(`[e2e] skipping the appliance tests: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let page: Page;
let ova = '';
let tampered = '';

function dialog(): Locator {
  return page.getByTestId('appliance');
}

async function shotBoth(name: string): Promise<void> {
  await e2e.shot(`${name}-light.png`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await e2e.shot(`${name}-dark.png`);
  await page.emulateMedia({ colorScheme: 'light' });
}

describe.skipIf(skipReason !== null)('Import an appliance (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-appliance-',
      engine: async (tmpHome) => {
        const work = join(tmpHome, 'work');
        await mkdir(work, { recursive: true });
        const disks = await guestDisks(work);
        const a = buildAppliance('vmware', disks, { name: 'Course Lab' });
        ova = join(work, 'course-lab.ova');
        await writeFile(ova, tarOf(ovaMembers(a)));
        const mf = a.mf
          .toString()
          .replace(
            /(disk002\.vmdk\)= )(.)/,
            (_, p: string, c: string) => p + (c === 'a' ? 'b' : 'a'),
          );
        tampered = join(work, 'tampered.ova');
        await writeFile(tampered, tarOf(ovaMembers({ ...a, mf: Buffer.from(mf) })));
        return { home: join(tmpHome, 'data') };
      },
      view: { width: 1366, height: 900 },
      page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
      fullPage: false,
    });
    ({ engine, page } = e2e);
  }, 120_000);

  afterAll(async () => {
    await (e2e as E2e | undefined)?.close();
  });

  it('uploads an .ova, shows the mapped hardware, refuses a tampered one, and imports', async () => {
    await page.getByRole('button', { name: 'New VM' }).first().click();
    await page.getByTestId('wizard').waitFor();
    await e2e.shot('appliance-0-wizard-light.png');
    await page.getByTestId('wizard-appliance').click();
    await dialog().waitFor();
    await shotBoth('appliance-1-empty');

    // A tampered package, by path: refused with the file named, nothing imported.
    await dialog().getByTestId('appliance-path').fill(tampered);
    await dialog().getByRole('button', { name: 'Read' }).click();
    const error = dialog().getByTestId('appliance-error');
    await error.waitFor({ timeout: 30_000 });
    expect(await error.textContent()).toMatch(
      /vmware-appliance-disk002\.vmdk does not match its SHA256/,
    );
    expect(await page.getByTestId('appliance-import').isDisabled()).toBe(true);
    await shotBoth('appliance-2-refused');

    // The good one, uploaded from the browser.
    await dialog().getByTestId('appliance-upload-input').setInputFiles(ova);
    const summary = dialog().getByTestId('appliance-summary');
    await summary.waitFor({ timeout: 60_000 });
    const text = (await summary.textContent()) ?? '';
    expect(text).toContain('VMware appliance');
    expect(text).toContain('every file matched its SHA256 checksum');
    expect(text).toContain('Debian');
    expect(text).toMatch(/2 CPUs · 320 MiB/);
    expect(text).toMatch(/2 Disks/);
    expect(text).toMatch(/SCSI/);
    expect(await dialog().getByTestId('appliance-not-mapped').textContent()).toContain('VmxNet3');
    expect(await dialog().getByTestId('appliance-name').inputValue()).toBe('Course Lab');
    await shotBoth('appliance-3-summary');

    await dialog().getByTestId('appliance-name').fill('Imported lab');
    await page.getByTestId('appliance-import').click();
    const vm = await waitFor(
      async () => (await engine.call('vm.list', {})).find((v) => v.name === 'Imported lab'),
      'the imported VM',
      60_000,
    );
    expect(vm.config.disks.map((d) => d.bus)).toEqual(['scsi', 'scsi']);
    expect(vm.config.nics.map((n) => n.model)).toEqual(['e1000', 'e1000']);
    await expect.poll(() => dialog().count(), { timeout: 15_000 }).toBe(0);
    await page.getByText('Imported lab').first().waitFor();
    await page.getByText('Loading overview').waitFor({ state: 'detached', timeout: 15_000 });
    await e2e.shot('appliance-4-imported-light.png');
    expect(e2e.problems).toEqual([]);
  }, 180_000);
});
