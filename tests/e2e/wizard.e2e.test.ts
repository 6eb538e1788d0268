/**
 * The New-VM wizard (issue 5) in a real Chromium against server mode on the real engine: a test
 * catalogue entry whose media is the fixture ISO served by a loopback HTTP server. From the OS
 * choice to a running installer: search, pick, download with progress into the verified cache,
 * resources prefilled from the profile (with inline warnings), a unique suggested name, "Create
 * and start" -> the VM runs and the guest prints its banner; then the one-click "Eject install
 * media and boot from disk". A local ISO is detected (exact match -> "Customize first" opens
 * Settings), and an ISO nobody knows goes through with the Generic profile and boots. An ISO
 * uploaded from the browser (server mode's `PUT /upload`) shows progress, can be cancelled, and
 * once stored is detected and boots like a local one.
 * Screenshots of every step land in tests/artifacts/wizard-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest (`npm run fixtures`); skips with the
 * reason printed otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import type { RunningServer } from '../../electron/server';
import { catalogEntry } from '../helpers/catalog-entry';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, waitFor, waitForText } from '../helpers/fixtures';
import { startMediaServer, type MediaRequest, type MediaServer } from '../helpers/media-server';

const OS_ID = 'vivarium-e2e-guest';
const OS_NAME = 'Vivarium Test Guest';
const VERSION_NAME = 'Vivarium Test Guest 1';
/** Slow enough for the progress bar to be seen (~4 s for the 36 MB ISO), fast enough for CI. */
const BYTES_PER_SECOND = 8 * 2 ** 20;
const BOOT_TIMEOUT = 120_000;

const skipReason =
  browserSkipReason() ??
  (!existsSync(guest.iso) ? 'the fixture ISO is missing: run `npm run fixtures`' : null);
if (skipReason) console.warn(`[e2e] skipping the wizard tests: ${skipReason}`);

let e2e: E2e;
let home: string;
let engine: Engine;
let server: RunningServer;
let media: MediaServer;
let base = '';
let isoBytes: Buffer;
let isoSha = '';
let context: BrowserContext;
let page: Page;

/** The fixture ISO's size as the progress line writes it (one decimal, dot escaped). */
function isoMiB(): string {
  return (isoBytes.length / 2 ** 20).toFixed(1).replace('.', '\\.');
}

/** The fixture ISO, throttled, with Range support (what a mirror does). */
function serveIso({ path, send }: MediaRequest): void {
  if (path === '/guest/vivarium-test-guest.iso')
    send(isoBytes, { bytesPerSecond: BYTES_PER_SECOND });
}

function testEntry() {
  return catalogEntry({
    id: OS_ID,
    name: OS_NAME,
    description: 'The tiny busybox guest the tests build: GRUB, a kernel and a banner.',
    homepage: null,
    aliases: ['vtg'],
    minimum: { diskGiB: 1 },
    versions: [
      {
        id: '1',
        name: VERSION_NAME,
        status: 'current',
        released: '2026-11-22',
        media: [
          {
            id: 'iso',
            label: 'Live ISO',
            arch: 'x86_64',
            kind: 'live',
            urls: [`${base}/guest/vivarium-test-guest.iso`],
            sha256: isoSha,
            sizeBytes: isoBytes.length,
          },
        ],
        notes: [],
      },
    ],
    detect: [{ volumeId: '^VIVARIUM_TESTGUEST$', version: '1' }],
    notes: ['Boots to a busybox shell and prints a banner on the serial console and the screen.'],
  });
}

async function shot(name: string): Promise<void> {
  await e2e.shot(name);
}

function wizard(): Locator {
  return page.getByTestId('wizard');
}

async function atStep(step: string): Promise<void> {
  await page.locator(`[data-testid="wizard"][data-step="${step}"]`).waitFor();
}

async function next(): Promise<void> {
  const button = wizard().getByTestId('wizard-next');
  await expect.poll(() => button.isEnabled(), { timeout: 15_000 }).toBe(true);
  await button.click();
}

async function vmNamed(name: string): Promise<VmSummary> {
  return waitFor(
    async () => (await engine.call('vm.list', {})).find((v) => v.name === name),
    `the VM "${name}"`,
    30_000,
  );
}

async function waitForState(name: string, state: string, timeout = 60_000): Promise<VmSummary> {
  return waitFor(
    async () => {
      const vm = (await engine.call('vm.list', {})).find((v) => v.name === name);
      return vm?.runtime.state === state ? vm : null;
    },
    `"${name}" to be ${state}`,
    timeout,
  );
}

/** The VM runs, its guest prints the banner, the display has a moment to paint: a screenshot. */
async function expectBootedToBanner(vm: VmSummary, screenshot: string): Promise<void> {
  await waitForState(vm.name, 'running', BOOT_TIMEOUT);
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, BOOT_TIMEOUT);
  await page.waitForTimeout(1500);
  await shot(screenshot);
}

/** The ISO detection says: exactly the test guest (its version, from its volume id). */
async function expectDetectedAsTestGuest(): Promise<void> {
  const detection = wizard().getByTestId('detection');
  await detection.getByText('Exact match').waitFor({ timeout: 15_000 });
  expect(await detection.textContent()).toContain(VERSION_NAME);
  expect(await detection.textContent()).toContain('VIVARIUM_TESTGUEST');
}

/** The media step has the choice named `choice` picked. */
async function expectMediaChoice(choice: RegExp): Promise<void> {
  expect(await wizard().getByRole('radio', { name: choice }).isChecked()).toBe(true);
}

/** A screenshot in the dark colour scheme, then back to light. */
async function shotDark(name: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(name);
  await page.emulateMedia({ colorScheme: 'light' });
}

async function powerOffAll(engine: Engine): Promise<void> {
  for (const vm of await engine.call('vm.list', {})) {
    if (vm.runtime.state !== 'stopped' && vm.runtime.state !== 'crashed') {
      await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    }
  }
}

async function openWizardFromLibrary(): Promise<void> {
  // A full load (not a hash change): whatever was open before is gone.
  await page.goto(new URL('/', server.url).href);
  await page.getByRole('button', { name: 'New VM' }).first().click();
  await wizard().waitFor();
  await atStep('os');
}

describe.skipIf(skipReason !== null)('New-VM wizard (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-wizard-',
      engine: async (tmpHome, defer) => {
        isoBytes = await readFile(guest.iso);
        isoSha = createHash('sha256').update(isoBytes).digest('hex');

        media = await startMediaServer(serveIso);
        defer(() => media.close());
        base = media.base;
        const extra = join(tmpHome, 'e2e-catalog.json');
        await writeFile(extra, JSON.stringify([testEntry()]));

        // The host's osinfo-db (when installed) extends the catalogue as it does for users.
        return { home: join(tmpHome, 'data'), catalog: { extraFiles: [extra] } };
      },
      powerOff: powerOffAll,
      view: { width: 1366, height: 860 },
      page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
      fullPage: false,
    });
    ({ home, engine, server, context, page } = e2e);
  });

  afterAll(async () => {
    // Unset when beforeAll failed: startE2e has undone its part then.
    await (e2e as E2e | undefined)?.close();
  });

  it(
    'goes from the catalogue to a running installer: search, download, resources, name, create and start',
    async () => {
      await page.getByRole('button', { name: 'New VM' }).first().click();
      await wizard().waitFor();
      await atStep('os');
      // The catalogue: curated entries with logos, families, Generic last.
      await wizard().locator('.os-card[data-os-id="debian"]').waitFor();
      await wizard().locator('.os-card[data-os-id="generic"]').waitFor();
      expect(await wizard().getByTestId('wizard-next').isDisabled()).toBe(true);
      await shot('wizard-01-catalog.png');

      // Family filter, then search.
      await wizard().getByRole('button', { name: 'BSD', exact: true }).click();
      await wizard().locator('.os-card[data-os-id="freebsd"]').waitFor();
      await expect.poll(() => wizard().locator('.os-card[data-os-id="debian"]').count()).toBe(0);
      await wizard().getByRole('button', { name: 'All', exact: true }).click();
      await wizard().getByLabel('Search operating systems').fill('test guest');
      const card = wizard().locator(`.os-card[data-os-id="${OS_ID}"]`);
      await card.waitFor();
      await expect.poll(() => wizard().locator('.os-card[data-os-id="debian"]').count()).toBe(0);
      await card.click();
      await wizard().getByTestId('wizard-selection').getByText(OS_NAME, { exact: true }).waitFor();
      await shot('wizard-02-search-selected.png');

      // Install media: download it, with progress, into the verified cache.
      await next();
      await atStep('media');
      await expectMediaChoice(/Download it/);
      await shot('wizard-03-media.png');
      await wizard().getByRole('button', { name: 'Download', exact: true }).click();
      const facts = wizard().getByTestId('download-facts');
      await expect
        .poll(() => facts.textContent(), { timeout: 20_000 })
        .toMatch(new RegExp(`MiB of ${isoMiB()} MiB.*/s.*left`));
      const bar = wizard().getByRole('progressbar', { name: 'Download' });
      const pct = Number(await bar.getAttribute('aria-valuenow'));
      expect(pct).toBeGreaterThan(0);
      expect(pct).toBeLessThan(100);
      await shot('wizard-04-downloading.png');
      await wizard().getByTestId('media-ready').waitFor({ timeout: 60_000 });
      expect(await wizard().getByTestId('media-ready').textContent()).toContain(
        'Downloaded and verified',
      );
      expect(media.log.filter((r) => r.path.endsWith('.iso')).length).toBeGreaterThanOrEqual(1);
      const cached = await engine.call('media.list', {});
      expect(cached.map((m) => m.sha256)).toEqual([isoSha]);
      await shot('wizard-05-media-ready.png');

      // Resources: prefilled from catalog.defaults, bounded, warnings inline.
      await next();
      await atStep('resources');
      const memory = wizard().getByRole('spinbutton', { name: 'Memory' });
      await expect.poll(() => memory.inputValue()).toBe('256');
      expect(await wizard().getByRole('spinbutton', { name: 'CPUs' }).inputValue()).toBe('1');
      expect(await wizard().getByRole('spinbutton', { name: 'Disk size' }).inputValue()).toBe('1');
      await memory.fill('96');
      await wizard()
        .getByText(/Below Vivarium Test Guest 1’s minimum of 128 MiB/)
        .waitFor();
      await shot('wizard-06-resources-warning.png');
      const host = await engine.call('host.info', {});
      await memory.fill(String(host.totalMemoryMiB + 1024));
      await wizard()
        .locator('.res__check--error')
        .getByText(/give the VM less/)
        .waitFor();
      expect(await wizard().getByTestId('wizard-next').isDisabled()).toBe(true);
      await wizard().getByRole('button', { name: 'Back to the recommended values' }).click();
      await expect.poll(() => memory.inputValue()).toBe('256');
      await shot('wizard-07-resources.png');

      // Name: suggested from the OS, unique.
      await next();
      await atStep('name');
      const name = wizard().getByLabel('Name', { exact: true });
      expect(await name.inputValue()).toBe(VERSION_NAME);
      await shot('wizard-08-name.png');

      // Summary, then "Create and start".
      await next();
      await atStep('summary');
      await wizard().getByTestId('wizard-summary').getByText('vivarium-test-guest.iso').waitFor();
      await shot('wizard-09-summary.png');
      await wizard().getByRole('button', { name: 'Create and start' }).click();
      await wizard().waitFor({ state: 'detached', timeout: 60_000 });

      const vm = await vmNamed(VERSION_NAME);
      await page.waitForURL(new RegExp(`#/vm/${vm.id}/display$`));
      expect(vm.config).toMatchObject({
        os: OS_ID,
        memoryMiB: 256,
        cpu: { count: 1 },
        cdrom: cached[0]!.file,
        bootOrder: ['cdrom', 'disk'],
        nics: [expect.objectContaining({ model: 'e1000' })],
        disks: [{ id: 'disk0', bus: 'virtio' }],
      });
      await waitForState(VERSION_NAME, 'running', BOOT_TIMEOUT);
      await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, BOOT_TIMEOUT);
      await page.getByTestId('display-screen').waitFor();
      await page.waitForTimeout(1500); // let the display paint the banner
      await shot('wizard-10-running-display.png');

      // After the install: one click ejects the media and boots from the disk.
      await page.getByRole('tab', { name: 'Overview' }).click();
      const eject = page.getByTestId('eject-install-media');
      await eject.waitFor();
      await shot('wizard-11-overview-eject.png');
      await eject.getByRole('button', { name: 'Eject install media and boot from disk' }).click();
      await shot('wizard-11b-eject-confirm.png');
      await eject.getByRole('button', { name: 'Eject and restart' }).click();
      await eject.waitFor({ state: 'detached', timeout: 60_000 });
      const after = await waitForState(VERSION_NAME, 'running', 60_000);
      expect(after.config.cdrom).toBeNull();
      expect(after.config.bootOrder).toEqual(['disk']);
      await shot('wizard-12-ejected.png');
      await engine.call('vm.powerOff', { vm: vm.id });
      expect(e2e.problems).toEqual([]);
    },
    BOOT_TIMEOUT + 180_000,
  );

  it('detects a local ISO as its catalogue entry; "Customize first" opens Settings', async () => {
    await openWizardFromLibrary();
    await wizard().getByRole('tab', { name: 'I have an ISO file' }).click();
    await wizard().getByLabel('ISO file path').fill(guest.iso);
    await expectDetectedAsTestGuest();
    await shot('wizard-13-iso-detected.png');

    await next();
    await atStep('media');
    await expectMediaChoice(/Use an ISO file I have/);
    await next();
    await atStep('resources');
    await expect
      .poll(() => wizard().getByRole('spinbutton', { name: 'Memory' }).inputValue())
      .toBe('256');
    await next();
    await atStep('name');
    // The first VM took the plain name.
    expect(await wizard().getByLabel('Name', { exact: true }).inputValue()).toBe(
      `${VERSION_NAME} (2)`,
    );
    await wizard().getByLabel('Name', { exact: true }).fill(VERSION_NAME.toUpperCase());
    await wizard()
      .locator('.field__error')
      .getByText(/already exists/)
      .waitFor();
    expect(await wizard().getByTestId('wizard-next').isDisabled()).toBe(true);
    await shot('wizard-14-name-taken.png');
    await wizard()
      .getByRole('button', { name: `Use “${VERSION_NAME} (2)”` })
      .click();
    await next();
    await atStep('summary');
    await wizard().getByRole('button', { name: 'Customize first' }).click();
    await wizard().waitFor({ state: 'detached', timeout: 30_000 });
    const vm = await vmNamed(`${VERSION_NAME} (2)`);
    await page.waitForURL(new RegExp(`#/vm/${vm.id}/settings$`));
    expect(vm.runtime.state).toBe('stopped');
    expect(vm.config).toMatchObject({ os: OS_ID, cdrom: guest.iso, memoryMiB: 256 });
    await page.getByTestId('settings').waitFor();
    await shot('wizard-15-customize-settings.png');
    expect(e2e.problems).toEqual([]);
  }, 120_000);

  it('keeps the plain form one click away (Linux kernel boot, everything by hand)', async () => {
    await openWizardFromLibrary();
    await wizard().getByRole('button', { name: 'Boot a Linux kernel, or set up by hand' }).click();
    await wizard().waitFor({ state: 'detached' });
    const form = page.getByRole('dialog', { name: 'New virtual machine' });
    await form.getByText('Linux kernel', { exact: true }).waitFor();
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });
    // Opening again starts the wizard afresh.
    await page.getByRole('button', { name: 'New VM' }).first().click();
    await atStep('os');
    await page.keyboard.press('Escape');
    await wizard().waitFor({ state: 'detached' });
    expect(e2e.problems).toEqual([]);
  });

  it(
    'takes an ISO nobody knows through with the Generic profile, and boots it',
    async () => {
      // The fixture ISO with another volume id: bootable, but in no catalogue.
      const mystery = Buffer.from(isoBytes);
      const volumeId = Buffer.alloc(32, ' ');
      volumeId.write('MYSTERY_OS_2026');
      volumeId.copy(mystery, 16 * 2048 + 40);
      const file = join(home, 'mystery-os.iso');
      await writeFile(file, mystery);

      await openWizardFromLibrary();
      await wizard().getByRole('tab', { name: 'I have an ISO file' }).click();
      // A typo first: the wizard says what is wrong and waits.
      await wizard().getByLabel('ISO file path').fill(join(home, 'nope.iso'));
      await wizard().getByRole('alert').filter({ hasText: 'Check the path' }).waitFor();
      expect(await wizard().getByTestId('wizard-next').isDisabled()).toBe(true);
      await wizard().getByLabel('ISO file path').fill(file);
      const detection = wizard().getByTestId('detection');
      await detection.getByText('Not recognised').first().waitFor({ timeout: 15_000 });
      expect(await detection.textContent()).toContain('MYSTERY_OS_2026');
      await shot('wizard-16-iso-unknown.png');
      await shotDark('wizard-16b-iso-unknown-dark.png');

      await next(); // never blocked by an unknown OS
      await atStep('media');
      await next();
      await atStep('resources');
      const memory = wizard().getByRole('spinbutton', { name: 'Memory' });
      await expect.poll(() => memory.inputValue()).not.toBe('0');
      // Generic recommends 2 GiB and 2 CPUs; this guest needs little, and TCG is slow.
      await memory.fill('384');
      await wizard().getByRole('spinbutton', { name: 'CPUs' }).fill('1');
      await wizard().getByRole('radio', { name: 'No disk' }).click();
      await next();
      await atStep('name');
      expect(await wizard().getByLabel('Name', { exact: true }).inputValue()).toBe('mystery-os');
      await next();
      await atStep('summary');
      await wizard()
        .getByTestId('wizard-summary')
        .getByText('Generic / other OS')
        .first()
        .waitFor();
      await shot('wizard-17-generic-summary.png');
      await wizard().getByRole('button', { name: 'Create and start' }).click();
      await wizard().waitFor({ state: 'detached', timeout: 60_000 });
      const vm = await vmNamed('mystery-os');
      expect(vm.config).toMatchObject({
        os: 'generic',
        cdrom: file,
        memoryMiB: 384,
        cpu: { count: 1 },
        disks: [],
        nics: [expect.objectContaining({ model: 'e1000' })],
      });
      await expectBootedToBanner(vm, 'wizard-18-generic-running.png');
      await engine.call('vm.powerOff', { vm: vm.id });
      expect(e2e.problems).toEqual([]);
    },
    BOOT_TIMEOUT + 60_000,
  );
  it(
    'uploads an ISO from the browser with progress and cancel, detects it, and boots it',
    async () => {
      // The fixture ISO with one byte of its trailing padding changed: the same guest, but bytes
      // the cache does not hold yet (the first test downloaded the original).
      const bytes = Buffer.from(isoBytes);
      const at = bytes.length - 100 * 1024;
      expect(bytes[at]).toBe(0);
      bytes[at] = 0x55;
      const file = join(home, 'uploaded-guest.iso');
      await writeFile(file, bytes);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const partial = join(engine.catalog.media.dir, '.partial');
      const uploadParts = async () =>
        (await readdir(partial).catch(() => [] as string[])).filter((n) => n.startsWith('upload-'));

      await openWizardFromLibrary();
      // Uploads on loopback are instant: throttle them so progress and Cancel can be seen.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: 8 * 2 ** 20,
      });
      try {
        await wizard().getByRole('tab', { name: 'I have an ISO file' }).click();
        const input = wizard().getByLabel('Upload an ISO from this computer');
        await shot('wizard-19-upload-offered.png');

        // First attempt: cancelled halfway; the server keeps nothing.
        await input.setInputFiles(file);
        const bar = wizard().getByRole('progressbar', { name: 'Upload' });
        await expect
          .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 20_000 })
          .toBeGreaterThan(0);
        await wizard()
          .getByTestId('upload-progress')
          .getByRole('button', { name: 'Cancel' })
          .click();
        await wizard()
          .getByTestId('upload-stopped')
          .getByText(/cancelled/)
          .waitFor();
        await shot('wizard-19b-upload-cancelled.png');
        await waitFor(async () => (await uploadParts()).length === 0, 'the partial upload to go');
        expect((await engine.call('media.list', {})).map((m) => m.sha256)).not.toContain(sha);
        expect(await wizard().getByTestId('wizard-next').isDisabled()).toBe(true);

        // Second attempt: progress to the end.
        await input.setInputFiles(file);
        await expect
          .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 20_000 })
          .toBeGreaterThan(0);
        const pct = Number(await bar.getAttribute('aria-valuenow'));
        expect(pct).toBeLessThan(100);
        expect(await wizard().getByTestId('wizard-next').isDisabled()).toBe(true);
        // Bytes, then (once it can tell) the speed and the time left.
        await expect
          .poll(() => wizard().getByTestId('upload-facts').textContent(), { timeout: 10_000 })
          .toMatch(new RegExp(`MiB of ${isoMiB()} MiB.*MiB/s.*left`));
        await shot('wizard-20-uploading.png');
        await wizard().getByTestId('upload-done').waitFor({ timeout: 60_000 });
      } finally {
        await cdp.detach();
      }
      expect(await wizard().getByTestId('upload-done').textContent()).toContain('Uploaded');
      const cached = (await engine.call('media.list', {})).find((m) => m.sha256 === sha);
      expect(cached).toMatchObject({ filename: 'uploaded-guest.iso', bytes: bytes.length });
      // The wizard goes on as if the stored file's path had been typed, detection included.
      expect(await wizard().getByLabel('ISO file path').inputValue()).toBe(cached!.file);
      await expectDetectedAsTestGuest();
      await shot('wizard-21-uploaded-detected.png');
      await shotDark('wizard-21b-uploaded-detected-dark.png');

      await next();
      await atStep('media');
      await expectMediaChoice(/Use an ISO file I have/);
      // Step 1's upload and detection are not repeated: one line names the chosen image.
      await wizard()
        .getByTestId('chosen-iso')
        .getByText(/uploaded-guest\.iso/)
        .waitFor();
      expect(await wizard().getByTestId('upload-done').count()).toBe(0);
      await shot('wizard-21c-uploaded-media-step.png');
      await next();
      await atStep('resources');
      await expect
        .poll(() => wizard().getByRole('spinbutton', { name: 'Memory' }).inputValue())
        .toBe('256');
      await next();
      await atStep('name');
      const name = `${VERSION_NAME} (3)`;
      expect(await wizard().getByLabel('Name', { exact: true }).inputValue()).toBe(name);
      await next();
      await atStep('summary');
      await wizard().getByTestId('wizard-summary').getByText('uploaded-guest.iso').waitFor();
      await wizard().getByRole('button', { name: 'Create and start' }).click();
      await wizard().waitFor({ state: 'detached', timeout: 60_000 });
      const vm = await vmNamed(name);
      expect(vm.config).toMatchObject({ os: OS_ID, cdrom: cached!.file, memoryMiB: 256 });
      await expectBootedToBanner(vm, 'wizard-22-uploaded-running.png');
      await engine.call('vm.powerOff', { vm: vm.id });
      expect(e2e.problems).toEqual([]);
    },
    BOOT_TIMEOUT + 120_000,
  );
  it('uploads a file dropped on the drop zone in the browser', async () => {
    await openWizardFromLibrary();
    await wizard().getByRole('tab', { name: 'I have an ISO file' }).click();
    // What a drag from the desktop gives the page: a File, and no path.
    const data = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      const bytes = new Uint8Array(256 * 1024);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
      dt.items.add(new File([bytes], 'dropped disk.img', { type: '' }));
      return dt;
    });
    await wizard().locator('.dropzone').dispatchEvent('drop', { dataTransfer: data });
    await wizard().getByTestId('upload-done').waitFor({ timeout: 30_000 });
    const cached = (await engine.call('media.list', {})).find(
      (m) => m.filename === 'dropped disk.img',
    );
    expect(cached).toMatchObject({ bytes: 256 * 1024, url: '' });
    expect(await wizard().getByLabel('ISO file path').inputValue()).toBe(cached!.file);
    const detection = wizard().getByTestId('detection');
    await detection
      .getByText('Not an ISO 9660 image', { exact: true })
      .waitFor({ timeout: 15_000 });
    await shot('wizard-23-dropped-uploaded.png');
    await page.keyboard.press('Escape');
    await wizard().waitFor({ state: 'detached' });
    await engine.call('media.delete', { sha256: cached!.sha256 });
    expect(e2e.problems).toEqual([]);
  });
});
