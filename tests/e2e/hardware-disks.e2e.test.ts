/**
 * The Disks panel of the Hardware tab in a real Chromium against server mode on the real engine
 * and the fixture guest: with the VM running, "Add hardware" -> Disks adds a 32 MiB disk (plugged
 * in live), Grow makes it 48 MiB, and the guest's own /sys/block (read on its serial console)
 * shows each size; SATA is offered only with the reason it cannot be plugged in, and Overview's
 * Storage card shows the sizes. Screenshots land in tests/artifacts/hardware-disks-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest (`npm run fixtures`); skips with the
 * reason printed otherwise.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { browserSkipReason, startE2e, type E2eBase } from '../helpers/e2e';
import { guest, guestMissingReason, waitFor } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

const BOOT_TIMEOUT = 90_000;
const MiB = 1024 * 1024;

const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[e2e] skipping the Disks panel tests: ${skipReason}`);

let e2e: E2eBase;
let engine: Engine;
let page: Page;
let vmId = '';
let serial: GuestConsole | null = null;

function url(tab: string): string {
  return `${e2e.server.url}#/vm/${encodeURIComponent(vmId)}/${tab}`;
}

/** The guest's /sys/block/DEV/size in 512-byte sectors, polled until it is `want`. */
async function guestSectors(dev: string, want: number): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      if (!serial) throw new Error('no serial console');
      const m = await serial.run(
        `echo SZ-${dev}:$(cat /sys/block/${dev}/size 2>/dev/null || echo none)`,
        new RegExp(`SZ-${dev}:(\\d+|none)\\r?\\n`),
      );
      last = m[1] ?? '';
      return last === String(want);
    },
    `the guest to see ${dev} with ${want} sectors (last: ${last})`,
    30_000,
  );
}

describe.skipIf(skipReason !== null)('Hardware tab: Disks (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-disks-',
      view: {
        width: 1280,
        height: 900,
        formatConsole: (msg) =>
          `console: ${msg.text()} @ ${msg.location().url}:${msg.location().lineNumber}`,
      },
      page: false,
    });
    ({ engine } = e2e);
    const vm = await engine.call('vm.create', {
      name: 'Disk guest',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 256,
      diskSize: '64M',
    });
    vmId = vm.id;
  }, 60_000);

  afterAll(async () => {
    serial?.close();
    await (e2e as E2eBase | undefined)?.close();
  });

  it('lists the disk with its sizes while the VM is off', async () => {
    const opened = await e2e.openPage('light', url('hardware'));
    ({ page } = opened);
    e2e.defer(() => opened.context.close());
    await page.getByTestId('disks-panel').waitFor();
    await expect
      .poll(() => page.getByTestId('disk-disk0-virtual').textContent(), { timeout: 15_000 })
      .toBe('64.0 MiB');
    await expect.poll(() => page.getByTestId('hw-disks').textContent()).toContain('1 disk');
    // Off: bus and cache mode can change; the file is the VM's own.
    expect(await page.getByTestId('disk-disk0-cache').isEnabled()).toBe(true);
    await e2e.shot('hardware-disks-stopped-light.png', { page });
  });

  it(
    'adds a disk to the running VM and grows it; the guest sees each size',
    async () => {
      await engine.call('vm.start', { vm: vmId });
      await waitFor(
        async () =>
          (await engine.call('vm.log', { vm: vmId, kind: 'serial' })).text.includes(guest.banner),
        'the guest banner on serial',
        BOOT_TIMEOUT,
      );
      serial = await GuestConsole.open(engine, vmId);
      await page.getByTestId('disks-state-note').waitFor();
      // Running: bus and cache mode are fixed, and the card says why.
      await expect.poll(() => page.getByTestId('disk-disk0-cache').isDisabled()).toBe(true);
      await expect
        .poll(() => page.getByTestId('disk-disk0-why').textContent())
        .toContain('root bus');

      await page.getByTestId('add-hardware').click();
      await page.getByTestId('add-disks').click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      // SATA cannot be plugged in: offered disabled, with the reason.
      const sata = page.getByTestId('disk-add-bus').locator('option[value="sata"]');
      expect(await sata.isDisabled()).toBe(true);
      expect(await sata.getAttribute('title')).toContain('SATA disks cannot be plugged in');
      await page.getByTestId('disk-add-size').fill('32M');
      await e2e.shot('hardware-disks-add-dialog-light.png', { page });
      await page.getByTestId('disk-add-submit').click();
      await dialog.waitFor({ state: 'detached', timeout: 30_000 });
      await expect
        .poll(() => page.getByTestId('disk-disk1-virtual').textContent(), { timeout: 15_000 })
        .toBe('32.0 MiB');
      await guestSectors('vdb', (32 * MiB) / 512);

      await page.getByTestId('disk-disk1-grow').click();
      await dialog.waitFor();
      await page.getByTestId('disk-grow-size').fill('+16M');
      await page.getByTestId('disk-grow-submit').click();
      await dialog.waitFor({ state: 'detached', timeout: 30_000 });
      await expect
        .poll(() => page.getByTestId('disk-disk1-virtual').textContent(), { timeout: 15_000 })
        .toBe('48.0 MiB');
      await guestSectors('vdb', (48 * MiB) / 512);

      const config = (await engine.call('vm.get', { vm: vmId })).config;
      expect(config.disks.map((d) => [d.id, d.bus, d.port])).toEqual([
        ['disk0', 'virtio', undefined],
        ['disk1', 'virtio', 0],
      ]);
      await page.getByTestId('disks-panel').evaluate((el) => el.scrollIntoView());
      await e2e.shot('hardware-disks-running-light.png', { page });

      // The plugged-in disk can be unplugged: its detach asks first, saying what is lost.
      await page.getByTestId('disk-disk1-detach').click();
      await dialog.waitFor();
      await expect.poll(() => dialog.textContent()).toContain('Unmount it in the guest first');
      await expect.poll(() => dialog.textContent()).toContain('Also delete the file');
      await e2e.shot('hardware-disks-detach-dialog-light.png', { page });
      await page.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
    },
    BOOT_TIMEOUT + 120_000,
  );

  it('shows the sizes on Overview and, dark, in the Hardware tab', async () => {
    await page.goto(url('overview'));
    await expect
      .poll(() => page.getByTestId('disk-size-disk1-virtual').textContent(), { timeout: 15_000 })
      .toBe('48.0 MiB');
    await e2e.shot('hardware-disks-overview-light.png', { page });
    // Settings: the same sizes, read-only, with the way to the Hardware tab.
    await page.goto(url('settings'));
    const storage = page.getByRole('group', { name: 'Storage' });
    await expect
      .poll(() => storage.getByTestId('disk-size-disk1-virtual').textContent(), { timeout: 15_000 })
      .toBe('48.0 MiB');
    await storage.scrollIntoViewIfNeeded();
    await e2e.shot('hardware-disks-settings-light.png', { page });
    await page.getByTestId('settings-manage-disks').click();
    await page.getByTestId('disks-panel').waitFor();
    const dark = await e2e.openPage('dark', url('hardware'));
    e2e.defer(() => dark.context.close());
    await expect
      .poll(() => dark.page.getByTestId('disk-disk1-virtual').textContent(), { timeout: 15_000 })
      .toBe('48.0 MiB');
    await e2e.shot('hardware-disks-running-dark.png', { page: dark.page });
    expect(e2e.problems).toEqual([]);
  });
});
