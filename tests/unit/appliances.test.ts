/**
 * The OVF side of appliances, pure: parsing VirtualBox- and VMware-style envelopes, mapping them
 * to a VM, the manifest rules, member path rules, and the envelope Vivarium writes (golden files
 * in tests/fixtures/ovf/, UPDATE_GOLDEN=1 rewrites them), read back to the same hardware.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmConfigSchema, type VmConfig } from '../../common/contract';
import {
  buildManifest,
  parseManifest,
  verifyManifest,
} from '../../electron/engine/interop/ova/manifest';
import { mapOsType } from '../../electron/engine/interop/ova/os-types';
import { mapAppliance } from '../../electron/engine/interop/ova/ovf-map';
import { allocationUnits, parseOvf } from '../../electron/engine/interop/ova/ovf-parse';
import { buildOvf } from '../../electron/engine/interop/ova/ovf-write';
import { memberPathProblem } from '../../electron/engine/interop/ova/package';
import { virtualBoxOvf, vmwareOvf } from '../helpers/appliances';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'ovf');
const MiB = 2 ** 20;

const vboxXml = virtualBoxOvf({
  name: 'Course VM',
  files: [
    ['course-disk001.vmdk', 1000],
    ['course-disk002.vmdk', 2000],
  ],
  capacities: [8 * 2 ** 30, 64 * MiB],
  firmware: 'EFI',
});
const vmwXml = vmwareOvf({
  name: 'Lab VM',
  files: [
    ['lab-disk1.vmdk', 10],
    ['lab-disk2.vmdk', 20],
  ],
  capacities: [16 * 2 ** 30, 3 * MiB + 512],
  cpus: 4,
  firmware: 'efi',
});

describe('OVF parsing and mapping', () => {
  it('reads allocation units as DSP0243 and the producers write them', () => {
    expect(allocationUnits(null)).toBe(1);
    expect(allocationUnits('byte')).toBe(1);
    expect(allocationUnits('byte * 2^20')).toBe(MiB);
    expect(allocationUnits('byte*2^30')).toBe(2 ** 30);
    expect(allocationUnits('MegaBytes')).toBe(MiB);
    expect(allocationUnits('GigaBytes')).toBe(2 ** 30);
    expect(allocationUnits('byte * 1024')).toBe(1024);
    expect(() => allocationUnits('furlongs')).toThrow(/allocation unit/);
  });

  it('maps a VirtualBox envelope: SATA disks in order, E1000 + PCnet, AC97, EFI from vbox:Machine', () => {
    const env = parseOvf(vboxXml);
    expect(env.producer).toBe('virtualbox');
    expect(env.vbox).toEqual({ firmware: 'EFI', chipset: 'PIIX3' });
    const m = mapAppliance(env);
    expect(m).toMatchObject({
      name: 'Course VM',
      cpus: 1,
      memoryMiB: 256,
      firmware: 'uefi',
      machine: 'q35',
      sound: 'ac97',
      os: { entry: 'debian', source: 'Debian_64' },
    });
    expect(m.disks.map((d) => [d.file, d.bus, d.capacityBytes, d.fileBytes])).toEqual([
      ['course-disk001.vmdk', 'sata', 8 * 2 ** 30, 1000],
      ['course-disk002.vmdk', 'sata', 64 * MiB, 2000],
    ]);
    expect(m.nics.map((n) => n.model)).toEqual(['e1000', 'pcnet']);
    expect(m.notMapped).toEqual([]);
  });

  it('maps a VMware envelope: prefixed elements, disks by address, VMXNET3 listed, vmw firmware', () => {
    const env = parseOvf(vmwXml);
    expect(env.producer).toBe('vmware');
    const m = mapAppliance(env);
    expect(m).toMatchObject({
      name: 'Lab VM',
      cpus: 4,
      memoryMiB: 320,
      firmware: 'uefi',
      machine: 'q35',
      os: { entry: 'debian', source: 'debian12_64' },
    });
    // Hard Disk 2 comes first in the envelope; its address on the controller puts it second.
    expect(m.disks.map((d) => [d.file, d.controller, d.capacityBytes])).toEqual([
      ['lab-disk1.vmdk', 'scsi', 16 * 2 ** 30],
      ['lab-disk2.vmdk', 'scsi', 3 * MiB + 512],
    ]);
    expect(m.nics).toEqual([
      { source: 'VmxNet3', model: 'e1000' },
      { source: 'E1000', model: 'e1000' },
    ]);
    expect(m.notMapped).toEqual([
      'Network card VmxNet3: Vivarium has no such model; the VM gets an Intel e1000.',
      `Network "VM Network" belongs to the hypervisor the appliance came from: its cards are on NAT here (change that on the VM's Network page).`,
    ]);
  });

  it('puts IDE disks on i440FX and names what it leaves out', () => {
    const xml = vboxXml
      .replace(
        '<rasd:ResourceSubType>AHCI</rasd:ResourceSubType>',
        '<rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>',
      )
      .replace(
        '<rasd:ResourceType>20</rasd:ResourceType>',
        '<rasd:ResourceType>5</rasd:ResourceType>',
      )
      .replace(
        '</VirtualHardwareSection>',
        `<Item><rasd:ElementName>floppy</rasd:ElementName><rasd:InstanceID>20</rasd:InstanceID><rasd:ResourceType>14</rasd:ResourceType></Item>
         <Item><rasd:ElementName>cd</rasd:ElementName><rasd:HostResource>/iso/tools.iso</rasd:HostResource><rasd:InstanceID>21</rasd:InstanceID><rasd:ResourceType>15</rasd:ResourceType></Item>
         </VirtualHardwareSection>`,
      );
    const m = mapAppliance(parseOvf(xml));
    expect(m.machine).toBe('pc');
    expect(m.disks.map((d) => d.bus)).toEqual(['ide', 'ide']);
    expect(m.notMapped).toEqual([
      'Floppy drive: not given.',
      'CD/DVD drive with /iso/tools.iso: the VM gets an empty CD drive.',
    ]);
  });

  it('refuses envelopes it cannot map, saying why', () => {
    expect(() => parseOvf('<notovf/>')).toThrow(/no Envelope/);
    expect(() => parseOvf('<Envelope><VirtualSystem')).toThrow(
      /not well-formed|no Envelope|VirtualSystem/,
    );
    expect(() =>
      parseOvf(
        vboxXml
          .replace(/<VirtualSystem /, '<VirtualSystemCollection ><VirtualSystem ')
          .replace('</VirtualSystem>', '</VirtualSystem></VirtualSystemCollection>'),
      ),
    ).toThrow(/collection/);
    expect(() =>
      mapAppliance(
        parseOvf(
          vboxXml.replace('<rasd:HostResource>/disk/vmdisk2', '<rasd:HostResource>/disk/nodisk'),
        ),
      ),
    ).toThrow(/refers to \/disk\/nodisk/);
    expect(() =>
      mapAppliance(
        parseOvf(
          vboxXml.replace(
            '<rasd:ResourceType>4</rasd:ResourceType>',
            '<rasd:ResourceType>1</rasd:ResourceType>',
          ),
        ),
      ),
    ).toThrow(/how much memory/);
  });

  it('maps the three OS vocabularies to catalogue entries', () => {
    const os = (o: Partial<Parameters<typeof mapOsType>[0]>) =>
      mapOsType({ cimId: null, description: null, vbox: null, vmw: null, ...o }).entry;
    expect(os({ vbox: 'Windows11_64' })).toBe('windows-11');
    expect(os({ vbox: 'Windows10_64' })).toBe('windows-10');
    expect(os({ vmw: 'windows9_64Guest' })).toBe('windows-10');
    expect(os({ vmw: 'ubuntu64Guest' })).toBe('ubuntu');
    expect(os({ vbox: 'FreeBSD_64' })).toBe('freebsd');
    expect(os({ cimId: 94 })).toBe('ubuntu');
    expect(os({ cimId: 67 })).toBe('windows-xp');
    expect(os({ cimId: 101, description: 'Linux 64-Bit' })).toBe('generic');
    expect(os({ vmw: 'otherGuest64' })).toBe('generic');
  });
});

describe('manifest and member paths', () => {
  const files = new Map([
    ['a.ovf', { SHA1: 'aa', SHA256: 'a256' }],
    ['d.vmdk', { SHA1: 'dd', SHA256: 'd256' }],
  ]);
  it('reads both line styles and checks every required file', () => {
    const lines = parseManifest('SHA1(a.ovf)= aa\nSHA256 (d.vmdk) = D256\n', 'a.mf');
    expect(lines).toEqual([
      { algorithm: 'SHA1', file: 'a.ovf', hex: 'aa' },
      { algorithm: 'SHA256', file: 'd.vmdk', hex: 'd256' },
    ]);
    expect(verifyManifest(lines, 'a.mf', files, ['a.ovf', 'd.vmdk'])).toBe('mixed');
  });
  it('refuses a mismatch, an unlisted file and a listed file the package lacks', () => {
    const bad = parseManifest('SHA1(a.ovf)= aa\nSHA1(d.vmdk)= de\n', 'a.mf');
    expect(() => verifyManifest(bad, 'a.mf', files, ['a.ovf', 'd.vmdk'])).toThrow(
      'd.vmdk does not match its SHA1 in the manifest a.mf',
    );
    const short = parseManifest('SHA1(a.ovf)= aa\n', 'a.mf');
    expect(() => verifyManifest(short, 'a.mf', files, ['a.ovf', 'd.vmdk'])).toThrow(
      'd.vmdk is not in the manifest a.mf',
    );
    const extra = parseManifest('SHA1(a.ovf)= aa\nSHA1(d.vmdk)= dd\nSHA1(e.vmdk)= ee\n', 'a.mf');
    expect(() => verifyManifest(extra, 'a.mf', files, ['a.ovf', 'd.vmdk'])).toThrow(
      'lists e.vmdk, which the package does not contain',
    );
    expect(() => parseManifest('hello\n', 'a.mf')).toThrow(/Line 1 .* is not a checksum line/);
  });
  it('writes SHA256 lines', () => {
    expect(buildManifest([{ file: 'x.ovf', sha256: 'ab' }])).toBe('SHA256(x.ovf)= ab\n');
  });
  it('allows only plain relative member paths', () => {
    expect(memberPathProblem('disk1.vmdk')).toBeNull();
    expect(memberPathProblem('disks/disk1.vmdk')).toBeNull();
    expect(memberPathProblem('../x')).toMatch(/leaves the package/);
    expect(memberPathProblem('a/../../x')).toMatch(/leaves the package/);
    expect(memberPathProblem('/etc/passwd')).toMatch(/absolute/);
    expect(memberPathProblem('C:/x')).toMatch(/absolute/);
    expect(memberPathProblem('a\\..\\x')).toMatch(/backslash/);
    expect(memberPathProblem('a//b')).toMatch(/irregular/);
    expect(memberPathProblem('a\nb')).toMatch(/control/);
  });
});

function config(over: Partial<VmConfig>): VmConfig {
  return VmConfigSchema.parse({
    configVersion: 3,
    id: 'a1b2c3d4e5f6',
    name: 'Golden',
    createdAt: '2026-01-01T00:00:00.000Z',
    memoryMiB: 2048,
    ...over,
  });
}

const NAT = { kind: 'nat' as const, forwards: [], internet: true };
const GOLDEN: Array<{
  name: string;
  config: VmConfig;
  os: { cim: number; vbox: string; text: string };
}> = [
  {
    name: 'bios-sata-e1000',
    config: config({
      name: 'Debian & <friends>',
      os: 'debian',
      cpu: { model: 'max', count: 2 },
      disks: [
        {
          id: 'disk0',
          file: 'disk0.qcow2',
          format: 'qcow2',
          bus: 'sata',
          readOnly: false,
          cache: 'writeback',
        },
        {
          id: 'disk1',
          file: 'disk1.qcow2',
          format: 'qcow2',
          bus: 'sata',
          readOnly: false,
          cache: 'writeback',
        },
      ],
      nics: [{ model: 'e1000', mac: '52:54:00:00:00:01', attach: NAT }],
      sound: 'ac97',
    }),
    os: { cim: 96, vbox: 'Debian_64', text: 'Debian 64-Bit' },
  },
  {
    name: 'uefi-virtio-scsi-ide',
    config: config({
      firmware: 'uefi',
      memoryMiB: 4096,
      usbTablet: false,
      disks: [
        {
          id: 'disk0',
          file: 'disk0.qcow2',
          format: 'qcow2',
          bus: 'virtio',
          readOnly: false,
          cache: 'writeback',
        },
        {
          id: 'disk1',
          file: 'disk1.qcow2',
          format: 'qcow2',
          bus: 'scsi',
          readOnly: false,
          cache: 'writeback',
        },
        {
          id: 'disk2',
          file: 'disk2.qcow2',
          format: 'qcow2',
          bus: 'ide',
          readOnly: false,
          cache: 'writeback',
        },
      ],
      nics: [
        { model: 'virtio-net-pci', mac: '52:54:00:00:00:02', attach: NAT },
        { model: 'pcnet', mac: '52:54:00:00:00:03', attach: NAT },
      ],
    }),
    os: { cim: 102, vbox: 'Other_64', text: 'Other 64-Bit' },
  },
];

describe('the OVF Vivarium writes', () => {
  for (const g of GOLDEN) {
    it(`${g.name} matches its golden file and reads back to the same hardware`, () => {
      const disks = g.config.disks.map((d, i) => ({
        href: `golden-disk${String(i + 1).padStart(3, '0')}.vmdk`,
        fileBytes: 1000 + i,
        capacityBytes: (i + 1) * 2 ** 30,
      }));
      const xml = buildOvf({ config: g.config, disks, os: g.os });
      const file = join(GOLDEN_DIR, `${g.name}.ovf`);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, xml);
      }
      expect(xml).toBe(readFileSync(file, 'utf8'));
      const m = mapAppliance(parseOvf(xml));
      expect(m.name).toBe(g.config.name);
      expect(m.cpus).toBe(g.config.cpu.count);
      expect(m.memoryMiB).toBe(g.config.memoryMiB);
      expect(m.firmware).toBe(g.config.firmware);
      expect(m.sound).toBe(g.config.sound);
      expect(m.nics.map((n) => n.model)).toEqual(g.config.nics.map((n) => n.model));
      expect(m.disks.map((d) => [d.file, d.capacityBytes])).toEqual(
        disks.map((d) => [d.href, d.capacityBytes]),
      );
    });
  }
});
