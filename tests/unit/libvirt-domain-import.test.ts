/**
 * Reading libvirt domains (pure): every golden domain Vivarium writes reads back to the hardware
 * it came from (machine, firmware, CPU, memory, disks, cards, video, sound, devices), and a
 * domain written by virt-manager's tools maps with what it could not carry listed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDomainXml } from '../../electron/engine/interop/libvirt/domain-import';
import { machineAliases } from '../../electron/engine/interop/libvirt/machines';
import { exportNote, shellWord } from '../../electron/engine/interop/libvirt/note';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'libvirt');

describe('libvirt domain XML -> VM', () => {
  for (const file of readdirSync(GOLDEN_DIR).filter((f) => f.startsWith('profile-'))) {
    it(`reads back ${file}`, () => {
      const xml = readFileSync(join(GOLDEN_DIR, file), 'utf8');
      const d = readDomainXml(xml);
      expect(d.name).toBe(/<name>([^<]+)<\/name>/.exec(xml)?.[1]);
      expect(d.machine).toBe(xml.includes('pc-q35-7.2') ? 'q35' : 'pc');
      expect(d.firmware).toBe(xml.includes('type="pflash"') ? 'uefi' : 'bios');
      expect(d.secureBoot).toBe(xml.includes('secure="yes"'));
      expect(d.memoryMiB).toBe(Number(/<memory unit="MiB">(\d+)/.exec(xml)?.[1]));
      expect(d.cpu.count).toBe(Number(/<vcpu placement="static">(\d+)/.exec(xml)?.[1]));
      expect(d.cpu.model).toBe('max');
      expect(d.disks.map((x) => x.bus)).toEqual(
        [
          ...xml.matchAll(
            /device="disk">\s*<driver[^>]*>\s*<source[^>]*>\s*<target dev="\w+" bus="(\w+)"/g,
          ),
        ].map((m) => m[1]),
      );
      expect(d.cdrom).toBe('/isos/install.iso');
      expect(d.nics.map((n) => n.mac)).toEqual(['52:54:00:12:34:56']);
      expect(d.tpm).toBe(xml.includes('<tpm'));
      expect(d.balloon).toBe(true);
      expect(d.os).toBe(/os="([^"]+)"/.exec(xml)?.[1]);
      expect(d.unmapped.filter((u) => !u.includes('machine'))).toEqual(
        d.tpm ? [expect.stringMatching(/TPM's state/)] : [],
      );
    });
  }

  it('maps every device of the hand-made golden back', () => {
    const d = readDomainXml(
      readFileSync(join(GOLDEN_DIR, 'q35-every-nic-share-channel-usb.xml'), 'utf8'),
    );
    expect(d.name).toBe('Lab, "one" <a-b> & more');
    expect(d.notes).toBe('Course VM & notes');
    expect(d.cpu).toEqual({ model: 'Skylake-Client', count: 4 });
    expect(d.disks.map((x) => [x.bus, x.cache])).toEqual([
      ['scsi', 'unsafe'],
      ['sata', 'writeback'],
    ]);
    expect(d.nics.map((n) => [n.model, n.attach.kind])).toEqual([
      ['e1000e', 'nat'],
      ['virtio-net-pci', 'nat'],
      ['e1000', 'bridge'],
      ['pcnet', 'none'],
    ]);
    expect(d.shares).toEqual([
      { tag: 'code', path: '/home/u/code', readOnly: false, mode: '9p' },
      { tag: 'docs', path: '/home/u/docs', readOnly: true, mode: 'virtiofs' },
    ]);
    expect(d.guestAgent).toBe(true);
    expect(d.clipboard).toBe(true);
    expect(d.video).toBe('virtio');
    expect(d.sound).toBe('ac97');
    expect(d.usb).toEqual([{ kind: 'host', id: 'usb1', vendorId: '046d', productId: 'c52b' }]);
    expect(d.bootOrder).toEqual(['network', 'disk']);
    expect(d.unmapped.join('\n')).toMatch(/libvirt network lab/);
  });

  it('reads what virt-install writes: KiB memory, i440fx, e1000, and lists the rest', () => {
    const d = readDomainXml(`<domain type='qemu'>
  <name>vi</name><memory>393216</memory><vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os>
  <cpu mode='host-passthrough'/>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='/var/lib/libvirt/images/vi.img'/><target dev='hda' bus='ide'/></disk>
    <disk type='file' device='floppy'><source file='/f.img'/><target dev='fda' bus='fdc'/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='direct'><mac address='52:54:00:aa:bb:cc'/><source dev='eth0' mode='bridge'/><model type='rtl8139'/></interface>
    <graphics type='spice'/><video><model type='qxl'/></video>
    <sound model='ich6'/><rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>`);
    expect(d.memoryMiB).toBe(384);
    expect(d.machine).toBe('pc');
    expect(d.accel).toBe('tcg');
    expect(d.cpu).toEqual({ model: 'host', count: 2 });
    expect(d.disks).toEqual([
      {
        source: '/var/lib/libvirt/images/vi.img',
        format: 'raw',
        bus: 'ide',
        cache: 'none',
        readOnly: false,
      },
    ]);
    expect(d.nics).toEqual([
      {
        model: 'rtl8139',
        mac: '52:54:00:aa:bb:cc',
        attach: { kind: 'nat', forwards: [], internet: true },
      },
    ]);
    expect(d.video).toBe('std');
    expect(d.sound).toBe('hda');
    const said = d.unmapped.join('\n');
    for (const what of [
      /floppy fda/,
      /network disk vdb/,
      /Card 1 \(direct\)/,
      /spice display/,
      /qxl video/,
      /rng device/,
      /pc-i440fx-7\.2/,
    ]) {
      expect(said).toMatch(what);
    }
  });

  it('refuses what is not a libvirt domain, or not x86_64', () => {
    expect(() => readDomainXml('<network><name>default</name></network>')).toThrow(
      /not a libvirt domain \(its root element is <network>\)/,
    );
    expect(() => readDomainXml('just text')).toThrow(/not a libvirt domain/);
    expect(() =>
      readDomainXml(
        "<domain><name>a</name><memory>1</memory><os><type arch='aarch64'>hvm</type></os></domain>",
      ),
    ).toThrow(/aarch64 guest/);
  });
});

describe('export helpers', () => {
  it('reads the machine aliases QEMU lists', () => {
    const m = machineAliases(
      'Supported machines are:\npc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\npc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\nq35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n',
    );
    expect(Object.fromEntries(m)).toEqual({ pc: 'pc-i440fx-7.2', q35: 'pc-q35-7.2' });
  });

  it('quotes words for the shell and says how to move the domain', () => {
    expect(shellWord("/srv/a b/it's.xml")).toBe(`'/srv/a b/it'\\''s.xml'`);
    expect(shellWord('/srv/plain.xml')).toBe('/srv/plain.xml');
    const note = exportNote({
      dir: '/srv/exp',
      xmlFile: '/srv/exp/Win 11.xml',
      name: 'Win 11',
      uuid: '11111111-2222-5333-8444-555555555555',
      tpmState: '/srv/exp/Win 11-swtpm',
      nat: 'network',
      hasNetworkCard: true,
    }).join('\n');
    expect(note).toContain(
      `virsh -c qemu:///system define '/srv/exp/Win 11.xml' && virsh -c qemu:///system start 'Win 11'`,
    );
    expect(note).toContain('rsync -aS --progress /srv/exp/ HOST:/srv/exp/');
    expect(note).toContain(`virsh -c qemu+ssh://HOST/system define '/srv/exp/Win 11.xml'`);
    expect(note).toContain(
      `sudo cp -a '/srv/exp/Win 11-swtpm/tpm2' /var/lib/libvirt/swtpm/11111111-2222-5333-8444-555555555555/`,
    );
    expect(note).toContain('virsh net-start default');
  });
});
