/**
 * Export to libvirt from the VM window, in a real Chromium against server mode: "Export…" opens
 * the dialog, a relative folder is refused inline, an export with the backing chain carried runs
 * as a task and ends with what was not carried over and the virsh commands (each with Copy); a
 * second export into the same folder is refused with the engine's words. The files are checked on
 * disk. Screenshots: tests/artifacts/export-libvirt-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest; skips with the reason otherwise.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, guestMissingReason } from '../helpers/fixtures';

const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[e2e] skipping the export tests: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let page: Page;
let vmId = '';

describe.skipIf(skipReason !== null)('Export to libvirt (VM window)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-export-',
      view: { width: 1280, height: 860 },
      page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
    });
    ({ engine, page } = e2e);
    const vm = await engine.call('vm.create', {
      name: 'Course VM',
      iso: guest.iso,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '64M',
      firmware: 'uefi',
    });
    vmId = vm.id;
  });

  afterAll(async () => {
    expect(e2e.problems).toEqual([]);
    await e2e.close();
  });

  it('exports from the dialog and shows the note with the virsh commands', async () => {
    await page.goto(`${e2e.server.url}#/vm/${encodeURIComponent(vmId)}`);
    await page.getByTestId('export-open').click();
    await page.getByTestId('export-dir').fill('exports/here');
    await expect.poll(() => page.getByText('Use an absolute path').isVisible()).toBe(true);
    expect(await page.getByTestId('export-start').isDisabled()).toBe(true);

    const dir = join(e2e.home, 'libvirt-export');
    await page.getByTestId('export-dir').fill(dir);
    await page.getByText('Carry the backing chain').click();
    expect(await page.getByTestId('export-disks-carry').isChecked()).toBe(true);
    await e2e.shot('export-libvirt-dialog.png');
    await page.getByTestId('export-start').click();
    const done = page.getByTestId('export-done');
    await done.waitFor({ timeout: 60_000 });
    const note = await page.getByTestId('export-note').innerText();
    expect(note).toContain(`virsh -c qemu:///system define '${dir}/Course VM.xml'`);
    expect(note).toMatch(/qemu\+ssh:\/\/HOST\/system define/);
    expect(await page.getByTestId('export-unmapped').innerText()).toMatch(/CD-ROM holds/);
    expect(existsSync(join(dir, 'Course VM.xml'))).toBe(true);
    expect(existsSync(join(dir, 'Course VM-disk0.qcow2'))).toBe(true);
    expect(existsSync(join(dir, 'Course VM_VARS.fd'))).toBe(true);
    await e2e.shot('export-libvirt-done.png');
    await page.getByTestId('export-close').click();

    await page.getByTestId('export-open').click();
    await page.getByTestId('export-dir').fill(dir);
    await page.getByTestId('export-start').click();
    await expect
      .poll(() => page.getByTestId('export-error').innerText())
      .toMatch(/already exists: choose another folder/);
    await e2e.shot('export-libvirt-refused.png');
  }, 120_000);
});
