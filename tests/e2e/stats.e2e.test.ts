/**
 * What the VMs cost the host, in a real Chromium against server mode on the real engine with two
 * running guests (one spinning a busy loop): the library cards' CPU and memory sparklines move
 * with the samples; the Overview's uPlot charts draw the samples as lines (pixels of the series'
 * colours on their canvas, not only axes), the balloon control moves the guest's memory and the
 * figure follows, the QEMU command line can be shown; the Host view's "promised to VMs" is the
 * sum of the running VMs' memory and its top-like table lists both, sortable.
 * Screenshots: tests/artifacts/stats-*.png.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, guestMissingReason, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

const MiB = 1024 * 1024;
const skipReason = browserSkipReason() ?? guestMissingReason();
if (skipReason) console.warn(`[e2e] skipping the statistics tests: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let page: Page;
let busy: VmSummary;
let idle: VmSummary;
let con: GuestConsole | undefined;

async function bootGuest(name: string, memoryMiB: number, cpus: number): Promise<VmSummary> {
  const vm = await engine.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB,
    cpus,
  });
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  return vm;
}

/** Pixels of `rgb` (within a small tolerance) on the chart's canvas: its lines, not its axes. */
function pixelsOf(testId: string, rgb: [number, number, number]): Promise<number> {
  return page.getByTestId(testId).evaluate((fig, color) => {
    const canvas = fig.querySelector('canvas');
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const near =
        Math.abs((data[i] ?? 0) - color[0]) < 24 &&
        Math.abs((data[i + 1] ?? 0) - color[1]) < 24 &&
        Math.abs((data[i + 2] ?? 0) - color[2]) < 24 &&
        (data[i + 3] ?? 0) > 200;
      if (near) n++;
    }
    return n;
  }, rgb);
}

describe.skipIf(skipReason !== null)('Statistics in the UI (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-stats-',
      view: {
        width: 1366,
        height: 900,
        formatConsole: (m) => `${m.text()} @ ${JSON.stringify(m.location())} ${m.page()?.url()}`,
      },
      page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
      fullPage: false,
    });
    ({ engine, page } = e2e);
    [busy, idle] = [await bootGuest('busy guest', 256, 2), await bootGuest('idle guest', 192, 1)];
    con = await GuestConsole.open(engine, busy.id);
    await con.run('', /# /);
    // One vCPU spins, the other sleeps: the chart's vCPU lines differ.
    await con.run('(while :; do :; done) & echo spinning', /spinning/);
  }, 240_000);

  afterAll(async () => {
    con?.close();
    await (e2e as E2e | undefined)?.close();
  });

  it('moves the library cards’ CPU and memory sparklines with the samples', async () => {
    const card = page.locator(`[data-testid="vm-card"][data-vm-id="${busy.id}"]`);
    const spark = card.getByTestId('sparkline-cpu');
    await expect.poll(() => spark.getAttribute('data-points'), { timeout: 30_000 }).not.toBe(null);
    const points = async () => Number(await spark.getAttribute('data-points'));
    await expect.poll(points, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const before = await spark.locator('polyline').first().getAttribute('points');
    const countBefore = await points();
    // Two more samples (one every 2 s): the line is redrawn with them.
    await expect
      .poll(points, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(Math.min(60, countBefore + 2));
    await expect
      .poll(() => spark.locator('polyline').first().getAttribute('points'), { timeout: 30_000 })
      .not.toBe(before);
    // The busy guest's QEMU shows the busy loop; its memory figure is the host RSS.
    await expect
      .poll(
        async () => Number.parseInt((await card.getByTestId('card-cpu').textContent()) ?? '', 10),
        {
          timeout: 30_000,
        },
      )
      .toBeGreaterThanOrEqual(50);
    expect(await card.getByTestId('card-rss').textContent()).toMatch(/^\d+ MiB$/);
    expect(await card.getByTestId('card-rss').getAttribute('title')).toContain('given 256 MiB');
    expect(
      Number(
        await page
          .locator(`[data-testid="vm-card"][data-vm-id="${idle.id}"]`)
          .getByTestId('sparkline-memory')
          .getAttribute('data-points'),
      ),
    ).toBeGreaterThanOrEqual(1);
    await e2e.shot('stats-library-light.png');
  }, 120_000);

  it('draws the Overview’s charts, moves the balloon and shows the QEMU command line', async () => {
    await page.goto(`${e2e.server.url}#/vm/${busy.id}/overview`);
    const cpu = page.getByTestId('chart-cpu');
    await cpu.waitFor({ timeout: 30_000 });
    // Half a minute of samples: on the 5-minute axis the lines are then long enough to count.
    await expect
      .poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(15);
    // The process line in the accent colour (#0d9488) and vCPU 0 in blue (#2563eb) are drawn.
    await expect
      .poll(() => pixelsOf('chart-cpu', [13, 148, 136]), { timeout: 15_000 })
      .toBeGreaterThan(30);
    await expect
      .poll(() => pixelsOf('chart-cpu', [37, 99, 235]), { timeout: 15_000 })
      .toBeGreaterThan(30);
    await expect
      .poll(() => pixelsOf('chart-memory', [13, 148, 136]), { timeout: 15_000 })
      .toBeGreaterThan(30);
    expect(
      Number(await page.getByTestId('chart-disk').getAttribute('data-points')),
    ).toBeGreaterThanOrEqual(3);
    await e2e.shot('stats-overview-light.png', { fullPage: true });

    // The balloon: 256 MiB configured, set to 160 MiB; QEMU's figure and the card follow.
    await page.getByTestId('balloon-target').fill('160');
    await page.getByTestId('balloon-apply').click();
    await expect
      .poll(() => page.getByTestId('balloon-actual').textContent(), { timeout: 60_000 })
      .toBe('160 MiB');
    await e2e.shot('stats-balloon-light.png');

    await page.getByTestId('show-cmdline').click();
    const cmd = page.getByTestId('process-cmdline');
    await cmd.waitFor();
    const text = (await cmd.textContent()) ?? '';
    expect(text).toContain('qemu-system-x86_64');
    expect(text).toContain('virtio-balloon-pci');
    expect(await page.getByTestId('process-pid').textContent()).toBe(
      String((await engine.call('vm.get', { vm: busy.id })).runtime.pid),
    );
    await e2e.shot('stats-process-light.png', { fullPage: true });
  }, 120_000);

  it('shows the host’s overcommit as the sum of the running VMs, in a sortable top table', async () => {
    await page.goto(`${e2e.server.url}#/host`);
    const promised = page.getByTestId('host-promised');
    await expect
      .poll(async () => Number(await promised.getAttribute('data-bytes')), { timeout: 30_000 })
      .toBe((256 + 192) * MiB);
    const stats = await engine.call('stats.host', {});
    expect(stats.runningVms).toBe(2);
    expect(await page.getByTestId('host-overcommit').textContent()).toBe(
      `${(((256 + 192) * MiB) / stats.memory.totalBytes).toFixed(2)}×`,
    );
    const rows = page.getByTestId('top-row');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    // Sorted by CPU, busiest first: the spinning guest leads.
    await expect
      .poll(() => rows.first().getAttribute('data-vm-name'), { timeout: 30_000 })
      .toBe('busy guest');
    await page.getByTestId('sort-name').click();
    expect(await rows.first().getAttribute('data-vm-name')).toBe('busy guest');
    await page.getByTestId('sort-name').click();
    expect(await rows.first().getAttribute('data-vm-name')).toBe('idle guest');
    await page.getByTestId('host-resources').scrollIntoViewIfNeeded();
    await e2e.shot('stats-host-light.png');
    const { page: dark, context } = await e2e.openPage('dark', `${e2e.server.url}#/host`);
    await dark.getByTestId('top-row').first().waitFor({ timeout: 30_000 });
    await dark.getByTestId('host-resources').scrollIntoViewIfNeeded();
    await e2e.shot('stats-host-dark.png', { page: dark });
    await dark.goto(`${e2e.server.url}#/vm/${busy.id}/overview`);
    await expect
      .poll(async () => Number(await dark.getByTestId('chart-cpu').getAttribute('data-points')), {
        timeout: 30_000,
      })
      .toBeGreaterThanOrEqual(3);
    await e2e.shot('stats-overview-dark.png', { page: dark, fullPage: true });
    await context.close();
    expect(e2e.problems).toEqual([]);
  }, 120_000);
});
