/**
 * Guests of other architectures in a real Chromium against server mode on the real engine: the
 * wizard reads an arm64 GRUB EFI ISO's boot files, preselects aarch64 (with the notice that it is
 * emulated here), creates the VM on ARM's preset and boots it through AAVMF; the Display tab
 * shows the guest's screen and its serial port prints the banner. Settings moves a stopped VM to
 * another architecture (showing what changes) and refuses while it has snapshots; the Host view
 * lists each architecture's QEMU and firmware. Screenshots, light and dark, in
 * tests/artifacts/arch-*.png.
 *
 * Needs `npm run build` and the architecture test guests (tests/fixtures/build-arch-guests.sh,
 * run here: it returns at once when they are up to date); skips with the reason printed
 * otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import { ARTIFACTS, browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { waitFor, waitForText } from '../helpers/fixtures';
import { finish } from '../helpers/guest-console';

const FIXTURES = resolve(import.meta.dirname, '../fixtures');
const ARM_ISO = join(FIXTURES, '.cache', 'arch', 'arm64', 'grub.iso');
const BANNER = 'VIVARIUM-ARCH-GUEST READY aarch64';
/** AAVMF, GRUB and an arm64 kernel under TCG on a loaded 2-core machine. */
const BOOT_TIMEOUT = 240_000;
const VM_NAME = 'Arm guest';

/** The ISO, by the fixture script (at once when it is up to date, else it builds it). */
function armIsoMissing(): string | null {
  try {
    execFileSync('bash', [join(FIXTURES, 'build-arch-guests.sh')], {
      stdio: 'inherit',
      timeout: 900_000,
    });
  } catch (err) {
    return `tests/fixtures/build-arch-guests.sh failed: ${String(err)}`;
  }
  return existsSync(ARM_ISO) ? null : `${ARM_ISO} was not built`;
}

const skipReason = browserSkipReason() ?? armIsoMissing();
if (skipReason) console.warn(`[e2e] skipping the architecture tests: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let page: Page;

const wizard = (): Locator => page.getByTestId('wizard');

async function atStep(step: string): Promise<void> {
  await page.locator(`[data-testid="wizard"][data-step="${step}"]`).waitFor();
}

async function next(): Promise<void> {
  const button = wizard().getByTestId('wizard-next');
  await expect.poll(() => button.isEnabled(), { timeout: 15_000 }).toBe(true);
  await button.click();
}

async function shot(name: string): Promise<void> {
  await e2e.shot(name);
}

/** The same screen in the dark scheme, then back to light. */
async function shotDark(name: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(100);
  await shot(name);
  await page.emulateMedia({ colorScheme: 'light' });
}

async function vmNamed(name: string): Promise<VmSummary> {
  return waitFor(
    async () => (await engine.call('vm.list', {})).find((v) => v.name === name),
    `the VM "${name}"`,
    30_000,
  );
}

/**
 * What the noVNC canvas shows, once it has a size: the share of pixels that are lit, blue (the
 * test guest's console background) and white (its text).
 */
function canvasLit(p: Page) {
  return p.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>(
      '[data-testid="display-screen"] canvas',
    );
    if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
    const ctx = canvas.getContext('2d');
    if (!ctx) return null;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let lit = 0;
    let blue = 0;
    let white = 0;
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i] ?? 0;
      const g = data[i + 1] ?? 0;
      const b = data[i + 2] ?? 0;
      if (r + g + b > 60) lit++;
      if (b > 120 && r < 90 && g < 90) blue++;
      if (r > 200 && g > 200 && b > 200) white++;
    }
    const n = data.length / 4;
    return {
      width: canvas.width,
      height: canvas.height,
      lit: lit / n,
      blue: blue / n,
      white,
    };
  });
}

describe.skipIf(skipReason !== null)(
  'Guests of other architectures (server mode, Chromium)',
  () => {
    beforeAll(async () => {
      e2e = await startE2e({
        prefix: 'vivarium-e2e-arch-',
        view: { width: 1366, height: 900 },
        page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
        fullPage: false,
      });
      ({ engine, page } = e2e);
    });

    afterAll(async () => {
      await (e2e as E2e | undefined)?.close();
    });

    it(
      'detects an arm64 ISO as aarch64, creates it on ARM’s preset and boots it to its screen',
      async () => {
        await page.getByRole('button', { name: 'New VM' }).first().click();
        await wizard().waitFor();
        await atStep('os');
        await wizard().getByRole('tab', { name: 'I have an ISO file' }).click();
        await wizard().getByLabel('ISO file path').fill(ARM_ISO);
        const detection = wizard().getByTestId('detection');
        await detection.getByTestId('detection-arch').waitFor({ timeout: 15_000 });
        expect(await detection.getByTestId('detection-arch').textContent()).toContain('aarch64');
        expect(await detection.textContent()).toMatch(/ARM 64-bit.*BOOTAA64\.EFI/);
        await shot('arch-01-iso-detected.png');

        await next();
        await atStep('media');
        const pick = wizard().getByTestId('arch-pick');
        expect(await pick.getByRole('radio', { name: /ARM 64-bit/ }).isChecked()).toBe(true);
        expect(await pick.getByTestId('arch-detected').textContent()).toContain('BOOTAA64.EFI');
        // This host is x86-64: ARM is emulated, and the wizard says how much slower.
        expect(await pick.getByTestId('arch-notice').textContent()).toMatch(
          /emulated .* times slower/,
        );
        await shot('arch-02-wizard-arch.png');
        await shotDark('arch-02b-wizard-arch-dark.png');

        await next();
        await atStep('resources');
        const memory = wizard().getByRole('spinbutton', { name: 'Memory' });
        await expect.poll(() => memory.inputValue()).not.toBe('0');
        await memory.fill('512');
        await wizard().getByRole('spinbutton', { name: 'CPUs' }).fill('1');
        await next();
        await atStep('name');
        await wizard().getByLabel('Name', { exact: true }).fill(VM_NAME);
        await next();
        await atStep('summary');
        expect(await wizard().getByTestId('summary-arch').textContent()).toBe(
          'ARM 64-bit (aarch64)',
        );
        await wizard().getByTestId('wizard-summary').getByText('UEFI (AAVMF)').waitFor();
        await shot('arch-03-summary.png');
        await wizard().getByRole('button', { name: 'Create and start' }).click();
        await wizard().waitFor({ state: 'detached', timeout: 60_000 });

        const vm = await vmNamed(VM_NAME);
        expect(vm.config).toMatchObject({
          arch: 'aarch64',
          machine: 'virt',
          firmware: 'uefi',
          cdrom: ARM_ISO,
        });
        await page.waitForURL(new RegExp(`#/vm/${vm.id}/display$`));
        await page.getByTestId('display-screen').waitFor();
        // QEMU's own 640x480 "not initialized" text first; then AAVMF sets its mode and draws.
        const early = await waitFor(
          async () => {
            const c = await canvasLit(page);
            return c && c.width !== 640 && c.lit > 0.002 ? c : null;
          },
          'AAVMF on the display',
          BOOT_TIMEOUT,
        );
        expect(early.width).toBeGreaterThan(640);
        await shot('arch-04-aarch64-display-early.png');
        // GRUB boots the kernel, whose console (virtio-gpu) shows the banner: blue, white text.
        await waitForText(join(vm.dir, 'logs', 'serial.log'), BANNER, BOOT_TIMEOUT);
        const banner = await waitFor(
          async () => {
            const c = await canvasLit(page);
            return c && c.blue > 0.5 && c.white > 500 ? c : null;
          },
          'the banner on the display',
          60_000,
        );
        expect(banner.width).toBeGreaterThan(640);
        await shot('arch-05-aarch64-display-banner.png');

        // The Overview says what it runs as.
        await page.getByRole('tab', { name: 'Overview' }).click();
        const arch = page.getByTestId('overview-arch');
        await arch.waitFor();
        expect(await arch.textContent()).toMatch(/ARM 64-bit \(aarch64\).*emulated/);
        expect(await page.getByTestId('accel').textContent()).toMatch(/TCG|emulat/i);
        await shot('arch-06-overview.png');
        await engine.call('vm.powerOff', { vm: vm.id });
        expect(e2e.problems).toEqual([]);
      },
      BOOT_TIMEOUT * 2 + 120_000,
    );

    it("offers a catalogue OS's media for the architecture picked", async () => {
      await page.goto(new URL('/', e2e.server.url).href);
      await page.getByRole('button', { name: 'New VM' }).first().click();
      await atStep('os');
      await wizard().getByLabel('Search operating systems').fill('debian');
      await wizard().locator('.os-card[data-os-id="debian"]').click();
      await next();
      await atStep('media');
      const pick = wizard().getByTestId('arch-pick');
      // Debian is ready to use: this computer's own architecture first, with its cloud image.
      expect(await pick.getByRole('radio', { name: /x86-64/ }).isChecked()).toBe(true);
      const download = wizard().getByTestId('download');
      const offered = () => download.textContent();
      await expect.poll(offered).toMatch(/Cloud image \(genericcloud, qcow2\).*x86_64/);
      await pick.getByRole('radio', { name: /ARM 64-bit/ }).check();
      await expect.poll(offered).toMatch(/Cloud image \(genericcloud, qcow2, arm64\).*aarch64/);
      await shot('arch-10-wizard-catalogue-cloud-arm64.png');
      // Installed from an ISO instead: the arm64 netinst.
      await wizard().locator('label.choice', { hasText: 'Install from ISO' }).click();
      await expect.poll(offered).toMatch(/Network installer \(arm64\)/);
      expect(await offered()).not.toContain('amd64');
      // IBM Z: its own netinst, and the machine has no display.
      await pick.getByRole('radio', { name: /IBM Z/ }).check();
      await expect.poll(offered).toMatch(/Network installer \(s390x\)/);
      await pick.getByText(/Serial console only/).waitFor();
      await shotDark('arch-10b-wizard-catalogue-s390x-dark.png');
      await page.keyboard.press('Escape');
      expect(e2e.problems).toEqual([]);
    });

    it('moves a stopped VM to another architecture in Settings, and refuses with snapshots', async () => {
      const vm = await engine.call('vm.create', {
        name: 'Moves to ARM',
        diskSize: '64M',
        memoryMiB: 256,
      });
      await page.goto(new URL(`#/vm/${vm.id}/settings`, e2e.server.url).href);
      const select = page.getByTestId('settings-arch');
      await expect.poll(() => select.isEnabled(), { timeout: 15_000 }).toBe(true);
      await select.selectOption('aarch64');
      const change = page.getByTestId('arch-change');
      await change.waitFor();
      expect(await change.textContent()).toMatch(
        /Processor: x86-64 \(PC\) → ARM 64-bit \(aarch64\).*Machine: .*→ virt.*Firmware: BIOS \(SeaBIOS\) → UEFI \(AAVMF\)/,
      );
      await page.getByTestId('settings-arch').scrollIntoViewIfNeeded();
      await shot('arch-07-settings-change.png');
      await shotDark('arch-07b-settings-change-dark.png');
      await page.getByRole('button', { name: 'Save' }).click();
      const moved = await waitFor(
        async () => {
          const v = await engine.call('vm.get', { vm: vm.id });
          return v.config.arch === 'aarch64' ? v : null;
        },
        'the VM on aarch64',
        15_000,
      );
      expect(moved.config).toMatchObject({ machine: 'virt', firmware: 'uefi' });

      // A snapshot holds the current architecture's machine: no move until it is gone.
      await finish(
        engine,
        await engine.call('snapshot.create', { vm: vm.id, name: 'before' }),
        'snapshot.create',
      );
      await page.reload();
      await page.getByTestId('settings').waitFor();
      await page
        .getByText(/has snapshots of its current architecture/)
        .waitFor({ timeout: 15_000 });
      expect(await page.getByTestId('settings-arch').isDisabled()).toBe(true);
      await shot('arch-08-settings-refused.png');
      expect(e2e.problems).toEqual([]);
    }, 120_000);

    it('lists each architecture’s QEMU and firmware in the Host view', async () => {
      await page.goto(new URL('/', e2e.server.url).href);
      await page.getByRole('button', { name: 'Host', exact: true }).click();
      const card = page.getByTestId('host-arches');
      await card.waitFor();
      const rows = card.getByTestId('arch-row');
      await expect.poll(() => rows.count()).toBe(5);
      // Everything this machine needs is installed (CI installs it too).
      const aarch64 = card.locator('[data-arch="aarch64"]');
      expect(await aarch64.getAttribute('data-ready')).toBe('true');
      expect(await aarch64.textContent()).toMatch(/qemu-system-aarch64/);
      expect(await aarch64.getByTestId('arch-accel').textContent()).toMatch(/TCG/);
      await card.scrollIntoViewIfNeeded();
      await card.screenshot({ path: join(ARTIFACTS, 'arch-09-host-arches.png') });
      await page.emulateMedia({ colorScheme: 'dark' });
      await card.screenshot({ path: join(ARTIFACTS, 'arch-09b-host-arches-dark.png') });
      await page.emulateMedia({ colorScheme: 'light' });
      expect(e2e.problems).toEqual([]);
    });
  },
);
