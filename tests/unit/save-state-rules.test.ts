/**
 * The pure parts of suspend to disk: what may change while saved, the blockers in the user's
 * words, the hash that tells a changed VM from the one that was saved, and the app settings file.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VmConfigSchema } from '../../common/contract';
import {
  canChangeWhileSaved,
  fieldsNeedingDiscard,
  savedRefusalMessage,
  savedToChangeMessage,
} from '../../common/rules/vm-settings';
import { isLive, isOff, isSaved, isTransitional } from '../../common/vm-state';
import { describeBlocker } from '../../electron/engine/migration/blockers';
import { hardwareHash } from '../../electron/engine/savestate/state-file';
import { AppSettingsStore } from '../../electron/engine/settings/app-settings';
import { tempHome } from '../helpers/fixtures';

describe('the saved state', () => {
  it('has no QEMU, is neither off nor in transit, and only name and notes change', () => {
    expect(isSaved('saved')).toBe(true);
    expect(isLive('saved')).toBe(false);
    expect(isOff('saved')).toBe(false);
    expect(isTransitional('saved')).toBe(false);
    expect(isOff('stopped') && isOff('crashed')).toBe(true);
    expect(canChangeWhileSaved('name') && canChangeWhileSaved('notes')).toBe(true);
    expect(fieldsNeedingDiscard(['name', 'memoryMiB', 'notes', 'cdrom'])).toEqual([
      'memoryMiB',
      'cdrom',
    ]);
    expect(savedToChangeMessage(['memoryMiB'])).toMatch(
      /saved to disk, so memoryMiB cannot change.*discard its saved state \(vivarium discard-state\)/,
    );
    expect(savedRefusalMessage('clone')).toMatch(/cannot clone it now.*Start it/);
  });
});

describe('migration blockers in the user words', () => {
  it('names the clipboard channel and the shared folder, and says what to do', () => {
    expect(describeBlocker("The vdagent chardev doesn't yet support migration")).toMatch(
      /^Clipboard sharing \(the qemu-vdagent channel\) cannot be saved by QEMU 7\.2, so Vivarium cannot save it to disk while it is there: turn clipboard sharing off in the Hardware tab/,
    );
    expect(
      describeBlocker("The vdagent chardev doesn't yet support migration", 'migrate', {
        virtiofsTags: [],
        clipboard: false,
      }),
    ).toMatch(
      /^A qemu-vdagent chardev \(clipboard\) in the VM’s extra QEMU arguments .*cannot migrate it while it is there: remove the qemu-vdagent chardev/,
    );
    expect(
      describeBlocker(
        "Migration is disabled when VirtFS export path '/srv/share' is mounted in the guest using mount_tag 'share'",
        'migrate',
      ),
    ).toBe(
      "The shared folder 'share' is mounted in the guest: unmount it (umount /mnt/share) or shut the VM down to migrate it.",
    );
    expect(
      describeBlocker('non-migratable device: 0000:00:03.0/vhost-user-fs', 'snapshot', {
        virtiofsTags: ['code'],
        clipboard: false,
      }),
    ).toBe(
      "The shared folder 'code' uses virtiofs, whose state QEMU 7.2 cannot save: shut the VM down to take a snapshot, or share the folder over 9p instead.",
    );
    expect(describeBlocker('Something new.')).toBe(
      'QEMU cannot save or migrate this VM: Something new. Remove what it names from the VM, restart the VM, then try again.',
    );
  });
});

describe('the hardware hash', () => {
  const config = (patch: Record<string, unknown> = {}) =>
    VmConfigSchema.parse({
      configVersion: 3,
      id: 'a1b2c3d4e5f6',
      name: 'dev',
      createdAt: '2026-01-01T00:00:00Z',
      memoryMiB: 512,
      nics: [
        {
          mac: '52:54:00:12:34:56',
          attach: {
            kind: 'nat',
            forwards: [
              { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2225, guestPort: 22 },
            ],
          },
        },
      ],
      ...patch,
    });

  it('ignores the name, the notes and port forwards; sees memory and cards', () => {
    const base = hardwareHash(config());
    expect(hardwareHash(config({ name: 'other', notes: 'hello' }))).toBe(base);
    const moved = config();
    const nic = moved.nics[0];
    if (nic?.attach.kind === 'nat') nic.attach.forwards = [];
    expect(hardwareHash(moved)).toBe(base);
    expect(hardwareHash(config({ memoryMiB: 1024 }))).not.toBe(base);
    expect(hardwareHash(config({ nics: [] }))).not.toBe(base);
  });
});

describe('app settings', () => {
  let home: Awaited<ReturnType<typeof tempHome>> | undefined;
  afterEach(async () => home?.remove());

  it('defaults to keep, keeps what is set, and reads a damaged file as the defaults', async () => {
    home = await tempHome('viv-settings-');
    const file = join(home.dir, 'settings.json');
    const store = new AppSettingsStore(file);
    expect(await store.get()).toEqual({ onQuit: 'keep' });
    expect(await store.update({ onQuit: 'suspend' })).toEqual({ onQuit: 'suspend' });
    expect(await new AppSettingsStore(file).get()).toEqual({ onQuit: 'suspend' });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ onQuit: 'suspend' });
    await writeFile(file, '{"onQuit": "hibernate"');
    expect(await store.get()).toEqual({ onQuit: 'keep' });
    await writeFile(file, '{"onQuit": "hibernate"}');
    expect(await store.get()).toEqual({ onQuit: 'keep' });
    expect(() => store.update({ onQuit: 'hibernate' as 'keep' })).toThrow();
  });
});

describe('the hardware hash and shares', () => {
  it('is the same for a config saved before shares, USB, cache modes and device layouts existed, and sees them', () => {
    const base = VmConfigSchema.parse({
      configVersion: 3,
      id: 'a1b2c3d4e5f6',
      name: 'dev',
      createdAt: '2026-01-01T00:00:00Z',
      memoryMiB: 512,
      disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'virtio' }],
      layout: 1,
    });
    const {
      name: _n,
      notes: _o,
      shares: _s,
      clipboard: _c,
      usb: _u,
      layout: _l,
      confirmDestructive: _d,
      balloon: _b,
      ...old
    } = base;
    const oldDisks = base.disks.map(({ cache: _cache, port: _port, ...d }) => d);
    // The hash of the same VM as an older version (without those fields) computed it.
    const oldHash = createHash('sha256')
      .update(JSON.stringify({ ...old, configVersion: 2, disks: oldDisks }))
      .digest('hex');
    expect(hardwareHash(base)).toBe(oldHash);
    expect(hardwareHash({ ...base, name: 'renamed', confirmDestructive: false })).toBe(oldHash);
    expect(hardwareHash({ ...base, layout: 2 })).not.toBe(oldHash);
    expect(
      hardwareHash({ ...base, disks: base.disks.map((d) => ({ ...d, cache: 'none' as const })) }),
    ).not.toBe(oldHash);
    expect(hardwareHash({ ...base, clipboard: true })).not.toBe(oldHash);
    expect(
      hardwareHash({ ...base, shares: [{ tag: 'a', path: '/a', readOnly: false, mode: '9p' }] }),
    ).not.toBe(oldHash);
  });
});
