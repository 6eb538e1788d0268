/**
 * What a catalogue profile's notes say about its hardware, derived from the hardware itself: a
 * hand-written note that repeats the devices goes stale the day the profile changes (a note that
 * promised a virtio display to a profile with a standard VGA card). Hand-written notes keep what
 * is not hardware: quirks, drivers to fetch, how to install.
 */
import type { HardwareProfile } from './contract/catalog';
import { label } from './labels';

/** The devices a VM made from a profile gets, as the wizard states them. */
export type ProfileHardware = Pick<
  HardwareProfile,
  'machine' | 'firmware' | 'diskBus' | 'nicModel' | 'video' | 'sound' | 'tpm' | 'secureBoot'
> & { usbTablet: boolean };

/** "The VM gets a Q35 (modern, PCIe) machine with BIOS (SeaBIOS), a VirtIO disk, ...". */
export function profileHardwareNote(h: ProfileHardware): string {
  const firmware = [
    label('firmware', h.firmware),
    ...(h.secureBoot ? ['Secure Boot'] : []),
    ...(h.tpm ? ['a TPM 2.0'] : []),
  ].join(', ');
  const devices = [
    `${a(label('diskBus', h.diskBus))} disk`,
    `${a(label('nicModel', h.nicModel))} card`,
    h.video === 'none' ? 'no display' : `${a(label('video', h.video))} display`,
    h.sound === 'none' ? 'no sound card' : `${label('sound', h.sound)} sound`,
    h.usbTablet ? 'a USB tablet pointer' : 'a PS/2 mouse',
  ];
  return `The VM gets ${a(label('machine', h.machine))} machine with ${firmware}; ${devices.slice(0, -1).join(', ')} and ${devices.at(-1) ?? ''}.`;
}

/** The word with its indefinite article ("an IDE", "a VirtIO"). */
function a(word: string): string {
  return `${/^[AEIOU]/i.test(word) ? 'an' : 'a'} ${word}`;
}

export function profileHardware(p: HardwareProfile): ProfileHardware {
  return {
    machine: p.machine,
    firmware: p.firmware,
    diskBus: p.diskBus,
    nicModel: p.nicModel,
    video: p.video,
    sound: p.sound,
    tpm: p.tpm,
    secureBoot: p.secureBoot,
    usbTablet: p.input === 'usb-tablet',
  };
}

/**
 * How notes name each device (its label, its QEMU word, the names the guests give it), so a test
 * can find a note that claims a device the profile does not have.
 */
export const DEVICE_MENTIONS = {
  diskBus: {
    virtio:
      /virtio[- ]?(disk|blk)|virtio hardware[^.]*\bdisk\b|\/dev\/vda|\bvtbd0\b|\bld0\b|vioblk/i,
    sata: /\bSATA\b|\bAHCI\b/i,
    ide: /\bIDE\b/,
  },
  nicModel: {
    'virtio-net-pci':
      /virtio[- ]net|virtio hardware[^.]*\bnetwork\b|\bvtnet0\b|\bvioif0\b|\bvio0\b/i,
    e1000: /\be1000(?![e\w])/i,
    e1000e: /\be1000e\b|\b82574\b/i,
    rtl8139: /\bRTL8139\b/i,
    ne2k_pci: /\bNE2000\b|\bne2k/i,
    pcnet: /\bPCnet\b/i,
  },
  video: {
    std: /standard VGA|\bstd\b/i,
    virtio: /virtio[- ]?(gpu|vga|display)|virtio hardware[^.]*\bdisplay\b/i,
    cirrus: /\bCirrus\b/i,
    none: /\bno display\b/i,
  },
  sound: {
    none: /\bno sound\b/i,
    hda: /\bHD Audio\b|\bhda\b/i,
    ac97: /\bAC.?97\b/i,
    sb16: /Sound Blaster|\bsb16\b/i,
  },
} as const;

type MentionKind = keyof typeof DEVICE_MENTIONS;

/** The devices a note claims which the profile does not have, e.g. ['video virtio']. */
export function contradictions(note: string, h: ProfileHardware): string[] {
  const found: string[] = [];
  for (const kind of Object.keys(DEVICE_MENTIONS) as MentionKind[]) {
    const has = h[kind];
    for (const [value, re] of Object.entries<RegExp>(DEVICE_MENTIONS[kind])) {
      if (value !== has && re.test(note)) found.push(`${kind} ${value}`);
    }
  }
  return found;
}
