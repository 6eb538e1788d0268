/**
 * "Ready to use" in a real Chromium against server mode on the real engine: a test catalogue
 * entry whose cloud image is the Debian test image the fixtures build (tests/helpers/
 * debian-image.ts), served with a SHA256SUMS list by a loopback HTTP server. The wizard offers
 * "Ready to use" for it; the Guest account step is prefilled from this host (a key made here with
 * ssh-keygen sits in ~/.ssh, ticked); Create and start downloads and verifies the image, creates
 * the VM from it and starts it; under TCG, Debian boots and cloud-init applies the seed, and the
 * Overview shows "Ready in N s" with `ssh -p PORT dev@127.0.0.1`, which its Copy button puts on
 * the clipboard and which logs in with the key.
 * Screenshots land in tests/artifacts/cloud-wizard-*.png.
 *
 * Needs `npm run build` (out/renderer), the Debian test image and ssh-keygen; skips with the
 * reason printed otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import type { RunningServer } from '../../electron/server';
import { catalogEntry } from '../helpers/catalog-entry';
import { debianImagePath } from '../helpers/debian-image';
import { browserSkipReason, startE2e, type E2e } from '../helpers/e2e';
import { waitFor } from '../helpers/fixtures';
import { startMediaServer, type MediaRequest, type MediaServer } from '../helpers/media-server';

const OS_ID = 'vivarium-e2e-debian';
const OS_NAME = 'Vivarium Test Debian';
const VERSION_NAME = 'Vivarium Test Debian 13';
const IMAGE_FILE = 'vivarium-test-debian.img';
const VM_NAME = 'debian-e2e';
const USER = 'dev';
const KEY_COMMENT = 'dev@vivarium-e2e';
/** TCG boot of a real Debian with cloud-init applying its seed, on a shared 2-core machine. */
const READY_TIMEOUT = 240_000;

/**
 * The test guest must never reach the internet: new VMs get QEMU's `-netdev user,restrict=on`
 * with this set (the SSH forward still works); the test checks QEMU's command line for it.
 */
const RESTRICT_NETWORK_ENV = 'VIVARIUM_GUEST_INTERNET';

const image = debianImagePath();
const skipReason =
  browserSkipReason() ??
  (!existsSync(image)
    ? `the Debian test image is missing (${image}): build it with the fixtures (tests/helpers/debian-image.ts)`
    : null) ??
  (spawnSync('ssh-keygen', ['-?']).error
    ? 'ssh-keygen is missing: apt install openssh-client'
    : null);
if (skipReason) console.warn(`[e2e] skipping the cloud wizard test: ${skipReason}`);

let e2e: E2e;
let engine: Engine;
let server: RunningServer;
let context: BrowserContext;
let page: Page;
let media: MediaServer;
let base = '';
let imageSha = '';
let imageBytes = 0;
let privateKey = '';
const savedEnv = { HOME: process.env.HOME, restrict: process.env[RESTRICT_NETWORK_ENV] };

/** The image streamed (it is too big to hold in memory), and its checksum list beside it. */
function serveCloudImage({ path, res }: MediaRequest): void {
  if (path === `/cloud/${IMAGE_FILE}`) {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': imageBytes,
    });
    createReadStream(image).pipe(res);
  } else if (path === '/cloud/SHA256SUMS') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${imageSha}  ${IMAGE_FILE}\n`);
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** qcow2 images start with "QFI\xfb"; anything else is taken as raw. */
async function diskFormatOf(file: string): Promise<'qcow2' | 'raw'> {
  const fd = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await fd.read(head, 0, 4, 0);
    return head.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb])) ? 'qcow2' : 'raw';
  } finally {
    await fd.close();
  }
}

/** The image's virtual size in whole GiB (rounded up): the smallest disk a VM from it can have. */
function virtualGiB(file: string, format: 'qcow2' | 'raw'): number {
  const info = JSON.parse(
    execFileSync('qemu-img', ['info', '--output=json', '-f', format, file], { encoding: 'utf8' }),
  ) as { 'virtual-size': number };
  return Math.ceil(info['virtual-size'] / 2 ** 30);
}

function testEntry(format: 'qcow2' | 'raw', minDiskGiB: number) {
  return catalogEntry({
    id: OS_ID,
    name: OS_NAME,
    description:
      'The Debian image the tests build with debootstrap: cloud-init, OpenSSH, the agent.',
    homepage: null,
    aliases: ['vtd'],
    // The Debian cloud kernel has virtio drivers only (no e1000, no AHCI).
    profile: { nicModel: 'virtio-net-pci', diskBus: 'virtio', sound: 'none' },
    minimum: { memoryMiB: 512, cpus: 1, diskGiB: minDiskGiB },
    recommended: { memoryMiB: 1024, cpus: 1, diskGiB: minDiskGiB + 1 },
    versions: [
      {
        id: '13',
        name: VERSION_NAME,
        status: 'current',
        media: [
          {
            id: 'cloud',
            label: 'Cloud image (test build)',
            arch: 'x86_64',
            kind: 'cloud',
            diskFormat: format,
            cloudInit: 'cloud-init',
            defaultUser: 'debian',
            urls: [`${base}/cloud/{file}`],
            file: IMAGE_FILE,
            sizeBytes: imageBytes,
            checksum: { urls: ['SHA256SUMS'], algorithm: 'sha256' },
          },
        ],
        notes: [],
      },
    ],
    notes: ['Boots to a login prompt; cloud-init applies the seed on the first boot.'],
  });
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

async function shot(name: string): Promise<void> {
  await e2e.shot(name);
}

async function vmNamed(name: string): Promise<VmSummary> {
  return waitFor(
    async () => (await engine.call('vm.list', {})).find((v) => v.name === name),
    `the VM "${name}"`,
    30_000,
  );
}

/** QEMU's own command line: the user-mode network is restricted to the host. */
async function expectNoInternet(pid: number): Promise<void> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  const netdev = argv.filter((_, i) => argv[i - 1] === '-netdev');
  expect(netdev.length).toBeGreaterThan(0);
  for (const n of netdev) expect(n).toMatch(/restrict=on|"restrict":\s*(true|"on")/);
}

describe.skipIf(skipReason !== null)(
  '"Ready to use" from a cloud image (server mode, Chromium)',
  () => {
    beforeAll(async () => {
      e2e = await startE2e({
        prefix: 'vivarium-e2e-cloud-',
        engine: async (tmpHome, defer) => {
          // The host's ~/.ssh as the engine sees it: one key, made here.
          const userHome = join(tmpHome, 'user');
          await mkdir(join(userHome, '.ssh'), { recursive: true, mode: 0o700 });
          privateKey = join(userHome, '.ssh', 'id_ed25519');
          execFileSync('ssh-keygen', [
            '-q',
            '-t',
            'ed25519',
            '-N',
            '',
            '-C',
            KEY_COMMENT,
            '-f',
            privateKey,
          ]);
          process.env.HOME = userHome;
          process.env[RESTRICT_NETWORK_ENV] = '0';

          imageBytes = (await stat(image)).size;
          imageSha = await sha256Of(image);
          const format = await diskFormatOf(image);
          media = await startMediaServer(serveCloudImage);
          defer(() => media.close());
          base = media.base;
          const extra = join(tmpHome, 'e2e-catalog.json');
          await writeFile(extra, JSON.stringify([testEntry(format, virtualGiB(image, format))]));
          return { home: join(tmpHome, 'data'), catalog: { extraFiles: [extra] } };
        },
        view: { width: 1366, height: 860 },
        page: { colorScheme: 'light', waitForText: 'No virtual machines yet' },
        fullPage: false,
      });
      ({ engine, server, context, page } = e2e);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
        origin: new URL(server.url).origin,
      });
    }, 180_000);

    afterAll(async () => {
      // Unset when beforeAll failed: startE2e has undone its part then.
      await (e2e as E2e | undefined)?.close();
      for (const [name, value] of [
        ['HOME', savedEnv.HOME],
        [RESTRICT_NETWORK_ENV, savedEnv.restrict],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it(
      'goes from the catalogue entry to "Ready in N s" and an ssh command that logs in',
      async () => {
        await page.getByRole('button', { name: 'New VM' }).first().click();
        await wizard().waitFor();
        await atStep('os');
        await wizard().getByLabel('Search operating systems').fill('test debian');
        const card = wizard().locator(`.os-card[data-os-id="${OS_ID}"]`);
        await card.waitFor();
        expect(await card.textContent()).toContain('Ready to use');
        await card.click();
        await wizard()
          .getByTestId('wizard-selection')
          .getByText(OS_NAME, { exact: true })
          .waitFor();
        await shot('cloud-wizard-01-catalog.png');

        // Ready to use is the default where there is a cloud image; its account step appears.
        await next();
        await atStep('media');
        const ready = wizard().getByRole('radio', { name: /Ready to use/ });
        expect(await ready.isChecked()).toBe(true);
        expect(
          await wizard()
            .getByRole('radio', { name: /Install from ISO/ })
            .isChecked(),
        ).toBe(false);
        await wizard().getByTestId('download').getByText('Cloud image (test build)').waitFor();
        await page.getByRole('button', { name: /Guest account/ }).waitFor();
        await shot('cloud-wizard-02-setup.png');

        // The account: prefilled from this host (its key ticked), the login typed.
        await next();
        await atStep('account');
        const key = wizard().getByRole('checkbox', { name: new RegExp(KEY_COMMENT) });
        await key.waitFor();
        expect(await key.isChecked()).toBe(true);
        const user = wizard().getByLabel('User name');
        await user.fill('root');
        await wizard().locator('.field__error').getByText('"root" is a system account').waitFor();
        expect(await wizard().getByTestId('wizard-next').isDisabled()).toBe(true);
        await user.fill(USER);
        await wizard().getByText('vivarium ssh').waitFor();
        await shot('cloud-wizard-03-account.png');

        await next();
        await atStep('resources');
        await expect
          .poll(() => wizard().getByRole('spinbutton', { name: 'Memory' }).inputValue())
          .toBe('1024');
        await shot('cloud-wizard-04-resources.png');

        await next();
        await atStep('name');
        await wizard().getByLabel('Name', { exact: true }).fill(VM_NAME);
        await next();
        await atStep('summary');
        const summary = wizard().getByTestId('wizard-summary');
        await summary.getByText(USER, { exact: true }).waitFor();
        await summary.getByText(VM_NAME, { exact: true }).first().waitFor();
        await shot('cloud-wizard-05-summary.png');

        // Create and start: the download (verified against SHA256SUMS), vm.create, vm.start.
        await wizard().getByRole('button', { name: 'Create and start' }).click();
        await wizard().waitFor({ state: 'detached', timeout: 180_000 });
        const created = await vmNamed(VM_NAME);
        await page.waitForURL(new RegExp(`#/vm/${created.id}/overview$`));
        expect(media.log.some((h) => h.path === `/cloud/${IMAGE_FILE}`)).toBe(true);
        const cached = await engine.call('media.list', {});
        expect(cached.map((m) => m.sha256)).toContain(imageSha);
        expect(created.config.cdrom).toBeNull();
        expect(created.config.cloudInit).toMatchObject({ user: USER, hostname: VM_NAME });

        const card2 = page.getByTestId('guest-card');
        await card2.waitFor();
        if ((await card2.getAttribute('data-phase')) === 'booting') {
          await page
            .getByTestId('guest-booting')
            .getByText(/cloud-init/)
            .waitFor();
          await page.waitForTimeout(1500);
          await shot('cloud-wizard-06-booting.png');
        }
        const running = await waitFor(
          async () => {
            const vm = await engine.call('vm.get', { vm: created.id });
            return vm.runtime.pid !== null ? vm : null;
          },
          'QEMU to run',
          60_000,
        );
        await expectNoInternet(running.runtime.pid!);

        // Ready: the line, and the command the engine reports, in the box.
        const readyLine = page.getByTestId('guest-ready');
        await readyLine.waitFor({ timeout: READY_TIMEOUT });
        expect(await readyLine.textContent()).toMatch(/Ready in \d+( min \d+)? s/);
        const vm = await engine.call('vm.get', { vm: created.id });
        const ssh = vm.guest?.ssh;
        expect(ssh).toBeTruthy();
        expect(ssh!.command).toBe(`ssh -p ${ssh!.port} ${USER}@127.0.0.1`);
        const box = page.getByTestId('copy-command');
        expect((await box.locator('code').textContent())?.trim()).toBe(ssh!.command);
        await page.waitForTimeout(500);
        await shot('cloud-wizard-07-ready.png');

        // Copy puts it on the clipboard, and says so.
        await box.getByRole('button', { name: 'Copy ssh command' }).click();
        await box.getByRole('button', { name: 'Copied' }).waitFor();
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ssh!.command);
        await shot('cloud-wizard-08-copied.png');

        // And it works: the user's own key logs in, and the guest has the seed's host name.
        const login = spawnSync(
          'ssh',
          [
            ...['-i', privateKey, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no'],
            ...['-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=20'],
            ...['-p', String(ssh!.port), `${USER}@127.0.0.1`, 'hostname'],
          ],
          { encoding: 'utf8', timeout: 90_000 },
        );
        expect(login.stderr).not.toMatch(/Permission denied/);
        expect(login.stdout.trim()).toBe(VM_NAME);

        // The library card says so too.
        await page.goto(new URL('/', server.url).href);
        const hint = page
          .locator(`[data-testid="vm-card"][data-vm-name="${VM_NAME}"]`)
          .getByTestId('guest-hint');
        await hint.waitFor();
        expect(await hint.textContent()).toBe('Ready');
        await shot('cloud-wizard-09-library.png');
        expect(e2e.problems).toEqual([]);
      },
      READY_TIMEOUT + 420_000,
    );
  },
);
