/**
 * The Host view in a real Chromium against server mode on the real engine: the QEMU version and
 * the accelerator verdict the engine probed (KVM, or TCG with the reason KVM failed), empty
 * states, then the install-media cache seeded over the server's RPC from a loopback HTTP server
 * (a catalogue entry's ISO, and two downloads cancelled halfway): the image with its OS name,
 * verified badge and "In the CD-ROM of <VM>" chip; Delete -> the dialog names the VM, refuses
 * (the engine's message) while it runs, then "Eject and delete" empties the VM's CD-ROM; a
 * partial download resumes into the cache through the tasks panel, another is discarded.
 * Screenshots land in tests/artifacts/host-*.png.
 *
 * Needs `npm run build` (out/renderer) and the fixture guest (`npm run fixtures`); skips with the
 * reason printed otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostInfo, TaskInfo } from '../../common/contract';
import { catalogEntry } from '../helpers/catalog-entry';
import { browserSkipReason, openRpc, startE2e, type E2e, type RpcClient } from '../helpers/e2e';
import { guest, waitFor } from '../helpers/fixtures';
import { startMediaServer, type MediaRequest, type MediaServer } from '../helpers/media-server';

const OS_ID = 'vivarium-host-guest';
const OS_NAME = 'Vivarium Host Guest';
const VERSION_NAME = 'Vivarium Host Guest 1';
const VM_NAME = 'Installer, "quoted" VM';
/** Two downloads that stop halfway: one is resumed, the other discarded. */
const RESUMED = 'resumable-guest.iso';
/** The fixture ISO's size as the media view writes it (MiB, one decimal). */
const isoMiB = (): string => (isoBytes.length / 2 ** 20).toFixed(1);
const DISCARDED = 'abandoned-guest.iso';

const skipReason =
  browserSkipReason() ??
  (!existsSync(guest.iso) ? 'the fixture ISO is missing: run `npm run fixtures`' : null);
if (skipReason) console.warn(`[e2e] skipping the Host view tests: ${skipReason}`);

let e2e: E2e;
let rpc: RpcClient;
let media: MediaServer;
let base = '';
let isoBytes: Buffer;
let isoSha = '';
/** The fixture ISO padded by a sector: another image, another hash (the resumed download). */
let altBytes: Buffer;
let altSha = '';
let host: HostInfo;
let page: Page;

/**
 * A mirror: `/iso/guest.iso` whole; `/stall/NAME` sends half the body and then nothing (as a
 * dead Wi-Fi does) until the client gives up, and a Range request gets the rest.
 */
function serve({ path, send }: MediaRequest): void {
  const data =
    path === '/iso/guest.iso' || path === `/stall/${DISCARDED}`
      ? isoBytes
      : path === `/stall/${RESUMED}`
        ? altBytes
        : null;
  if (!data) return;
  send(data, path.startsWith('/stall/') ? { holdAt: Math.floor(data.length / 2) } : {});
}

function testEntry() {
  return catalogEntry({
    id: OS_ID,
    name: OS_NAME,
    homepage: null,
    versions: [
      {
        id: '1',
        name: VERSION_NAME,
        status: 'current',
        media: [
          {
            id: 'iso',
            label: 'Live ISO',
            arch: 'x86_64',
            kind: 'live',
            urls: [`${base}/iso/guest.iso`],
            sha256: isoSha,
            sizeBytes: isoBytes.length,
          },
        ],
        notes: [],
      },
    ],
    detect: [],
  });
}

/** The whole page (or what the window shows, for a dialog over it). */
async function shot(name: string, fullPage = true): Promise<void> {
  await e2e.shot(name, { fullPage });
}

async function shotDark(name: string, fullPage = true): Promise<void> {
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(name, fullPage);
  await page.emulateMedia({ colorScheme: 'light' });
}

/**
 * The install-media rows' details as the reader sees them, line by line: each item with whether
 * its "·" separator shows (it draws it before itself; the paragraph clips the ones left of it).
 * Fails when a line starts with a visible separator or when one shows in the middle of a line.
 */
async function metaLines(): Promise<string[][]> {
  const lines = await page.locator('.media-row__meta').evaluateAll((paras) =>
    paras.flatMap((p) => {
      const left = p.getBoundingClientRect().left;
      const out: { top: number; items: { text: string; sep: boolean }[] }[] = [];
      for (const item of Array.from(p.querySelectorAll(':scope > .media-row__facts > *'))) {
        const r = item.getBoundingClientRect();
        const line = out.at(-1);
        const entry = { text: item.textContent, sep: r.left >= left - 0.5 };
        if (line && Math.abs(line.top - r.top) < 4) line.items.push(entry);
        else out.push({ top: r.top, items: [entry] });
      }
      return out.map((l) => l.items);
    }),
  );
  for (const line of lines) {
    expect(
      line.map((i) => i.sep),
      JSON.stringify(line),
    ).toEqual(line.map((_, n) => n > 0));
  }
  return lines.map((l) => l.map((i) => i.text));
}

/** Closes finished tasks and notifications, which float over the page in screenshots. */
async function clearOverlays(): Promise<void> {
  const closers = [
    page.getByTestId('tasks').getByRole('button', { name: /^Close / }),
    page.getByRole('button', { name: 'Dismiss notification' }),
  ];
  for (const closer of closers) {
    while ((await closer.count()) > 0) await closer.first().click();
  }
}

function view(): Locator {
  return page.getByTestId('host-view');
}

function mediaRow(sha256: string): Locator {
  return page.locator(`[data-testid="media-row"][data-sha256="${sha256}"]`);
}

function partialRow(filename: string): Locator {
  return page.getByTestId('partial-row').filter({ hasText: filename });
}

/** Starts a download over RPC that stops halfway (the server goes quiet), then cancels it. */
async function downloadHalf(url: string, sha256?: string): Promise<TaskInfo> {
  const task = await rpc.call('media.download', { url, ...(sha256 ? { sha256 } : {}) });
  await waitFor(
    async () => {
      const t = await rpc.call('task.get', { id: task.id });
      return (t.bytesDone ?? 0) >= Math.floor(isoBytes.length / 2) - 1;
    },
    `half of ${url}`,
    30_000,
  );
  await rpc.call('task.cancel', { id: task.id });
  const end = await rpc.taskEnd(task.id);
  expect(end.state).toBe('cancelled');
  return end;
}

describe.skipIf(skipReason !== null)('Host view (server mode, Chromium)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-host-',
      engine: async (home, defer) => {
        isoBytes = await readFile(guest.iso);
        isoSha = createHash('sha256').update(isoBytes).digest('hex');
        altBytes = Buffer.concat([isoBytes, Buffer.alloc(2048)]);
        altSha = createHash('sha256').update(altBytes).digest('hex');

        media = await startMediaServer(serve);
        defer(() => media.close());
        base = media.base;
        const extra = join(home, 'e2e-catalog.json');
        await writeFile(extra, JSON.stringify([testEntry()]));

        // A long data folder: its path has to wrap inside its card.
        return {
          home: join(
            home,
            'Virtual machines',
            'kept under a rather long folder name',
            'vivarium-data',
          ),
          catalog: { extraFiles: [extra], osinfoDir: null },
        };
      },
      view: { width: 1280, height: 860 },
      page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
    });
    ({ page } = e2e);
    rpc = await openRpc(e2e.server);
    e2e.defer(() => Promise.resolve(rpc.close()));
  });

  afterAll(async () => {
    // Unset when beforeAll failed: startE2e has undone its part then.
    await (e2e as E2e | undefined)?.close();
  });

  it('opens from the header and with H; Esc goes back; the shortcut sheet lists it', async () => {
    await page.getByRole('button', { name: 'Host', exact: true }).click();
    await view().waitFor();
    expect(page.url()).toMatch(/#\/host$/);
    expect(await page.title()).toBe('Host · Vivarium');
    await page.keyboard.press('Escape');
    await page.getByText('No virtual machines yet').waitFor();
    await page.keyboard.press('?');
    const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await sheet.getByText('Host: QEMU, accelerators and install media').waitFor();
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'detached' });
    await page.keyboard.press('h');
    await view().waitFor();
  });

  it('shows the real QEMU version and the accelerator the probe chose, with why', async () => {
    host = await rpc.call('host.info', {});
    const virt = page.getByTestId('host-virtualization');
    await virt.waitFor({ timeout: 30_000 });
    const qemu = host.qemu.binaries[0];
    expect(qemu, 'QEMU is installed on this host').toBeDefined();
    expect(await virt.getByTestId('qemu-binary').first().textContent()).toContain(
      `QEMU ${qemu!.version}`,
    );
    expect(await virt.textContent()).toContain(host.qemu.img!.version);

    const best = host.bestAccelerator === 'tcg' ? 'TCG (emulated)' : host.bestAccelerator;
    expect((await virt.getByTestId('host-verdict').textContent())?.toLowerCase()).toContain(
      best.toLowerCase(),
    );
    for (const a of host.accelerators) {
      const row = virt.locator(`[data-testid="accel-row"][data-accel="${a.name}"]`);
      const verdict = (await row.getByTestId('accel-verdict').textContent()) ?? '';
      if (a.usable) expect(verdict).toBe(a.name === host.bestAccelerator ? 'In use' : 'Works');
      else if (a.present) expect(verdict).toBe('Present, not usable');
      else expect(verdict).toBe('Not available');
      if (a.reason)
        expect((await row.textContent())?.toLowerCase()).toContain(a.reason.toLowerCase());
    }
    // What KVM and TCG are, in a line each.
    expect(await virt.textContent()).toMatch(/hardware virtualization/);
    expect(await virt.textContent()).toMatch(/QEMU’s own translator/);
    // The computer and the data folder (long paths wrap inside their card).
    const computer = page.getByTestId('host-computer');
    expect(await computer.textContent()).toContain(host.dataDir);
    expect(await computer.textContent()).toContain(`${host.cpus} CPU`);

    await page.getByTestId('media-empty').waitFor();
    await page.getByTestId('partials-empty').waitFor();
    await shot('host-empty-light.png');
    await shotDark('host-empty-dark.png');
  });

  it('probes again on request', async () => {
    const probe = page.getByRole('button', { name: /Probe again|Probing/ });
    await probe.click();
    await page.getByRole('button', { name: 'Probe again' }).waitFor({ timeout: 60_000 });
    expect(
      await page
        .getByTestId('host-virtualization')
        .getByTestId('qemu-binary')
        .first()
        .textContent(),
    ).toContain(host.qemu.binaries[0]!.version);
  }, 90_000);

  it('lists the cached image with its OS, badge and the VM whose CD-ROM holds it, and partial downloads', async () => {
    // Seeded over the server's RPC, as any client would.
    const task = await rpc.call('media.download', { os: OS_ID });
    const done = await rpc.taskEnd(task.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const file = (done.result as { file: string }).file;
    await downloadHalf(`${base}/stall/${RESUMED}`, altSha);
    await downloadHalf(`${base}/stall/${DISCARDED}`);
    await rpc.call('vm.create', {
      name: VM_NAME,
      iso: file,
      memoryMiB: 128,
      diskSize: '0',
    });

    // The view refreshes when a download ends and when a VM's CD-ROM changes.
    const row = mediaRow(isoSha);
    await row.getByTestId('media-used-by').waitFor({ timeout: 15_000 });
    const text = (await row.textContent()) ?? '';
    expect(text).toContain(VERSION_NAME);
    expect(text).toContain('Live ISO');
    expect(text).toContain('guest.iso');
    expect(text).toContain('Verified');
    expect(text).toContain('from 127.0.0.1');
    expect(await row.getByTestId('media-used-by').textContent()).toBe(
      `In the CD-ROM of ${VM_NAME}`,
    );
    expect(await page.getByTestId('media-total').textContent()).toBe(`1 image · ${isoMiB()} MiB`);

    for (const name of [RESUMED, DISCARDED]) {
      const p = partialRow(name);
      await p.waitFor();
      const bytes = (await p.getByTestId('partial-bytes').textContent()) ?? '';
      expect(bytes).toMatch(
        new RegExp(`^[\\d.]+ MiB of ${isoMiB().replace('.', '\\.')} MiB · (49|50)%$`),
      );
      expect(
        Number(await p.getByRole('progressbar').getAttribute('aria-valuenow')),
      ).toBeGreaterThan(45);
    }
    await clearOverlays();
    await shot('host-light.png');
    await shotDark('host-dark.png');
    await page.setViewportSize({ width: 720, height: 900 });
    await shot('host-narrow-light.png');
    // Narrower still, the details wrap; no line of them starts with a "·".
    await page.setViewportSize({ width: 400, height: 900 });
    const lines = await metaLines();
    expect(
      lines.some((l) => l.length > 1),
      JSON.stringify(lines),
    ).toBe(true);
    expect(lines.length, JSON.stringify(lines)).toBeGreaterThan(
      await page.locator('.media-row__meta').count(),
    );
    await shot('host-narrower-light.png');
    await page.setViewportSize({ width: 1280, height: 860 });

    // The chip leads to the VM.
    await row.getByTestId('media-used-by').click();
    await page.getByTestId('vm-view').waitFor();
    await page.keyboard.press('h');
    await view().waitFor();
  });

  it('deletes an image in use: the dialog names the VM, shows the engine’s refusal while it runs, then ejects and deletes', async () => {
    const vm = (await rpc.call('vm.list', {})).find((v) => v.name === VM_NAME)!;
    await rpc.call('vm.start', { vm: vm.id });

    const row = mediaRow(isoSha);
    await row.getByRole('button', { name: 'Delete guest.iso' }).click();
    const dialog = page.getByRole('dialog', { name: /^Delete “guest\.iso( \(.*\))?”\?$/ });
    await dialog.waitFor();
    expect(await dialog.getByTestId('delete-media-used').textContent()).toContain(VM_NAME);
    await dialog.getByRole('button', { name: 'Eject and delete' }).click();
    const refusal = dialog.getByTestId('delete-media-error');
    await refusal.waitFor({ timeout: 15_000 });
    expect(((await refusal.textContent()) ?? '').length).toBeGreaterThan(10);
    await shot('host-delete-refused-light.png', false);
    await shotDark('host-delete-refused-dark.png', false);
    // Nothing was ejected or deleted.
    expect((await rpc.call('vm.get', { vm: vm.id })).config.cdrom).toBe(
      (await rpc.call('media.list', {}))[0]!.file,
    );

    await rpc.call('vm.powerOff', { vm: vm.id });
    await waitFor(
      async () => (await rpc.call('vm.get', { vm: vm.id })).runtime.state === 'stopped',
      'the VM to stop',
      30_000,
    );
    await dialog.getByRole('button', { name: 'Eject and delete' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 15_000 });
    await row.waitFor({ state: 'detached' });
    expect((await rpc.call('vm.get', { vm: vm.id })).config.cdrom).toBeNull();
    expect((await rpc.call('media.list', {})).map((m) => m.sha256)).not.toContain(isoSha);
  }, 90_000);

  it('resumes a partial download into the cache through the tasks panel', async () => {
    const p = partialRow(RESUMED);
    await p.getByRole('button', { name: `Resume ${RESUMED}` }).click();
    await page.getByTestId('tasks').waitFor();
    const resumed = mediaRow(altSha);
    await resumed.waitFor({ timeout: 30_000 });
    await p.waitFor({ state: 'detached' });
    expect(await resumed.textContent()).toContain(RESUMED);
    expect(await resumed.textContent()).toContain('Matches your SHA-256');
    const cached = await rpc.call('media.list', {});
    expect(cached.map((m) => m.sha256)).toEqual([altSha]);
  });

  it('discards a partial download', async () => {
    const p = partialRow(DISCARDED);
    await p.getByRole('button', { name: `Discard ${DISCARDED}` }).click();
    await p.waitFor({ state: 'detached' });
    await page.getByTestId('partials-empty').waitFor();
    expect(await rpc.call('media.partials', {})).toEqual([]);
    await clearOverlays();
    await shot('host-after-light.png');
    expect(e2e.problems).toEqual([]);
  });
});
