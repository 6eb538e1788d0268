/**
 * The CD and USB devices of a running guest on real QEMU (TCG) with the fixture guest: a disc
 * changed live is what the guest reads next; a USB drive made from an image file appears in the
 * guest and goes away again, through QMP device_add/device_del. This machine has no USB bus at
 * all (/sys/bus/usb is absent), so the USB path is proven with QEMU's emulated usb-storage, and
 * usb-host with a sysfs tree the test writes (QEMU itself says the device cannot be found).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import type { VmSummary } from '../../common/contract';
import { savedRefusalMessage } from '../../common/rules/vm-settings';
import { GuestConsole } from '../helpers/guest-console';
import { errorOf, guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;
let vm: VmSummary;
let con: GuestConsole;
let isoA: string;
let isoB: string;
let stick: string;

/** Two small ISOs holding different files, as a user would burn them. */
function makeIso(dir: string, name: string, text: string): string {
  const src = join(dir, `${name}-src`);
  execFileSync('mkdir', ['-p', src]);
  execFileSync('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', text, join(src, 'hello.txt')]);
  const iso = join(dir, `${name}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', name, '-o', iso, src], {
    stdio: 'ignore',
  });
  return iso;
}

async function cdromOf(id: string): Promise<string | null> {
  return (await engine.call('vm.get', { vm: id })).config.cdrom;
}

async function boot(): Promise<GuestConsole> {
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
  return GuestConsole.open(engine, vm.id);
}

/** What the guest reads from the disc in its drive now, or NOMEDIUM. */
async function readDisc(): Promise<string> {
  const m = await con.run(
    // The marker is split in the command so the console's echo of it never matches.
    'mkdir -p /mnt; mount -t iso9660 -o ro /dev/sr0 /mnt 2>/dev/null && echo "DI""SC[$(cat /mnt/hello.txt)]" || echo "DI""SC[NOMEDIUM]"',
    /DISC\[([^\]]*)\]/,
  );
  return m[1]!;
}

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-media-');
  // A host bus with one device whose node is absent, as sysfs would show it in a container.
  const sysfs = join(home.dir, 'sysfs');
  await mkdir(join(sysfs, '1-4'), { recursive: true });
  for (const [file, value] of Object.entries({
    idVendor: '1234',
    idProduct: '5678',
    busnum: '1',
    devnum: '99',
    manufacturer: 'Test',
    product: 'Gadget',
    speed: '480',
  })) {
    await writeFile(join(sysfs, '1-4', file), `${value}\n`);
  }
  engine = await openEngine({ home: join(home.dir, 'home'), role: 'owner', usbSysfs: sysfs });
  isoA = makeIso(home.dir, 'DISC_A', 'hello from disc A');
  isoB = makeIso(home.dir, 'DISC_B', 'hello from disc B');
  stick = join(home.dir, 'stick.img');
  execFileSync('truncate', ['-s', '8M', stick]);
  execFileSync('sh', [
    '-c',
    `printf 'USB-STICK-MARK' | dd of="$1" conv=notrunc 2>/dev/null`,
    'sh',
    stick,
  ]);
  vm = await engine.call('vm.create', {
    name: 'media',
    kernel: guest.kernel,
    initrd: guest.initrd,
    append: guest.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '64M',
  });
}, 60_000);

afterAll(async () => {
  // Whatever beforeAll got to: each step may not have happened.
  const opened = engine as Engine | undefined;
  (con as GuestConsole | undefined)?.close();
  if (opened) {
    await opened.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
    await opened.close();
  }
  await (home as typeof home | undefined)?.remove();
});

describe('the CD of a VM', () => {
  it('takes a disc while stopped: the config alone changes', async () => {
    const r = await engine.call('cdrom.insert', { vm: vm.id, file: isoA });
    expect(r).toMatchObject({ medium: isoA, applied: 'config', drive: true });
    expect(await cdromOf(vm.id)).toBe(isoA);
  });

  it('is read by the guest, changed live, and the guest reads the new disc', async () => {
    con = await boot();
    expect(await readDisc()).toBe('hello from disc A');
    await con.run('umount /mnt; echo UMOUNTED', /UMOUNTED/);
    const r = await engine.call('cdrom.insert', { vm: vm.id, file: isoB });
    // Linux keeps the tray locked after an umount: the change is forced, and the note says so.
    expect(r).toMatchObject({ medium: isoB, applied: 'live' });
    expect(await cdromOf(vm.id)).toBe(isoB);
    expect(await readDisc()).toBe('hello from disc B');
  }, 120_000);

  it('ejects a disc the guest has mounted (forced, and says so), then takes another', async () => {
    const r = await engine.call('cdrom.eject', { vm: vm.id });
    expect(r.medium).toBeNull();
    expect(r.applied).toBe('live');
    expect(r.note).toMatch(/locked the drive/);
    expect(await cdromOf(vm.id)).toBeNull();
    await con.run('umount /mnt 2>/dev/null; echo UMOUNTED', /UMOUNTED/);
    expect(await readDisc()).toBe('NOMEDIUM');
    await engine.call('cdrom.insert', { vm: vm.id, file: isoA });
    // The guest notices a disc in a drive it saw open on its next media poll.
    await waitFor(
      async () => (await readDisc()) === 'hello from disc A',
      'the guest to read disc A',
      30_000,
    );
    await con.run('umount /mnt; echo UMOUNTED', /UMOUNTED/);
  }, 120_000);

  it('refuses a wrong path or a file that is no CD image, and nothing changes', async () => {
    const missing = await errorOf(
      engine.call('cdrom.insert', { vm: vm.id, file: join(home.dir, 'nope.iso') }),
    );
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toMatch(/does not exist/);
    const notIso = await errorOf(engine.call('cdrom.insert', { vm: vm.id, file: stick }));
    expect(notIso.code).toBe('INVALID_REQUEST');
    expect(notIso.message).toMatch(/not a CD image/);
    expect(await cdromOf(vm.id)).toBe(isoA);
    expect(await readDisc()).toBe('hello from disc A');
    await con.run('umount /mnt; echo UMOUNTED', /UMOUNTED/);
  }, 60_000);
});

describe('USB devices of a running VM', () => {
  /** The USB products the guest's kernel lists now. */
  async function guestUsbProducts(): Promise<string> {
    const m = await con.run(
      'echo "US""B[$(cat /sys/bus/usb/devices/*/product 2>/dev/null | tr "\\n" ";")]"',
      /USB\[([^\]]*)\]/,
    );
    return m[1]!;
  }

  it('attaches a USB drive made from an image file; the guest sees it and reads it', async () => {
    const r = await engine.call('usb.attach', {
      vm: vm.id,
      device: { kind: 'drive', file: stick },
    });
    expect(r.applied).toBe('live');
    expect(r.attached).toMatchObject({
      config: { kind: 'drive', id: 'usb1', file: stick, format: 'raw', readOnly: false },
      live: true,
    });
    await waitFor(
      async () => (await guestUsbProducts()).includes('QEMU USB HARDDRIVE'),
      'the USB drive in the guest',
      30_000,
    );
    const mark = await waitFor(
      async () =>
        (await con.run('echo "SD""A[$(head -c 14 /dev/sda 2>/dev/null)]"', /SDA\[([^\]]*)\]/))[1],
      'the guest to read /dev/sda',
      30_000,
    );
    expect(mark).toBe('USB-STICK-MARK');
    const list = await engine.call('usb.list', { vm: vm.id });
    expect(list.map((a) => [a.config.id, a.live])).toEqual([['usb1', true]]);
  }, 90_000);

  it('detaches it (device_del, DEVICE_DELETED): it leaves the guest and the config', async () => {
    const r = await engine.call('usb.detach', { vm: vm.id, device: stick });
    expect(r).toMatchObject({ applied: 'live', detached: { config: { id: 'usb1' } } });
    await waitFor(
      async () => !(await guestUsbProducts()).includes('QEMU USB HARDDRIVE'),
      'the USB drive to leave the guest',
      30_000,
    );
    expect((await engine.call('vm.get', { vm: vm.id })).config.usb).toEqual([]);
  }, 60_000);

  it('turns QEMU refusing a host device into what to do, and keeps nothing', async () => {
    const e = await errorOf(
      engine.call('usb.attach', { vm: vm.id, device: { kind: 'host', device: '1234:5678' } }),
    );
    expect(e.code).toBe('NOT_FOUND');
    // QEMU's own words, and the way out.
    expect(e.message).toMatch(/failed to find host usb device 1:99/);
    expect(e.message).toMatch(/Plug it in again/);
    expect((await engine.call('vm.get', { vm: vm.id })).config.usb).toEqual([]);
    const unknown = await errorOf(
      engine.call('usb.attach', { vm: vm.id, device: { kind: 'host', device: 'dead:beef' } }),
    );
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toMatch(/No USB device dead:beef is plugged into this computer/);
  }, 30_000);

  it('keeps what was attached for the next start', async () => {
    await engine.call('usb.attach', {
      vm: vm.id,
      device: { kind: 'drive', file: stick, readOnly: true },
    });
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });
    const stopped = await engine.call('vm.get', { vm: vm.id });
    expect(stopped.config.usb).toMatchObject([{ kind: 'drive', file: stick, readOnly: true }]);
    expect(stopped.config.cdrom).toBe(isoA);
    con = await boot();
    // The guest enumerates USB on its own time after its banner.
    await waitFor(
      async () => (await guestUsbProducts()).includes('QEMU USB HARDDRIVE'),
      'the USB drive in the restarted guest',
      30_000,
    );
    expect(await readDisc()).toBe('hello from disc A');
    // Detached while stopped: the config alone.
    await con.run('umount /mnt; echo UMOUNTED', /UMOUNTED/);
    con.close();
    await engine.call('vm.powerOff', { vm: vm.id });
    const r = await engine.call('usb.detach', { vm: vm.id, device: 'usb1' });
    expect(r.applied).toBe('config');
    expect((await engine.call('vm.get', { vm: vm.id })).config.usb).toEqual([]);
  }, 180_000);
});

describe('a VM saved to disk', () => {
  it('refuses CD and USB changes (its saved state holds the devices), and resumes with them', async () => {
    await engine.call('usb.attach', { vm: vm.id, device: { kind: 'drive', file: stick } });
    con = await boot();
    const task = await engine.call('vm.suspend', { vm: vm.id });
    await engine.tasks.wait(task.id);
    con.close();
    expect((await engine.call('vm.get', { vm: vm.id })).runtime.state).toBe('saved');
    const cd = await errorOf(engine.call('cdrom.eject', { vm: vm.id }));
    expect(cd.code).toBe('BAD_STATE');
    expect(cd.message).toBe(savedRefusalMessage('media'));
    const usb = await errorOf(engine.call('usb.detach', { vm: vm.id, device: 'usb1' }));
    expect(usb.message).toBe(savedRefusalMessage('media'));
    await engine.call('vm.start', { vm: vm.id });
    con = await GuestConsole.open(engine, vm.id);
    expect(await readDisc()).toBe('hello from disc A');
    // usb-storage waits a second before its SCSI scan: it may have been saved half way.
    await waitFor(
      async () =>
        (
          await con.run('echo "SD""A[$(head -c 14 /dev/sda 2>/dev/null)]"', /SDA\[([^\]]*)\]/)
        )[1] === 'USB-STICK-MARK',
      'the resumed guest to read its USB drive',
      30_000,
    );
  }, 180_000);
});

describe('the host’s USB devices', () => {
  it('lists what sysfs shows, with access and the udev fix', async () => {
    const list = await engine.call('usb.host', {});
    expect(list.devices).toHaveLength(1);
    expect(list.devices[0]).toMatchObject({
      place: '1-4',
      vendorId: '1234',
      productId: '5678',
      path: '/dev/bus/usb/001/099',
      access: 'missing',
      label: 'Test Gadget (1234:5678)',
    });
    expect(list.devices[0]!.fix?.rule).toContain('ATTR{idVendor}=="1234"');
  });

  it('says this computer shows no USB devices when it has no USB bus', async () => {
    const other = await tempHome('viv-nousb-');
    const plain = await openEngine({
      home: other.dir,
      role: 'oneshot',
      usbSysfs: join(other.dir, 'no-such-sysfs'),
    });
    try {
      const list = await plain.call('usb.host', {});
      expect(list.devices).toEqual([]);
      expect(list.message).toMatch(/shows no USB devices/);
    } finally {
      await plain.close();
      await other.remove();
    }
  });
});
