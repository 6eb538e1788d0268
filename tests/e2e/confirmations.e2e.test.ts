/**
 * What the polish asks of the UI, in a real Chromium against server mode on the real
 * engine: an ISO uploaded from the browser keeps its own name (and its detected OS) in the
 * wizard, Overview, Settings and the media list; Power off and Reset ask first and say what is
 * lost, Cancel keeps the VM running, "Don't ask again for this VM" makes the next one immediate;
 * a guest that prints nothing on its serial port gets an explanation in the Console.
 * Screenshots: tests/artifacts/ux-*.png.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import { catalogEntry } from '../helpers/catalog-entry';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, guestMissingReason, waitFor } from '../helpers/fixtures';

const OS_ID = 'vivarium-ux-guest';
const OS_NAME = 'UX Test Guest';
const VERSION_NAME = 'UX Test Guest 1';
const UPLOAD_NAME = 'my-installer (copy).iso';
const BOOT_TIMEOUT = 90_000;
const LOGOS = join(import.meta.dirname, '../../assets/logos');

const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[e2e] skipping the confirmation and naming tests: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let page: Page;
let vm: VmSummary;

function wizard(): Locator {
  return page.getByTestId('wizard');
}

async function next(): Promise<void> {
  const button = wizard().getByTestId('wizard-next');
  await expect.poll(() => button.isEnabled(), { timeout: 15_000 }).toBe(true);
  await button.click();
}

async function atStep(step: string): Promise<void> {
  await page.locator(`[data-testid="wizard"][data-step="${step}"]`).waitFor();
}

async function headerState(state: string, timeout = 30_000): Promise<void> {
  await page
    .locator('.vm-topbar [data-testid="vm-state"]')
    .filter({ hasText: new RegExp(`^${state}$`) })
    .waitFor({ timeout });
}

function topbarButton(name: string): Locator {
  return page.locator('.vm-topbar').getByRole('button', { name, exact: true });
}

async function stateOf(id: string): Promise<string> {
  return (await engine.call('vm.get', { vm: id })).runtime.state;
}

async function startAndWait(id: string): Promise<void> {
  if ((await stateOf(id)) !== 'running') await engine.call('vm.start', { vm: id });
  await headerState('running', BOOT_TIMEOUT);
}

describe.skipIf(skipReason !== null)(
  'Confirmations and media names (server mode, Chromium)',
  () => {
    beforeAll(async () => {
      e2e = await startE2e({
        prefix: 'vivarium-e2e-ux-',
        engine: async (home) => {
          const extra = join(home, 'ux-catalog.json');
          const entry = catalogEntry({
            id: OS_ID,
            name: OS_NAME,
            homepage: null,
            versions: [{ id: '1', name: VERSION_NAME, status: 'current', media: [], notes: [] }],
            detect: [{ volumeId: '^VIVARIUM_TESTGUEST$', version: '1' }],
            notes: [],
          });
          await writeFile(extra, JSON.stringify([entry]));
          return { home: join(home, 'data'), catalog: { extraFiles: [extra] } };
        },
        view: { width: 1366, height: 860 },
        page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
        fullPage: false,
      });
      ({ engine, page } = e2e);
    });

    afterAll(async () => {
      await (e2e as E2e | undefined)?.close();
    });

    it(
      'shows an uploaded ISO by its own name and detected OS in the wizard, Overview and Settings',
      async () => {
        const file = join(e2e.home, UPLOAD_NAME);
        await writeFile(file, await readFile(guest.iso));
        await page.getByRole('button', { name: 'New VM' }).first().click();
        await atStep('os');
        await wizard().getByRole('tab', { name: 'I have an ISO file' }).click();
        await wizard().getByLabel('Upload an ISO from this computer').setInputFiles(file);
        await wizard().getByTestId('upload-done').waitFor({ timeout: 60_000 });
        await wizard()
          .getByTestId('detection')
          .getByText('Exact match')
          .waitFor({ timeout: 15_000 });
        await e2e.shot('ux-wizard-1-uploaded.png');

        // Step 2 names the image in one line instead of repeating step 1's cards.
        await next();
        await atStep('media');
        const chosen = wizard().getByTestId('chosen-iso');
        await chosen.waitFor();
        expect(await chosen.textContent()).toContain(`${UPLOAD_NAME} (${VERSION_NAME})`);
        expect(await chosen.textContent()).toContain('Uploaded');
        expect(await wizard().getByTestId('detection').count()).toBe(0);
        expect(await wizard().getByTestId('upload-done').count()).toBe(0);
        await e2e.shot('ux-wizard-2-media-step.png');

        await next();
        await atStep('resources');
        // The hardware note is the profile's own: e1000 and standard VGA, never "virtio display".
        await wizard().locator('details.hw summary').click();
        const note = wizard().getByTestId('hardware-note');
        await note.waitFor();
        const noteText = (await note.textContent()) ?? '';
        expect(noteText).toContain('Intel E1000 card');
        expect(noteText).toContain('Standard VGA display');
        expect(noteText).not.toMatch(/virtio (display|GPU)/i);
        await e2e.shot('ux-wizard-3-resources.png');
        await next();
        await atStep('name');
        await next();
        await atStep('summary');
        await wizard().getByTestId('wizard-summary').getByText(UPLOAD_NAME).waitFor();
        await wizard().getByRole('button', { name: 'Create and start' }).click();
        await wizard().waitFor({ state: 'detached', timeout: 60_000 });
        vm = await waitFor(
          async () => (await engine.call('vm.list', {})).find((v) => v.name === VERSION_NAME),
          'the new VM',
        );
        const media = await engine.call('media.list', {});
        const uploaded = media.find((m) => m.file === vm.config.cdrom);
        expect(uploaded).toMatchObject({
          filename: UPLOAD_NAME,
          url: '',
          os: OS_ID,
          osName: VERSION_NAME,
          displayName: `${UPLOAD_NAME} (${VERSION_NAME})`,
        });

        await page.goto(`${e2e.server.url.replace(/\?.*$/, '')}#/vm/${vm.id}/overview`);
        await headerState('running', BOOT_TIMEOUT);
        const cd = page.getByTestId('overview-cdrom');
        await expect.poll(() => cd.textContent()).toBe(`${UPLOAD_NAME} (${VERSION_NAME})`);
        // The sha256 folder is only on hover.
        expect(await cd.getAttribute('title')).toBe(vm.config.cdrom);
        expect(await page.getByTestId('overview').textContent()).not.toContain(uploaded!.sha256);
        await e2e.shot('ux-overview-uploaded.png');
        expect(e2e.problems).toEqual([]);
      },
      BOOT_TIMEOUT + 120_000,
    );

    it('asks before Power off: Cancel keeps the VM running, confirming powers it off', async () => {
      await startAndWait(vm.id);
      await topbarButton('Power off').click();
      const dialog = page.getByRole('dialog', { name: `Power off “${vm.name}”?` });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain(
        'Like pulling the plug: unsaved work in the guest is lost',
      );
      await e2e.shot('ux-confirm-poweroff.png');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      // Nothing was sent: the VM still runs a moment later.
      await new Promise((r) => setTimeout(r, 1000));
      expect(await stateOf(vm.id)).toBe('running');

      await topbarButton('Power off').click();
      await dialog.getByTestId('confirm-power').click();
      await headerState('stopped');
      expect(await stateOf(vm.id)).toBe('stopped');
      expect(e2e.problems).toEqual([]);
    }, 120_000);

    it('asks before Reset, then resets the running guest', async () => {
      await startAndWait(vm.id);
      const before = (await engine.call('vm.get', { vm: vm.id })).runtime.pid;
      await topbarButton('Reset').click();
      const dialog = page.getByRole('dialog', { name: `Reset “${vm.name}”?` });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain('unsaved work in the guest is lost');
      await e2e.shot('ux-confirm-reset.png');
      const log = async () => (await engine.call('vm.log', { vm: vm.id, kind: 'serial' })).text;
      await waitFor(async () => (await log()).includes(guest.banner), 'the first boot banner');
      const banners = (await log()).split(guest.banner).length - 1;
      await dialog.getByTestId('confirm-power').click();
      await dialog.waitFor({ state: 'detached' });
      // The same QEMU, and the guest boots again: its banner a second time.
      await waitFor(
        async () => (await log()).split(guest.banner).length - 1 > banners,
        'the guest to boot again after the reset',
        BOOT_TIMEOUT,
      );
      expect((await engine.call('vm.get', { vm: vm.id })).runtime).toMatchObject({
        state: 'running',
        pid: before,
      });
      expect(e2e.problems).toEqual([]);
    }, 180_000);

    it("stops asking after “Don't ask again for this VM”, and Settings turns it back on", async () => {
      await startAndWait(vm.id);
      await topbarButton('Power off').click();
      const dialog = page.getByRole('dialog', { name: `Power off “${vm.name}”?` });
      await dialog.getByTestId('dont-ask-again').check();
      await e2e.shot('ux-confirm-dont-ask.png');
      await dialog.getByTestId('confirm-power').click();
      await headerState('stopped');
      expect((await engine.call('vm.get', { vm: vm.id })).config.confirmDestructive).toBe(false);

      // While it runs, the next Power off is immediate.
      await startAndWait(vm.id);
      expect((await engine.call('vm.get', { vm: vm.id })).config.confirmDestructive).toBe(false);
      await topbarButton('Power off').click();
      await headerState('stopped');
      expect(await page.getByRole('dialog').count()).toBe(0);

      // Settings shows the switch off; turning it on (a running VM may change it) asks again.
      await startAndWait(vm.id);
      await page.getByRole('tab', { name: /Settings/ }).click();
      const box = page.getByTestId('confirm-destructive');
      await box.waitFor();
      expect(await box.isChecked()).toBe(false);
      expect(await box.isEnabled()).toBe(true);
      await box.check();
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await waitFor(
        async () => (await engine.call('vm.get', { vm: vm.id })).config.confirmDestructive,
        'the setting to be saved while the VM runs',
        15_000,
      );
      await e2e.shot('ux-settings-confirm.png');
      await topbarButton('Power off').click();
      await page.getByRole('dialog', { name: `Power off “${vm.name}”?` }).waitFor();
      await page.getByTestId('confirm-power').click();
      await headerState('stopped');
      expect(e2e.problems).toEqual([]);
    }, 240_000);

    it('lists the upload as “Uploaded” with its OS, and deleting it says it cannot come back', async () => {
      await page.goto(`${e2e.server.url.replace(/\?.*$/, '')}#/host`);
      const row = page.getByTestId('media-row').first();
      await row.waitFor({ timeout: 30_000 });
      const text = (await row.textContent()) ?? '';
      expect(text).toContain(VERSION_NAME);
      expect(text).toContain('Uploaded');
      expect(text).not.toContain('Not verified');
      await row.scrollIntoViewIfNeeded();
      await e2e.shot('ux-media-uploaded.png');
      await row.getByRole('button', { name: /Delete/ }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain('cannot be downloaded again');
      await e2e.shot('ux-media-delete.png');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect(e2e.problems).toEqual([]);
    }, 60_000);

    it('explains a serial port that stays quiet', async () => {
      // Nothing to boot: SeaBIOS says so on the screen, and nothing reaches the serial port.
      const quiet = await engine.call('vm.create', {
        name: 'Quiet guest',
        memoryMiB: 128,
        diskSize: '0',
      });
      await engine.call('vm.start', { vm: quiet.id });
      await page.goto(`${e2e.server.url.replace(/\?.*$/, '')}#/vm/${quiet.id}/console`);
      const note = page.getByTestId('console-silent');
      await note.waitFor({ timeout: 30_000 });
      const text = (await note.textContent()) ?? '';
      expect(text).toContain('console=ttyS0,115200');
      expect(text).toContain('systemctl enable --now serial-getty@ttyS0');
      await e2e.shot('ux-console-silent.png');
      await engine.call('vm.powerOff', { vm: quiet.id });

      // The guest that prints on its serial port gets no such note.
      await engine.call('vm.start', { vm: vm.id });
      await page.goto(`${e2e.server.url.replace(/\?.*$/, '')}#/vm/${vm.id}/console`);
      await headerState('running', BOOT_TIMEOUT);
      await page.getByTestId('console-conn-serial').filter({ hasText: 'Connected' }).waitFor();
      // Once the guest has printed, the pane shows its output and no note (a slow boot may show the
      // note first: it goes at the first byte).
      const log = async () => (await engine.call('vm.log', { vm: vm.id, kind: 'serial' })).text;
      await waitFor(
        async () => (await log()).includes(guest.banner),
        'the boot banner',
        BOOT_TIMEOUT,
      );
      await expect.poll(() => page.getByTestId('console-silent').count()).toBe(0);
      await page.locator('.xterm-rows').getByText(guest.banner).first().waitFor();
      await e2e.shot('ux-console-printing.png');
      await engine.call('vm.powerOff', { vm: vm.id });
      expect(e2e.problems).toEqual([]);
    }, 180_000);

    it('shows the same OS picture in the library as in the wizard', async () => {
      // Stopped: the card shows the OS picture, not a live thumbnail.
      if ((await stateOf(vm.id)) !== 'stopped') await engine.call('vm.powerOff', { vm: vm.id });
      await page.goto(e2e.server.url.replace(/\?.*$/, ''));
      const card = page.locator(`[data-testid="vm-card"][data-vm-id="${vm.id}"]`);
      await card.waitFor();
      // The entry's logo is "linux" (catalogEntry): the wizard showed it, the library shows it.
      const src = await card.locator('img.os-logo').first().getAttribute('src');
      const svg = Buffer.from((src ?? '').replace(/^data:image\/svg\+xml;base64,/, ''), 'base64');
      expect(svg.toString('utf8')).toBe(await readFile(join(LOGOS, 'linux.svg'), 'utf8'));
      await e2e.shot('ux-library.png');

      // Deleting the VM says what is lost and what stays.
      await page.goto(`${e2e.server.url.replace(/\?.*$/, '')}#/vm/${vm.id}/settings`);
      await page.getByRole('button', { name: 'Delete VM…' }).click();
      const dialog = page.getByRole('dialog', { name: `Delete “${vm.name}”?` });
      await dialog.waitFor();
      const text = (await dialog.textContent()) ?? '';
      expect(text).toMatch(/Lost:.*snapshots.*disks/);
      expect(text).toMatch(/Stays:.*install media/);
      await e2e.shot('ux-delete-vm.png');
      await dialog.getByRole('button', { name: 'Delete VM' }).click();
      await waitFor(
        async () => !(await engine.call('vm.list', {})).some((v) => v.id === vm.id),
        'the VM to be deleted',
        15_000,
      );
      expect(e2e.problems).toEqual([]);
    });
  },
);
