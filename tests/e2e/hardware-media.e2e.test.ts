/**
 * The Hardware tab's CD and USB panels in a real Chromium against server mode on the real engine
 * and the fixture guest: an ISO uploaded from the browser goes into the running guest's drive
 * and the guest reads it; the disc is changed to another by its path on the host and the guest
 * reads the new one; Eject says that the guest had locked the drive; a USB drive made from an
 * image file is attached and detached. This machine has no USB bus, which the USB panel says.
 * Screenshots land in tests/artifacts/hardware-media-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest; skips with the reason otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { browserSkipReason, startE2e, type E2eBase } from '../helpers/e2e';
import { guest, guestMissingReason, waitFor } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[e2e] skipping the hardware media tests: ${skipReason}`);

let e2e: E2eBase;
let engine: Engine;
let page: Page;
let vmId = '';
let serial: GuestConsole | null = null;
let isoA = '';
let isoB = '';
let stick = '';

async function makeIso(dir: string, name: string, text: string): Promise<string> {
  const src = join(dir, `${name}-src`);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'hello.txt'), `${text}\n`);
  const iso = join(dir, `${name}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', name, '-o', iso, src], {
    stdio: 'ignore',
  });
  return iso;
}

/** What the guest reads from its CD now (NOMEDIUM when it has none), retried while it notices. */
async function guestReads(expected: string): Promise<void> {
  await waitFor(
    async () => {
      if (!serial) throw new Error('no serial console');
      const m = await serial.run(
        'mkdir -p /mnt; umount /mnt 2>/dev/null; mount -t iso9660 -o ro /dev/sr0 /mnt 2>/dev/null && echo "DI""SC[$(cat /mnt/hello.txt)]" || echo "DI""SC[NOMEDIUM]"',
        /DISC\[([^\]]*)\]/,
      );
      return m[1] === expected;
    },
    `the guest to read "${expected}" from its CD`,
    30_000,
  );
}

/** The text of an element by its test id, once it is there. */
async function textOf(testId: string, timeout = 30_000): Promise<string> {
  const el = page.getByTestId(testId).first();
  await el.waitFor({ timeout });
  return (await el.textContent()) ?? '';
}

describe.skipIf(skipReason !== null)('Hardware tab: CD and USB (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-media-',
      view: { width: 1280, height: 860 },
      page: false,
    });
    ({ engine } = e2e);
    isoA = await makeIso(e2e.home, 'DISC_A', 'hello from disc A');
    isoB = await makeIso(e2e.home, 'DISC_B', 'hello from disc B');
    stick = join(e2e.home, 'stick.img');
    execFileSync('truncate', ['-s', '8M', stick]);
    const vm = await engine.call('vm.create', {
      name: 'Media guest',
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 256,
      diskSize: '64M',
    });
    vmId = vm.id;
    await engine.call('vm.start', { vm: vmId });
    await waitFor(
      async () =>
        (await engine.call('vm.log', { vm: vmId, kind: 'serial' })).text.includes(guest.banner),
      'the guest to boot',
      90_000,
    );
    serial = await GuestConsole.open(engine, vmId);
    const opened = await e2e.openPage('light', `${e2e.server.url}#/vm/${vmId}/hardware`);
    ({ page } = opened);
    e2e.defer(() => opened.context.close());
    await page.getByTestId('hardware-tab').waitFor();
  }, 150_000);

  afterAll(async () => {
    serial?.close();
    await (e2e as E2eBase | undefined)?.close();
  });

  it('uploads an ISO into the running guest’s empty drive, and the guest reads it', async () => {
    await page.getByTestId('hw-cdrom').click();
    await expect.poll(() => page.getByTestId('cdrom-medium').textContent()).toBe('No disc');
    await e2e.shot('hardware-media-cd-empty.png', { page });
    await page.getByTestId('cdrom-choose').click();
    await page.getByTestId('cdrom-file').setInputFiles(isoA);
    await expect
      .poll(() => page.getByTestId('cdrom-medium').textContent(), { timeout: 30_000 })
      .toBe('DISC_A.iso');
    await guestReads('hello from disc A');
  }, 90_000);

  it('changes the disc by its path on the host, and the guest reads the new one', async () => {
    await page.getByTestId('cdrom-choose').click();
    // The uploaded image is in the media cache, offered under its own name.
    expect(await textOf('cdrom-cached')).toContain('DISC_A.iso');
    await page.getByTestId('cdrom-path').fill(isoB);
    await e2e.shot('hardware-media-cd-picker.png', { page });
    await page.getByTestId('cdrom-insert-path').click();
    await expect
      .poll(() => page.getByTestId('cdrom-medium').textContent(), { timeout: 30_000 })
      .toBe('DISC_B.iso');
    expect((await engine.call('vm.get', { vm: vmId })).config.cdrom).toBe(isoB);
    await guestReads('hello from disc B');
    expect(await textOf('hw-cdrom')).toContain('DISC_B.iso');
    await e2e.shot('hardware-media-cd-changed.png', { page });
  }, 90_000);

  it('ejects the disc the guest has mounted and says the drive was locked', async () => {
    await page.getByTestId('cdrom-eject').click();
    await expect
      .poll(() => page.getByTestId('cdrom-medium').textContent(), { timeout: 30_000 })
      .toBe('No disc');
    expect(await textOf('cdrom-note')).toContain('locked the drive');
    await guestReads('NOMEDIUM');
    await e2e.shot('hardware-media-cd-ejected.png', { page });
  }, 60_000);

  it('shows a wrong path as an error beside the form, and keeps the drive as it was', async () => {
    // Through "Add hardware", which opens the same picker.
    await page.getByTestId('add-hardware').click();
    await page.getByTestId('add-cdrom').click();
    await page.getByTestId('cdrom-path').fill(join(e2e.home, 'missing.iso'));
    await page.getByTestId('cdrom-insert-path').click();
    expect(await textOf('cdrom-error')).toContain('does not exist');
    expect(await page.getByTestId('cdrom-medium').textContent()).toBe('No disc');
    await e2e.shot('hardware-media-cd-error.png', { page });
  });

  it('says this computer shows no USB devices, and attaches and detaches a USB drive', async () => {
    await page.getByTestId('hw-usb').click();
    await page.getByTestId('usb-choose').click();
    expect(await textOf('usb-host-empty')).toContain('This computer shows no USB devices');
    await page.getByTestId('usb-drive-path').fill(stick);
    await page.getByTestId('usb-drive-attach').click();
    expect(await textOf('usb-row-usb1')).toContain('USB drive stick.img');
    await expect
      .poll(() => page.getByTestId('usb-row-usb1').textContent(), { timeout: 15_000 })
      .toContain('In the guest');
    await e2e.shot('hardware-media-usb-attached.png', { page });
    await page.getByTestId('usb-choose').click();
    await e2e.shot('hardware-media-usb-picker.png', { page });
    await page.getByTestId('usb-detach-usb1').click();
    await page.getByTestId('usb-row-usb1').waitFor({ state: 'detached', timeout: 15_000 });
    expect((await engine.call('vm.get', { vm: vmId })).config.usb).toEqual([]);
    expect(e2e.problems).toEqual([]);
  }, 60_000);

  it('looks right in the dark theme too', async () => {
    const dark = await e2e.openPage('dark', `${e2e.server.url}#/vm/${vmId}/hardware`);
    e2e.defer(() => dark.context.close());
    await engine.call('cdrom.insert', { vm: vmId, file: isoB });
    await dark.page.getByTestId('hw-cdrom').click();
    await dark.page.getByTestId('cdrom-choose').click();
    await dark.page.getByTestId('cdrom-picker').waitFor();
    await e2e.shot('hardware-media-cd-dark.png', { page: dark.page });
    expect(e2e.problems).toEqual([]);
  }, 60_000);
});
