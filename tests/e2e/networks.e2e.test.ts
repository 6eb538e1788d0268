/**
 * Network cards, port forwards and private networks in a real Chromium against server mode on the
 * real engine and the fixture guest: a second card is added and its model changed while the VM is
 * off; a private network is created on the Networks page (its subnet filled in) and another from a
 * card's picker, and the card is attached; the VM starts, the cards lock with the engine's reason,
 * a forward added live is listed as live, a host port in use is refused inline, Forward SSH shows
 * the ssh command; the Networks page lists the running member and refuses to delete the network,
 * naming the VM. Screenshots (light and dark) land in tests/artifacts/networks-*.png.
 *
 * Needs `npm run build` (out/renderer), the fixture guest (`npm run fixtures`) and `vde_switch`
 * (Debian's vde2); skips with the reason printed otherwise.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { type ConsoleMessage, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine';
import { ARTIFACTS, browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { guest, guestMissingReason, waitFor } from '../helpers/fixtures';

const VM_NAME = 'Net guest';
const PEER_NAME = 'Net peer';
/** The fixture guest takes a lease on its first card and serves a page naming its MAC. */
const APPEND = `${guest.append} viv.net=dhcp viv.httpd=80`;
const BOOT_TIMEOUT = 90_000;

function vdeMissingReason(): string | null {
  try {
    execFileSync('vde_switch', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'vde_switch is missing: install Debian’s vde2 (private networks run on it)';
  }
}

const skipReason = browserSkipReason() ?? guestMissingReason() ?? vdeMissingReason();
if (skipReason) console.warn(`[e2e] skipping the network tests: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let page: Page;
let vmId = '';
let peerId = '';
let busyPort: Server | null = null;

function consoleWithSource(msg: ConsoleMessage): string {
  return `console: ${msg.text()} @ ${msg.location().url}`;
}

function nic(p: Page, index: number) {
  return p.getByTestId(`nic-${index}`);
}

async function nics() {
  return engine.call('nic.list', { vm: vmId });
}

/** A TCP port on 127.0.0.1 that something else listens on, for the "in use" case. */
function listenSomewhere(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
async function freePort(): Promise<number> {
  const s = await listenSomewhere();
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * One card whole: the app scrolls inside its own pane, so a tall card is cut at the viewport's
 * bottom unless the viewport holds it for the moment of the shot.
 */
async function cardShot(card: Locator, name: string): Promise<void> {
  const before = page.viewportSize();
  await page.setViewportSize({ width: before?.width ?? 1280, height: 1800 });
  await card.screenshot({ path: join(ARTIFACTS, name) });
  if (before) await page.setViewportSize(before);
}

async function headerState(p: Page, state: string, timeout = 30_000) {
  await p
    .locator('.vm-topbar [data-testid="vm-state"]')
    .filter({ hasText: new RegExp(`^${state}$`) })
    .waitFor({ timeout });
}

describe.skipIf(skipReason !== null)('Networks (server mode, Chromium, fixture guest)', () => {
  beforeAll(async () => {
    e2e = await startE2e({
      prefix: 'vivarium-e2e-net-',
      view: { width: 1280, height: 900, formatConsole: consoleWithSource },
      page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
    });
    ({ engine, page } = e2e);
    const vm = await engine.call('vm.create', {
      name: VM_NAME,
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: APPEND,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '0',
    });
    vmId = vm.id;
    const peer = await engine.call('vm.create', {
      name: PEER_NAME,
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '0',
    });
    peerId = peer.id;
  }, 60_000);

  afterAll(async () => {
    if (busyPort) await new Promise((r) => busyPort?.close(r));
    // Networks outlive the app by design: power the guest off and delete them, or their switch
    // and router would stay behind the test's removed home.
    const eng = (e2e as E2e | undefined)?.engine;
    if (eng && vmId) await eng.call('vm.powerOff', { vm: vmId }).catch(() => undefined);
    for (const n of (await eng?.call('network.list', {}).catch(() => [])) ?? []) {
      await eng
        ?.call('network.delete', { network: n.config.name, detach: true })
        .catch(() => undefined);
    }
    await (e2e as E2e | undefined)?.close();
  });

  it('the Network tab lists the VM’s card; a second one is added and its model changed', async () => {
    await page.goto(`${e2e.server.url}#/vm/${encodeURIComponent(vmId)}/network`);
    await page.getByTestId('network-tab').waitFor();
    await nic(page, 0).waitFor();
    expect(await nic(page, 0).getAttribute('data-attach')).toBe('nat');
    // The six models, each with its one line.
    const models = nic(page, 0).getByLabel('Model');
    expect(await models.locator('option').count()).toBe(6);
    await expect
      .poll(() => nic(page, 0).getByTestId('model-help').textContent())
      .toMatch(/Fastest/);
    expect(await page.getByTestId('cards-locked').count()).toBe(0);

    await page.getByTestId('add-card').click();
    await nic(page, 1).waitFor();
    expect((await nics()).length).toBe(2);
    const firstMac = (await nics())[0]?.config.mac;
    const secondMac = (await nics())[1]?.config.mac;
    expect(secondMac).toMatch(/^52:54:00:/);
    expect(secondMac).not.toBe(firstMac);

    // Generate gives a new address; Revert puts the saved one back.
    const mac = nic(page, 1).getByLabel('MAC address');
    await nic(page, 1).getByTestId('generate-mac').click();
    await expect.poll(() => mac.inputValue()).not.toBe(secondMac);
    expect(await mac.inputValue()).toMatch(/^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    await nic(page, 1).getByRole('button', { name: 'Revert' }).click();
    await expect.poll(() => mac.inputValue()).toBe(secondMac);

    // A bad MAC is refused inline, before anything is sent.
    await mac.fill('53:54:00:12:34:56');
    await nic(page, 1)
      .getByText(/multicast/)
      .waitFor();
    expect(await nic(page, 1).getByTestId('save-card').isDisabled()).toBe(true);
    await nic(page, 1).getByRole('button', { name: 'Revert' }).click();

    await nic(page, 1).getByLabel('Model').selectOption('e1000');
    await expect
      .poll(() => nic(page, 1).getByTestId('model-help').textContent())
      .toMatch(/without extra drivers/);
    await nic(page, 1).getByTestId('save-card').click();
    await expect.poll(async () => (await nics())[1]?.config.model).toBe('e1000');
    await nic(page, 1).getByTestId('save-card').waitFor({ state: 'detached' });
    await e2e.shot('networks-tab-off-light.png');
  });

  it('the Networks page creates a network with a free subnet filled in', async () => {
    await page.getByTestId('network-tab').getByRole('button', { name: 'Private networks' }).click();
    await page.getByTestId('networks-view').waitFor();
    expect(page.url()).toContain('#/networks');
    await page.getByTestId('no-networks').waitFor();
    await page.getByTestId('new-network').click();
    const form = page.getByTestId('network-form');
    await form.waitFor();
    expect(await form.getByRole('textbox', { name: 'Subnet' }).inputValue()).toBe('10.13.1.0/24');
    // A name the rules refuse is shown before anything is sent.
    await form.getByRole('textbox', { name: 'Name' }).fill('my lab');
    await page.getByTestId('network-submit').click();
    await form.getByText(/no spaces/).waitFor();
    await form.getByRole('textbox', { name: 'Name' }).fill('lab');
    await form.getByRole('checkbox', { name: /^NAT/ }).check();
    await e2e.shot('networks-new-light.png');
    await page.getByTestId('network-submit').click();
    await form.waitFor({ state: 'detached' });
    const card = page.locator('[data-testid="network-card"][data-network="lab"]');
    await card.waitFor();
    await expect.poll(() => card.textContent()).toContain('10.13.1.0/24');
    const listed = await engine.call('network.list', {});
    expect(listed.map((n) => [n.config.name, n.config.subnet, n.config.nat])).toEqual([
      ['lab', '10.13.1.0/24', true],
    ]);
  });

  it('a card is attached to a network, one of them made from its picker', async () => {
    await page.goBack();
    await page.getByTestId('network-tab').waitFor();
    const card = nic(page, 1);
    // Bridged: the readiness check lists what is missing, each fix a root command to copy.
    await card.getByRole('radio', { name: /Bridged/ }).check();
    await card.getByRole('combobox', { name: 'Host bridge' }).fill('vivbr9');
    const check = card.getByTestId('bridge-not-ready');
    await check.waitFor();
    const expected = await engine.call('network.bridgeCheck', { bridge: 'vivbr9' });
    expect(expected.ok).toBe(false);
    for (const p of expected.problems) expect(await check.textContent()).toContain(p.what);
    expect(await check.getByTestId('copy-command').count()).toBe(expected.commands.length);
    await cardShot(card, 'networks-card-bridge-light.png');
    await check.getByTestId('bridge-check-again').click();
    await check.waitFor();

    await card.getByRole('radio', { name: /Private network/ }).check();
    const select = card.getByTestId('network-select');
    await expect.poll(() => select.inputValue()).toBe('lab');

    // "Create network…" opens the form there; the new network is chosen at once.
    await select.selectOption({ label: 'Create network…' });
    const form = page.getByTestId('network-form');
    await form.waitFor();
    expect(await form.getByRole('textbox', { name: 'Subnet' }).inputValue()).toBe('10.13.2.0/24');
    await form.getByRole('textbox', { name: 'Name' }).fill('dmz');
    await page.getByTestId('network-submit').click();
    await form.waitFor({ state: 'detached' });
    await expect.poll(() => select.inputValue()).toBe('dmz');
    expect((await engine.call('network.list', {})).map((n) => n.config.name).sort()).toEqual([
      'dmz',
      'lab',
    ]);

    await select.selectOption('lab');
    await card.getByTestId('save-card').click();
    await expect
      .poll(async () => (await nics())[1]?.config.attach)
      .toEqual({ kind: 'network', network: 'lab' });
    await expect.poll(() => card.getAttribute('data-attach')).toBe('network');
    await e2e.shot('networks-tab-attached-light.png');

    // The second VM joins the same network: its only card moves from NAT to "lab".
    await page.goto(`${e2e.server.url}#/vm/${encodeURIComponent(peerId)}/network`);
    const peerCard = nic(page, 0);
    await peerCard.waitFor();
    await peerCard.getByRole('radio', { name: /Private network/ }).check();
    await peerCard.getByTestId('network-select').selectOption('lab');
    await peerCard.getByTestId('save-card').click();
    await expect
      .poll(async () => (await engine.call('nic.list', { vm: peerId }))[0]?.config.attach)
      .toEqual({ kind: 'network', network: 'lab' });
    await page.goto(`${e2e.server.url}#/vm/${encodeURIComponent(vmId)}/network`);
    await nic(page, 1).waitFor();
  });

  it(
    'while the VM runs, cards lock with the reason and a forward is added live',
    async () => {
      await page.locator('.vm-topbar').getByRole('button', { name: 'Start', exact: true }).click();
      await headerState(page, 'running', BOOT_TIMEOUT);
      await waitFor(
        async () =>
          (await engine.call('vm.log', { vm: vmId, kind: 'serial' })).text.includes(guest.banner),
        'the guest banner on serial',
        BOOT_TIMEOUT,
      );
      const locked = page.getByTestId('cards-locked');
      await locked.waitFor();
      expect(await locked.textContent()).toMatch(/Shut the VM down/);
      expect(await nic(page, 0).getByLabel('Model').isDisabled()).toBe(true);
      expect(await page.getByTestId('add-card').isDisabled()).toBe(true);

      const port = await freePort();
      const fwd = page.getByTestId('forwards-0');
      const add = fwd.getByTestId('forward-add-row');
      expect(await add.getByLabel('Host address').inputValue()).toBe('127.0.0.1');
      await add.getByLabel('Host port').fill(String(port));
      await add.getByLabel('Guest port').fill('80');
      await fwd.getByTestId('forward-add').click();
      const row = fwd.locator(`[data-testid="forward-row"][data-spec="tcp:127.0.0.1:${port}:80"]`);
      await row.waitFor();
      await row.getByTestId('forward-live').waitFor();
      const listed = await engine.call('forward.list', { vm: vmId });
      expect(listed.find((f) => f.hostPort === port)?.live).toBe(true);
      // Through it, the guest's own web server answers, naming the card's MAC.
      const mac = (await nics())[0]?.config.mac ?? '';
      let body = '';
      await waitFor(
        async () => {
          body = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) })
            .then((r) => r.text())
            .catch(() => '');
          return body.includes('VIVARIUM-GUEST-HTTP');
        },
        'the guest page through the forward',
        BOOT_TIMEOUT,
      );
      expect(body).toContain(mac);

      // A host port something else listens on: the engine's message, inline, nothing added.
      busyPort = await listenSomewhere();
      const taken = (busyPort.address() as { port: number }).port;
      await add.getByLabel('Host port').fill(String(taken));
      await add.getByLabel('Guest port').fill('81');
      await fwd.getByTestId('forward-add').click();
      const error = fwd.getByTestId('forward-error');
      await error.waitFor();
      expect(await error.textContent()).toContain(String(taken));
      expect(
        (await engine.call('forward.list', { vm: vmId })).map((f) => f.hostPort),
      ).not.toContain(taken);
      await e2e.shot('networks-forward-error-light.png');

      // Forward SSH: a free port from 2222 and the command to type.
      await fwd.getByTestId('forward-ssh').click();
      const ssh = fwd.getByTestId('ssh-command');
      await ssh.waitFor();
      const command = (await ssh.locator('code').textContent()) ?? '';
      expect(command).toMatch(/^ssh -p \d+ user@127\.0\.0\.1$/);
      const sshPort = Number(/-p (\d+)/.exec(command)?.[1]);
      expect(sshPort).toBeGreaterThanOrEqual(2222);
      await ssh.getByRole('button', { name: /Copy/ }).waitFor();
      await fwd
        .locator(`[data-testid="forward-row"][data-spec="tcp:127.0.0.1:${sshPort}:22"]`)
        .getByTestId('forward-live')
        .waitFor();
      await e2e.shot('networks-tab-running-light.png');
      // The page scrolls inside the app: each card whole, as a person scrolls to it.
      await cardShot(nic(page, 0), 'networks-card1-running-light.png');
      await cardShot(nic(page, 1), 'networks-card2-running-light.png');

      // Removed live too.
      await row.getByRole('button', { name: /Remove forward/ }).click();
      await row.waitFor({ state: 'detached' });
      expect(
        (await engine.call('forward.list', { vm: vmId })).map((f) => f.hostPort),
      ).not.toContain(port);
    },
    BOOT_TIMEOUT + 60_000,
  );

  it('the Networks page shows the running member and refuses to delete its network', async () => {
    // Esc: the library, whose header leads there.
    await page.keyboard.press('Escape');
    await page.locator('.app-header').getByRole('button', { name: 'Networks' }).click();
    const card = page.locator('[data-testid="network-card"][data-network="lab"]');
    await card.waitFor();
    const member = card.locator(`[data-testid="network-member"][data-vm="${VM_NAME}"]`);
    await member.waitFor({ timeout: 30_000 });
    await expect.poll(() => member.textContent(), { timeout: 30_000 }).toContain('Running');
    await expect.poll(() => card.textContent()).toContain('Card 2');
    // Both VMs are on it: the running one and the peer, shut down.
    const peer = card.locator(`[data-testid="network-member"][data-vm="${PEER_NAME}"]`);
    await peer.waitFor();
    expect(await peer.textContent()).not.toContain('Running');
    await card.getByTestId('network-forwards').waitFor();
    await e2e.shot('networks-page-light.png');

    await card.getByTestId('delete-network').click();
    await page.getByTestId('delete-network-confirm').click();
    const refusal = page.getByTestId('delete-refusal');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain(VM_NAME);
    await e2e.shot('networks-delete-refused-light.png');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await engine.call('network.list', {})).map((n) => n.config.name)).toContain('lab');

    // The unused one goes.
    const dmz = page.locator('[data-testid="network-card"][data-network="dmz"]');
    await dmz.getByTestId('delete-network').click();
    await page.getByTestId('delete-network-confirm').click();
    await dmz.waitFor({ state: 'detached' });
  });

  it('dark: the Network tab and the Networks page', async () => {
    const dark = await e2e.openPage(
      'dark',
      `${e2e.server.url}#/vm/${encodeURIComponent(vmId)}/network`,
    );
    e2e.defer(() => dark.context.close());
    await dark.page.getByTestId('network-tab').waitFor();
    await dark.page.getByTestId('forwards-0').getByTestId('forward-row').first().waitFor();
    await e2e.shot('networks-tab-running-dark.png', { page: dark.page });
    // The Overview lists the cards in a line each and leads to the tab.
    await dark.page.getByRole('tab', { name: 'Overview', exact: true }).click();
    await dark.page.getByTestId('overview-nic-1').waitFor();
    expect(await dark.page.getByTestId('overview-nic-1').textContent()).toContain('“lab”');
    await e2e.shot('networks-overview-dark.png', { page: dark.page });
    await dark.page.goto(`${e2e.server.url}#/networks`);
    await dark.page.locator('[data-testid="network-card"][data-network="lab"]').waitFor();
    await e2e.shot('networks-page-dark.png', { page: dark.page });
    expect(e2e.problems).toEqual([]);
  });
});
