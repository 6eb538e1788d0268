/**
 * A catalogue profile's notes never contradict its hardware: the hardware note is derived from
 * the profile, and no hand-written note claims a device the profile does not give.
 */
import { describe, expect, it } from 'vitest';
import type { HostInfo } from '../../common/contract';
import { label } from '../../common/labels';
import {
  contradictions,
  profileHardware,
  profileHardwareNote,
  type ProfileHardware,
} from '../../common/profile-notes';
import { Catalog, loadCurated } from '../../electron/engine/catalog/catalog';
import { profileToCreateDefaults } from '../../electron/engine/catalog/profile';

const host: HostInfo = {
  platform: 'linux',
  arch: 'x64',
  cpus: 4,
  totalMemoryMiB: 16384,
  freeDiskBytes: 200 * 2 ** 30,
  dataDir: '/tmp/vivarium',
  qemu: { binaries: [], img: null },
  qemuMissing: null,
  accelerators: [],
  bestAccelerator: 'tcg',
  notices: [],
  firmware: { seabios: null, ovmfCode: '/ovmf/CODE.fd', ovmfVars: '/ovmf/VARS.fd' },
};

const catalog = Catalog.build(loadCurated(), [], null);

/**
 * Clauses that advise a change ("switch the disk to virtio") or say what the OS lacks ("XP has no
 * SATA driver") name devices the profile does not have on purpose: they are not claims about it.
 */
function claims(note: string): string[] {
  return note
    .split(/[.;:]\s+|\s+—\s+/)
    .filter((c) => !/\b(no|not|without|switch|change|instead|hangs)\b/i.test(c));
}

describe('profile notes', () => {
  it('derives the hardware note from the hardware, each device by its one label', () => {
    const h: ProfileHardware = {
      machine: 'pc',
      firmware: 'bios',
      diskBus: 'ide',
      nicModel: 'rtl8139',
      video: 'cirrus',
      sound: 'ac97',
      tpm: false,
      secureBoot: false,
      usbTablet: false,
    };
    expect(profileHardwareNote(h)).toBe(
      'The VM gets an i440FX (older PC) machine with BIOS (SeaBIOS); an IDE disk, a Realtek RTL8139 card, a Cirrus VGA display, AC’97 sound and a PS/2 mouse.',
    );
    expect(contradictions(profileHardwareNote(h), h)).toEqual([]);
    // The detector sees the case: a virtio display promised to a VGA profile.
    expect(
      contradictions(
        'Debian has drivers for all of the virtio hardware (disk, network, display).',
        {
          ...h,
          diskBus: 'virtio',
          nicModel: 'virtio-net-pci',
          video: 'std',
        },
      ),
    ).toEqual(['video virtio']);
  });

  for (const entry of catalog.entries) {
    it(`${entry.id}: the derived note matches the profile and no note contradicts it`, () => {
      const d = profileToCreateDefaults(entry, host);
      const h: ProfileHardware = {
        machine: d.machine,
        firmware: d.firmware,
        diskBus: d.diskBus,
        nicModel: d.nicModel,
        video: d.video,
        sound: d.sound,
        tpm: d.tpm,
        secureBoot: d.secureBoot,
        usbTablet: d.usbTablet,
      };
      const derived = d.hardwareNote;
      const written = d.notes;
      expect(derived).toBe(profileHardwareNote(h));
      for (const [kind, value] of [
        ['machine', h.machine],
        ['diskBus', h.diskBus],
        ['nicModel', h.nicModel],
      ] as const) {
        expect(derived).toContain(label(kind, value as never));
      }
      if (h.video !== 'none') expect(derived).toContain(label('video', h.video));
      if (h.sound !== 'none') expect(derived).toContain(label('sound', h.sound));
      expect(contradictions(derived, h)).toEqual([]);
      // The profile as written (before the host's say) is what the hand-written notes describe.
      const asWritten = profileHardware(entry.profile);
      for (const note of written) {
        for (const clause of claims(note)) {
          expect(contradictions(clause, asWritten), `${entry.id}: "${clause}"`).toEqual([]);
        }
      }
    });
  }
});
