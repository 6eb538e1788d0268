/**
 * The fixture guest drives every NIC model Vivarium offers, and each one carries traffic: raw
 * QEMU (no Vivarium code) boots the guest on user networking with the model under test, the
 * kernel command line has it take a DHCP lease and serve a page (viv.net=dhcp viv.httpd=80), and
 * the page, fetched through a host forward on 127.0.0.1, names the guest's MAC and the driver the
 * guest bound. Two guests at a time: under TCG each boot takes a core.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';

const HAVE_QEMU = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

/** QEMU's NIC model -> the guest kernel's driver for it (as /sys names it). */
const MODELS = [
  { model: 'virtio-net-pci', driver: 'virtio_net' },
  { model: 'e1000', driver: 'e1000' },
  { model: 'e1000e', driver: 'e1000e' },
  // QEMU's rtl8139 is a C+ chip: 8139cp drives it, 8139too declines it.
  { model: 'rtl8139', driver: '8139cp' },
  { model: 'ne2k_pci', driver: 'ne2k-pci' },
  { model: 'pcnet', driver: 'pcnet32' },
];

const MAX_GUESTS = 2;

let home: Awaited<ReturnType<typeof tempHome>> | undefined;
const running = new Set<ChildProcess>();

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-nics-');
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await home?.remove();
});

/** At most MAX_GUESTS boots at once; the others wait their turn. */
let slots = MAX_GUESTS;
const queue: Array<() => void> = [];
async function withSlot<T>(run: () => Promise<T>): Promise<T> {
  if (slots > 0) slots--;
  else await new Promise<void>((resolve) => queue.push(resolve));
  try {
    return await run();
  } finally {
    const next = queue.shift();
    if (next) next();
    else slots++;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function fetchPage(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

describe.skipIf(!HAVE_QEMU)('the test guest on every NIC model', () => {
  it.concurrent.each(
    MODELS.map((m, i) => ({ ...m, mac: `52:54:00:4e:49:${(0x10 + i).toString(16)}` })),
  )(
    '$model: DHCP lease, then its page over a host forward, from driver $driver',
    ({ model, driver, mac }) =>
      withSlot(async () => {
        const serial = join(home!.dir, `${model}.serial.log`);
        const port = await freePort();
        const child = spawn(
          'qemu-system-x86_64',
          [
            '-accel',
            'tcg',
            '-m',
            '256',
            '-nodefaults',
            '-display',
            'none',
            '-no-reboot',
            '-kernel',
            guest.kernel,
            '-initrd',
            guest.initrd,
            '-append',
            `${guest.append} viv.net=dhcp viv.httpd=80`,
            '-serial',
            `file:${serial}`,
            '-netdev',
            `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:80`,
            '-device',
            `${model},netdev=n0,mac=${mac}`,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        running.add(child);
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        try {
          const log = await Promise.race([
            waitForText(serial, guest.banner, 120_000),
            exited.then(() => {
              throw new Error(`QEMU (${model}) exited early: ${stderr}`);
            }),
          ]);
          // Slirp's DHCP server hands out 10.0.2.15/24; the line comes before READY.
          expect(log).toContain('NET-UP eth0 10.0.2.15/24');
          expect(log).toContain('HTTPD-UP 80');
          const page = await waitFor(
            () => fetchPage(port),
            `the page of the ${model} guest`,
            15_000,
          );
          expect(page.split('\n')).toEqual([
            `VIVARIUM-GUEST-HTTP ${mac} vivarium-guest`,
            `NIC eth0 ${mac} ${driver}`,
            '',
          ]);
        } finally {
          child.kill('SIGKILL');
          await exited;
          running.delete(child);
        }
      }),
    240_000,
  );
});
