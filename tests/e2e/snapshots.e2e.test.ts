/**
 * The Snapshots timeline in a real Chromium against server mode on the real engine and the fixture
 * guest (direct kernel boot and a qcow2 disk, so live snapshots work): two different screens are
 * written to the guest's VGA console from its serial shell, a snapshot of each is taken through
 * the timeline, both thumbnails show (and differ), a revert to the first goes through the confirm
 * dialog, and the display then shows the first screen again. Screenshots (light and dark) land in
 * tests/artifacts/snapshots-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest (`npm run fixtures`); skips with the
 * reason printed otherwise.
 */
import { type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { browserSkipReason, startE2e, type E2eBase } from '../helpers/e2e';
import { guest, guestMissingReason, waitFor } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

const BOOT_TIMEOUT = 90_000;

const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[e2e] skipping the snapshot timeline tests: ${skipReason}`);

let e2e: E2eBase;
let engine: Engine;
let page: Page;
let vmId = '';
let serial: GuestConsole | null = null;

/** A console error with where it came from. */
function consoleWithSource(msg: ConsoleMessage): string {
  return `console: ${msg.text()} @ ${msg.location().url}`;
}

function timelineUrl(): string {
  return `${e2e.server.url}#/vm/${encodeURIComponent(vmId)}/snapshots`;
}

/**
 * Paints the guest's VGA console (tty0, where the fixture's init draws its banner): `bg` is an
 * ANSI background colour (40 black, 41 red...), then a few lines of `text`.
 */
async function paintScreen(bg: number, text: string): Promise<void> {
  if (!serial) throw new Error('no serial console');
  const lines = Array.from({ length: 6 }, () => `     ${text}     ${text}`).join('\\n');
  await serial.run(
    `printf '\\033[0;1;37;${bg}m\\033[H\\033[2J\\n${lines}\\n' > /dev/tty0; echo PAINT$((40+2))`,
    /PAINT42/,
  );
}

/** Average colour of a PNG (data URL), decoded in the page. */
function averageColour(p: Page, dataUrl: string) {
  return p.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    let r = 0;
    let g = 0;
    let b = 0;
    const n = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      r += data[i] ?? 0;
      g += data[i + 1] ?? 0;
      b += data[i + 2] ?? 0;
    }
    return { r: r / n, g: g / n, b: b / n, width: c.width, height: c.height };
  }, dataUrl);
}

function card(p: Page, name: string) {
  return p.locator(`[data-testid="snapshot-card"][data-snapshot="${name}"]`);
}

/** Takes a snapshot through the timeline and waits for its card, thumbnail and "you are here". */
async function takeSnapshot(p: Page, name: string, description: string): Promise<string> {
  const take = p.getByTestId('snapshot-take');
  await expect.poll(() => take.isEnabled(), { timeout: 30_000 }).toBe(true);
  await take.click();
  const dialog = p.getByRole('dialog');
  await dialog.waitFor();
  await p.getByTestId('snapshot-name').fill(name);
  await p.getByTestId('snapshot-description').fill(description);
  await p.getByTestId('snapshot-take-confirm').click();
  await dialog.waitFor({ state: 'detached' });
  await card(p, name).waitFor({ timeout: 60_000 });
  await card(p, name).locator('[data-testid="snapshot-current"]').waitFor({ timeout: 60_000 });
  const img = card(p, name).getByTestId('snapshot-thumb');
  await img.waitFor({ timeout: 30_000 });
  await expect
    .poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth), { timeout: 10_000 })
    .toBeGreaterThan(0);
  return (await img.getAttribute('src')) ?? '';
}

describe.skipIf(skipReason !== null)(
  'Snapshot timeline (server mode, Chromium, fixture guest)',
  () => {
    beforeAll(async () => {
      e2e = await startE2e({
        prefix: 'vivarium-e2e-snap-',
        view: { width: 1280, height: 900, formatConsole: consoleWithSource },
        page: false,
      });
      ({ engine } = e2e);

      const vm = await engine.call('vm.create', {
        name: 'Snapshot guest',
        kernel: guest.bzImage,
        initrd: guest.initrd,
        append: guest.append,
        memoryMiB: 256,
        diskSize: '64M',
      });
      vmId = vm.id;
    }, 60_000);

    afterAll(async () => {
      serial?.close();
      // Unset when beforeAll failed: startE2e has undone its part then.
      await (e2e as E2eBase | undefined)?.close();
    });

    it('shows why a snapshot cannot be taken yet, or offers a disk-only one, while the VM is off', async () => {
      const opened = await e2e.openPage('light', timelineUrl());
      ({ page } = opened);
      e2e.defer(() => opened.context.close());
      await page.getByTestId('snapshots').waitFor();
      await page.getByText('No snapshots yet').waitFor();
      const list = await engine.call('snapshot.list', { vm: vmId });
      if (list.canSnapshot.ok) {
        await expect.poll(() => page.getByTestId('snapshot-take').isEnabled()).toBe(true);
      } else {
        await expect
          .poll(() => page.getByTestId('snapshot-cannot').textContent())
          .toBe(list.canSnapshot.reason);
      }
    });

    it(
      'takes two live snapshots through the timeline, with two different thumbnails',
      async () => {
        await engine.call('vm.start', { vm: vmId });
        await waitFor(
          async () =>
            (await engine.call('vm.log', { vm: vmId, kind: 'serial' })).text.includes(guest.banner),
          'the guest banner on serial',
          BOOT_TIMEOUT,
        );
        serial = await GuestConsole.open(engine, vmId);

        await paintScreen(40, 'FIRST-SCREEN');
        const first = await takeSnapshot(page, 'first', 'Black screen with FIRST-SCREEN');
        await paintScreen(41, 'SECOND-SCREEN');
        const second = await takeSnapshot(page, 'second', 'Red screen with SECOND-SCREEN');

        expect(first).toMatch(/^data:image\/png;base64,/);
        expect(second).toMatch(/^data:image\/png;base64,/);
        expect(first).not.toBe(second);
        const a = await averageColour(page, first);
        const b = await averageColour(page, second);
        expect(b.r - a.r).toBeGreaterThan(40); // the second one is red
        await expect.poll(() => page.getByTestId('snapshot-thumb').count()).toBe(2);
        await expect
          .poll(() => page.locator('[data-testid="snapshot-card"][data-current]').count())
          .toBe(1);
        await expect.poll(() => card(page, 'second').getAttribute('data-current')).toBe('true');
        await expect.poll(() => card(page, 'first').textContent()).toContain('Live');
        await e2e.shot('snapshots-two-light.png', { page });
      },
      BOOT_TIMEOUT + 120_000,
    );

    it('reverts to the first through the confirm dialog; the display shows the first screen', async () => {
      await card(page, 'first').getByTestId('snapshot-revert').click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await expect.poll(() => dialog.textContent()).toContain('Unsaved state is lost');
      await e2e.shot('snapshots-revert-dialog-light.png', { page });
      await page.getByTestId('snapshot-revert-confirm').click();
      await dialog.waitFor({ state: 'detached' });
      await expect
        .poll(() => card(page, 'first').getAttribute('data-current'), { timeout: 60_000 })
        .toBe('true');
      await page.getByTestId('snapshot-here').waitFor();
      await expect
        .poll(() => page.getByTestId('snapshot-progress').count(), { timeout: 30_000 })
        .toBe(0);

      const vm = (await engine.call('vm.list', {})).find((v) => v.id === vmId);
      expect(vm?.runtime.state).toBe('running');

      // The screen now: like the first snapshot's thumbnail (black), not the second's (red).
      const thumbs = await page
        .getByTestId('snapshot-thumb')
        .evaluateAll((els) => els.map((el) => (el as HTMLImageElement).src));
      const firstThumb =
        (await card(page, 'first').getByTestId('snapshot-thumb').getAttribute('src')) ?? '';
      expect(thumbs).toContain(firstThumb);
      const screen = await engine.call('vm.screenshot', { vm: vmId });
      expect(screen.pngBase64).toBeTruthy();
      const now = await averageColour(page, `data:image/png;base64,${screen.pngBase64 ?? ''}`);
      const want = await averageColour(page, firstThumb);
      expect(Math.abs(now.r - want.r)).toBeLessThan(15);
      expect(now.r).toBeLessThan(60);

      // The guest's RAM is the first one's too: its shell still answers on the same QEMU process.
      await serial?.run('echo ALIVE$((1+1))', /ALIVE2/);

      // The Display tab shows it as well (noVNC canvas, mostly not red).
      await page.getByRole('tab', { name: 'Display', exact: true }).click();
      const red = await waitFor(
        () =>
          page.evaluate(() => {
            const canvas = document.querySelector<HTMLCanvasElement>(
              '[data-testid="display-screen"] canvas',
            );
            if (!canvas || canvas.width === 0) return null;
            const ctx = canvas.getContext('2d');
            if (!ctx) return null;
            const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
            let red = 0;
            let lit = 0;
            for (let i = 0; i < data.length; i += 4) {
              const r = data[i] ?? 0;
              const g = data[i + 1] ?? 0;
              const b = data[i + 2] ?? 0;
              if (r + g + b > 30) lit++;
              if (r > 120 && g < 80 && b < 80) red++;
            }
            return lit > 0 ? { red: red / (data.length / 4), lit } : null;
          }),
        'the display canvas',
        30_000,
      );
      expect(red.red).toBeLessThan(0.1);
      await page.getByRole('tab', { name: 'Snapshots', exact: true }).click();
      await e2e.shot('snapshots-reverted-light.png', { page });

      const { context: ctx, page: p } = await e2e.openPage('dark', timelineUrl());
      e2e.defer(() => ctx.close());
      await card(p, 'second').getByTestId('snapshot-thumb').waitFor();
      await card(p, 'first').getByTestId('snapshot-thumb').waitFor();
      await e2e.shot('snapshots-reverted-dark.png', { page: p });
    }, 120_000);

    it('renames inline, describes, and deletes with children kept', async () => {
      await card(page, 'second').getByTestId('snapshot-edit').click();
      const form = page.getByTestId('snapshot-edit-form');
      await form.getByLabel('Name').fill('second (red)');
      await form.getByLabel('Description').fill('Renamed from the timeline');
      await form.getByRole('button', { name: 'Save' }).click();
      await card(page, 'second (red)').waitFor();
      await expect
        .poll(() => card(page, 'second (red)').textContent())
        .toContain('Renamed from the timeline');

      await card(page, 'first').getByTestId('snapshot-delete').click();
      const dialog = page.getByRole('dialog');
      await expect.poll(() => dialog.textContent()).toContain('is kept');
      await page.getByTestId('snapshot-delete-confirm').click();
      await dialog.waitFor({ state: 'detached' });
      await card(page, 'first').waitFor({ state: 'detached', timeout: 60_000 });
      await card(page, 'second (red)').waitFor();
      const list = await engine.call('snapshot.list', { vm: vmId });
      expect(list.snapshots.map((s) => s.name)).toEqual(['second (red)']);
      expect(e2e.problems).toEqual([]);
    }, 90_000);
  },
);
