/**
 * Save state and live migration in a real Chromium against server mode on the real engine and
 * the fixture guest (PVH kernel: nothing here looks at the guest's screen). A guest counts on its
 * serial console; Suspend in the VM window saves it to disk, the library shows it Saved with how
 * long ago, its settings say why they are locked, and Resume on its card brings it back without a
 * reboot (no second boot banner on the serial console, the count goes on). Discard saved state
 * goes through its confirmation; the quit preference on the Host view reaches the engine. Then
 * the Migrate dialog moves a running guest to a second `vivarium serve` process with its own data
 * folder on 127.0.0.1 and shows the measured downtime. Screenshots land in
 * tests/artifacts/save-*.png and migrate-*.png.
 *
 * Needs `npm run build` (out/renderer, out/main/cli.js) and the fixture guest (`npm run
 * fixtures`); skips with the reason printed otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import { CLI, ROOT } from '../helpers/cli';
import { browserSkipReason, openRpc, startE2e, type E2eBase, type RpcClient } from '../helpers/e2e';
import { guest, guestMissingReason, waitFor, waitForText } from '../helpers/fixtures';
import { GuestConsole } from '../helpers/guest-console';

const skipReason =
  browserSkipReason() ??
  guestMissingReason() ??
  (existsSync(CLI) ? null : `${CLI} is missing: run \`npm run build\` first`);
if (skipReason) console.warn(`[e2e] skipping the save and migrate tests: ${skipReason}`);

const COUNTER = 'i=0; while true; do i=$((i+1)); echo "COUNT:$i"; sleep 0.2; done &';

function counts(text: string): number[] {
  return [...text.matchAll(/COUNT:(\d+)\r?\n/g)].map((m) => Number(m[1]));
}

function serialLog(vm: VmSummary): string {
  return readFileSync(join(vm.dir, 'logs', 'serial.log'), 'utf8');
}

function createGuest(engine: Engine, name: string): Promise<VmSummary> {
  return engine.call('vm.create', {
    name,
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 128,
    cpus: 1,
    diskSize: '16M',
    network: 'none',
  });
}

/** Boots a guest, starts its counter and waits for the first counts. */
async function bootCounting(engine: Engine, vm: VmSummary): Promise<void> {
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  const con = await GuestConsole.open(engine, vm.id);
  try {
    await con.diskWrite('MARKER-BEFORE');
    await con.run(COUNTER, /COUNT:3\r?\n/);
  } finally {
    con.close();
  }
}

function stateOf(engine: Engine, vmId: string) {
  return engine.call('vm.get', { vm: vmId }).then((v) => v.runtime.state);
}

/** Power off what runs, and leave saved VMs as they are (the home is removed after). */
async function powerOffRunning(engine: Engine): Promise<void> {
  for (const vm of await engine.call('vm.list', {})) {
    const s = vm.runtime.state;
    if (s !== 'stopped' && s !== 'crashed' && s !== 'saved') {
      await engine.call('vm.powerOff', { vm: vm.id });
    }
  }
}

function card(p: Page, vmId: string) {
  return p.locator(`[data-testid="vm-card"][data-vm-id="${vmId}"]`);
}

describe.skipIf(skipReason !== null)('Suspend, Saved and Resume (server mode, Chromium)', () => {
  let e2e: E2eBase;
  let engine: Engine;
  let page: Page;
  let vm: VmSummary;

  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-save-',
      view: { width: 1280, height: 860 },
      page: false,
      powerOff: powerOffRunning,
    });
    ({ engine } = e2e);
    vm = await createGuest(engine, 'Save guest');
  }, 60_000);

  afterAll(async () => {
    await (e2e as E2eBase | undefined)?.close();
  });

  it('suspends from the VM window: the save shows its progress, then the VM is saved', async () => {
    await bootCounting(engine, vm);
    const opened = await e2e.openPage('light', `${e2e.server.url}#/vm/${vm.id}/overview`);
    ({ page } = opened);
    e2e.defer(() => opened.context.close());
    await page.getByTestId('vm-view').waitFor();
    const suspend = page.locator('.vm-topbar [data-op="suspend"]');
    await expect.poll(() => suspend.isEnabled(), { timeout: 30_000 }).toBe(true);
    expect(await suspend.textContent()).toContain('Suspend');
    await e2e.shot('save-running-light.png', { page });

    await suspend.click();
    // The save of a small guest is quick: the bar may come and go between two looks.
    const sawProgress = await page
      .getByTestId('suspend-progress')
      .first()
      .waitFor({ timeout: 5_000 })
      .then(
        () => true,
        () => false,
      );
    if (sawProgress) await e2e.shot('save-progress-light.png', { page }).catch(() => undefined);
    await expect.poll(() => stateOf(engine, vm.id), { timeout: 60_000 }).toBe('saved');
    await expect
      .poll(() => page.locator('.vm-topbar [data-testid="vm-state"]').textContent())
      .toBe('saved');
    await expect
      .poll(() => page.locator('.vm-topbar [data-testid="saved-since"]').textContent())
      .toBe('Saved just now');
    expect(await page.locator('.vm-topbar [data-op="start"]').textContent()).toContain('Resume');
    await e2e.shot('save-window-saved-light.png', { page });
  }, 150_000);

  it('shows the saved badge in the library and why the settings are locked', async () => {
    await page.goto(`${e2e.server.url}#/`);
    const c = card(page, vm.id);
    await c.waitFor();
    await expect.poll(() => c.getByTestId('vm-state').textContent()).toBe('saved');
    await expect.poll(() => c.getByTestId('saved-since').textContent()).toMatch(/^Saved /);
    await expect.poll(() => c.locator('[data-op="start"]').textContent()).toContain('Resume');
    expect(await c.locator('[data-op="suspend"]').isDisabled()).toBe(true);
    await e2e.shot('save-library-light.png', { page });
    const dark = await e2e.openPage('dark', `${e2e.server.url}#/`);
    e2e.defer(() => dark.context.close());
    await card(dark.page, vm.id).getByTestId('saved-since').waitFor();
    await e2e.shot('save-library-dark.png', { page: dark.page });

    await page.goto(`${e2e.server.url}#/vm/${vm.id}/settings`);
    const lock = page.getByTestId('settings-saved-lock');
    await lock.waitFor();
    expect(await lock.textContent()).toContain('saved memory only fits the hardware');
    await e2e.shot('save-settings-locked-light.png', { page });

    // Snapshots and network cards say why not, in the engine's words.
    await page.goto(`${e2e.server.url}#/vm/${vm.id}/snapshots`);
    await expect
      .poll(() => page.getByTestId('snapshot-cannot').textContent(), { timeout: 30_000 })
      .toContain('saved to disk');
    expect(await page.getByTestId('snapshot-take').isDisabled()).toBe(true);
    await e2e.shot('save-snapshots-why-light.png', { page });
    await page.goto(`${e2e.server.url}#/vm/${vm.id}/network`);
    await expect
      .poll(() => page.getByTestId('cards-locked').textContent())
      .toContain('saved to disk');
  });

  it('resumes from the library card: the guest did not reboot and keeps counting', async () => {
    const before = counts(serialLog(vm));
    const last = before[before.length - 1] ?? 0;
    expect(last).toBeGreaterThanOrEqual(3);
    await page.goto(`${e2e.server.url}#/`);
    const c = card(page, vm.id);
    await c.locator('[data-op="start"]').click();
    await expect
      .poll(() => c.getByTestId('vm-state').textContent(), { timeout: 60_000 })
      .toBe('running');
    await expect(c.getByTestId('saved-since').count()).resolves.toBe(0);
    await waitFor(
      () => counts(serialLog(vm)).some((n) => n >= last + 5),
      `the count to go on past ${last + 5}`,
      30_000,
    );
    const after = serialLog(vm);
    expect(after).not.toContain(guest.banner);
    const resumed = counts(after);
    expect(resumed[0]).toBeGreaterThan(last);
    const con = await GuestConsole.open(engine, vm.id);
    try {
      expect(await con.diskRead()).toBe('MARKER-BEFORE');
    } finally {
      con.close();
    }
    await e2e.shot('save-resumed-light.png', { page });
  }, 120_000);

  it('discards a saved state through its confirmation: the next start boots fresh', async () => {
    const task = await engine.call('vm.suspend', { vm: vm.id });
    await engine.tasks.wait(task.id);
    await page.goto(`${e2e.server.url}#/vm/${vm.id}/overview`);
    const discard = page.locator('.vm-topbar [data-testid="discard-state"]');
    await discard.click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('boots it fresh');
    await e2e.shot('save-discard-dialog-light.png', { page });
    await page.getByTestId('discard-state-confirm').click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => stateOf(engine, vm.id)).toBe('stopped');
    await expect
      .poll(() => page.locator('.vm-topbar [data-testid="vm-state"]').textContent())
      .toBe('stopped');
    expect(await page.locator('.vm-topbar [data-op="start"]').textContent()).toContain('Start');
  }, 90_000);

  it('sets what happens to running VMs when Vivarium quits (Host view)', async () => {
    const opened = await e2e.openPage('dark', `${e2e.server.url}#/host`);
    e2e.defer(() => opened.context.close());
    const p = opened.page;
    const card = p.getByTestId('host-onquit');
    await card.waitFor();
    await expect.poll(() => p.getByTestId('on-quit-keep').isChecked()).toBe(true);
    await card.getByText('Suspend them').click();
    await expect.poll(() => engine.call('settings.get', {}).then((s) => s.onQuit)).toBe('suspend');
    await expect.poll(() => p.getByTestId('on-quit-hint').textContent()).toContain('saved to disk');
    // Another front door changes it: the page follows the engine's event.
    await engine.call('settings.update', { onQuit: 'keep' });
    await expect.poll(() => p.getByTestId('on-quit-keep').isChecked()).toBe(true);
    await card.getByText('Suspend them').click();
    await expect.poll(() => p.getByTestId('on-quit-suspend').isChecked()).toBe(true);
    await card.scrollIntoViewIfNeeded();
    await e2e.shot('save-onquit-dark.png', { page: p });
    await engine.call('settings.update', { onQuit: 'keep' });
    expect(e2e.problems).toEqual([]);
  });
});

/** `vivarium serve` in a process of its own, with its own data folder, on 127.0.0.1. */
async function startServe(
  home: string,
): Promise<{ child: ChildProcess; url: string; port: number; token: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--json'], {
    cwd: ROOT,
    env: { ...process.env, VIVARIUM_HOME: home, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  await waitFor(
    () => out.includes('"url"') || child.exitCode !== null,
    'vivarium serve to print its URL',
    30_000,
  );
  if (child.exitCode !== null) throw new Error(`vivarium serve ended: ${err}`);
  const line = out.split('\n').find((l) => l.includes('"url"')) ?? '';
  const printed = JSON.parse(line) as { url: string; port: number; token: string };
  return { child, ...printed };
}

describe.skipIf(skipReason !== null)('The Migrate dialog (two servers on 127.0.0.1)', () => {
  let e2e: E2eBase;
  let engine: Engine;
  let page: Page;
  let vm: VmSummary;
  let dest: { child: ChildProcess; url: string; port: number; token: string };
  let rpc: RpcClient;

  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-migrate-',
      view: { width: 1280, height: 860 },
      page: false,
      powerOff: powerOffRunning,
    });
    ({ engine } = e2e);
    dest = await startServe(join(e2e.home, 'destination'));
    e2e.defer(async () => {
      if (dest.child.exitCode !== null) return;
      const ended = new Promise((r) => dest.child.once('exit', r));
      dest.child.kill('SIGTERM');
      const gone = await Promise.race([
        ended.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
      ]);
      if (!gone) dest.child.kill('SIGKILL');
    });
    rpc = await openRpc(dest);
    e2e.defer(async () => {
      // What runs there (the migrated guest) goes off before the destination server ends.
      for (const v of await rpc.call('vm.list', {}).catch(() => [])) {
        if (v.runtime.state === 'running' || v.runtime.state === 'paused') {
          await rpc.call('vm.powerOff', { vm: v.id }).catch(() => undefined);
        }
      }
      rpc.close();
    });
    vm = await createGuest(engine, 'Travelling guest');
    // The same name is taken there: the dialog offers a free one.
    await rpc.call('vm.create', {
      name: 'Travelling guest',
      kernel: guest.kernel,
      memoryMiB: 64,
      diskSize: '0',
      network: 'none',
    });
  }, 90_000);

  afterAll(async () => {
    await (e2e as E2eBase | undefined)?.close();
  });

  it('checks first: a clash of names is refused with a free name to use', async () => {
    await bootCounting(engine, vm);
    const opened = await e2e.openPage('light', `${e2e.server.url}#/vm/${vm.id}/overview`);
    ({ page } = opened);
    e2e.defer(() => opened.context.close());
    await page.getByTestId('migrate-open').click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // Without the token: the contract's own words, before anything is asked.
    await page.getByTestId('migrate-url').fill(`http://127.0.0.1:${dest.port}/`);
    await page.getByTestId('migrate-check').click();
    await expect.poll(() => dialog.textContent()).toContain('needs its token');

    await page.getByTestId('migrate-url').fill(dest.url);
    await page.getByTestId('migrate-check').click();
    const reasons = page.getByTestId('migrate-reasons');
    await reasons.waitFor({ timeout: 60_000 });
    expect(await reasons.textContent()).toContain('Travelling guest');
    const use = page.getByTestId('migrate-use-name');
    expect(await use.textContent()).toMatch(/Use the name “.+” there/);
    await e2e.shot('migrate-refused-light.png', { page });
    await use.click();
    expect(await page.getByTestId('migrate-name').inputValue()).not.toBe('');
    await page.getByTestId('migrate-check').click();
    await page.getByTestId('migrate-ready').waitFor({ timeout: 60_000 });
    await e2e.shot('migrate-ready-light.png', { page });
    await page.emulateMedia({ colorScheme: 'dark' });
    await e2e.shot('migrate-ready-dark.png', { page });
    await page.emulateMedia({ colorScheme: 'light' });
  }, 150_000);

  it('migrates with live progress and shows the measured downtime; the VM leaves this library', async () => {
    const newName = await page.getByTestId('migrate-name').inputValue();
    const before = counts(serialLog(vm));
    await page.getByTestId('migrate-start').click();
    const run = page.getByTestId('migrate-run');
    await run.waitFor();
    const sawProgress = await page
      .getByTestId('migrate-progress')
      .waitFor({ timeout: 10_000 })
      .then(
        () => true,
        () => false,
      );
    if (sawProgress) await e2e.shot('migrate-progress-light.png', { page }).catch(() => undefined);
    // The memory phase of an idle guest is short: a look at it when it is caught.
    const inMemory = await page
      .locator('[data-testid="migrate-run"][data-phase="memory"]')
      .waitFor({ timeout: 20_000 })
      .then(
        () => true,
        () => false,
      );
    if (inMemory) await e2e.shot('migrate-memory-light.png', { page }).catch(() => undefined);
    await expect
      .poll(() => run.getAttribute('data-state'), { timeout: 180_000 })
      .not.toBe('running');
    if ((await run.getAttribute('data-state')) !== 'succeeded') {
      await e2e.shot('migrate-failed-light.png', { page });
      throw new Error(`The migration did not succeed: ${await run.textContent()}`);
    }
    const downtime = await page.getByTestId('migrate-downtime').textContent();
    expect(downtime).toMatch(/^\d+(\.\d)? (ms|s)$/);
    expect(await page.getByTestId('migrate-total').textContent()).toMatch(/\d/);
    await e2e.shot('migrate-done-light.png', { page });

    await page.getByTestId('migrate-done').click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await expect.poll(() => card(page, vm.id).count()).toBe(0);
    expect((await engine.call('vm.list', {})).some((v) => v.id === vm.id)).toBe(false);

    // There, it runs and goes on counting where it was, without a reboot.
    const there = (await rpc.call('vm.list', {})).find((v) => v.name === newName);
    expect(there?.runtime.state).toBe('running');
    const last = before[before.length - 1] ?? 0;
    const log = () => readFileSync(join(there?.dir ?? '', 'logs', 'serial.log'), 'utf8');
    await waitFor(
      () => counts(log()).some((n) => n > last + 3),
      'the count to go on at the destination',
      30_000,
    ).catch(async (err: unknown) => {
      const now = await rpc.call('vm.get', { vm: there?.id ?? '' }).catch(() => null);
      throw new Error(
        `${String(err)}; counted up to ${last} here; there it is ${now?.runtime.state ?? '?'} and its serial log ends: ${log().slice(-400)}`,
      );
    });
    expect(log()).not.toContain(guest.banner);
    await e2e.shot('migrate-library-after-light.png', { page });
    expect(e2e.problems).toEqual([]);
  }, 240_000);

  it('cancels a migration from the dialog: the VM keeps running here, counting', async () => {
    const stay = await createGuest(engine, 'Stay-home guest');
    await bootCounting(engine, stay);
    await page.goto(`${e2e.server.url}#/vm/${stay.id}/overview`);
    await page.getByTestId('migrate-open').click();
    await page.getByTestId('migrate-url').fill(dest.url);
    await page.getByTestId('migrate-check').click();
    await page.getByTestId('migrate-start').click({ timeout: 60_000 });
    await page.getByTestId('migrate-cancel').click();
    const run = page.getByTestId('migrate-run');
    await expect
      .poll(() => run.getAttribute('data-state'), { timeout: 60_000 })
      .not.toBe('running');
    await e2e.shot('migrate-cancelled-light.png', { page });
    expect(await run.getAttribute('data-state')).toBe('cancelled');
    await page.getByTestId('migrate-done').click();
    expect(await stateOf(engine, stay.id)).toBe('running');
    const before = counts(serialLog(stay));
    const last = before[before.length - 1] ?? 0;
    await waitFor(
      () => counts(serialLog(stay)).some((n) => n > last + 3),
      'the count to go on here',
      30_000,
    );
    expect((await rpc.call('vm.list', {})).some((v) => v.name === 'Stay-home guest')).toBe(false);
    expect(e2e.problems).toEqual([]);
  }, 180_000);
});
