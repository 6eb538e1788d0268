/**
 * OVF packages built the way VirtualBox and VMware write them (DSP0243 OVF 1.0 envelopes), with
 * two disks made from the x86 test guest: the first is guest.iso (a hybrid GRUB image, which
 * also boots as a hard disk) converted to a stream-optimized VMDK, the second a small blank one.
 * Tars are written member by member with the `tar` library's Header, so the tests can also make
 * the broken ones (a `../` path, a link) that no archiver writes on purpose.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Header } from 'tar';
import { guest } from './fixtures';

export interface Member {
  path: string;
  data?: Buffer;
  type?: 'File' | 'SymbolicLink';
  linkpath?: string;
}

/** A ustar archive of `members`, in order. */
export function tarOf(members: Member[]): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const data = m.data ?? Buffer.alloc(0);
    const header = new Header({
      path: m.path,
      type: m.type ?? 'File',
      size: m.type === 'SymbolicLink' ? 0 : data.length,
      mode: 0o644,
      mtime: new Date(0),
      ...(m.linkpath ? { linkpath: m.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (m.type !== 'SymbolicLink' && data.length) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function sha(algorithm: 'sha1' | 'sha256', data: Buffer): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** The two disks, made once per folder: [bootable guest, blank 64 MiB], stream-optimized VMDK. */
export async function guestDisks(dir: string): Promise<{
  boot: Buffer;
  blank: Buffer;
  bootCapacity: number;
  blankCapacity: number;
}> {
  const boot = join(dir, 'boot.vmdk');
  const blank = join(dir, 'blank.vmdk');
  const raw = join(dir, 'blank.raw');
  const so = ['-O', 'vmdk', '-o', 'subformat=streamOptimized'];
  execFileSync('qemu-img', ['convert', '-f', 'raw', ...so, guest.iso, boot]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', raw, '64M']);
  // A signature on the blank disk, so the guest-visible data is not all zeros.
  await writeFile(raw, Buffer.from('VIVARIUM-SECOND-DISK\n'), { flag: 'r+' });
  execFileSync('qemu-img', ['convert', '-f', 'raw', ...so, raw, blank]);
  const capacity = (f: string): number =>
    (
      JSON.parse(execFileSync('qemu-img', ['info', '--output=json', f], { encoding: 'utf8' })) as {
        'virtual-size': number;
      }
    )['virtual-size'];
  return {
    boot: await readFile(boot),
    blank: await readFile(blank),
    bootCapacity: capacity(boot),
    blankCapacity: capacity(blank),
  };
}

const SO = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/**
 * As VirtualBox 7 exports: OVF elements unprefixed, a SATA (AHCI) controller with both disks,
 * an E1000 and a PCnet card, AC97 sound, vbox:OSType Debian_64, and vbox:Machine.
 */
export function virtualBoxOvf(d: {
  name: string;
  files: [string, number][];
  capacities: number[];
  firmware?: 'BIOS' | 'EFI';
}): string {
  const [f1, f2] = d.files;
  return `<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="${f1?.[0]}" ovf:size="${f1?.[1]}"/>
    <File ovf:id="file2" ovf:href="${f2?.[0]}" ovf:size="${f2?.[1]}"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="${d.capacities[0]}" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="${SO}" vbox:uuid="1a0b"/>
    <Disk ovf:capacity="${d.capacities[1]}" ovf:diskId="vmdisk2" ovf:fileRef="file2" ovf:format="${SO}" vbox:uuid="2b1c"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="NAT">
      <Description>Logical network used by this appliance.</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="${d.name}">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="96">
      <Info>The kind of installed guest operating system</Info>
      <Description>Debian_64</Description>
      <vbox:OSType ovf:required="false">Debian_64</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>${d.name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:Caption>1 virtual CPU</rasd:Caption>
        <rasd:Description>Number of virtual CPUs</rasd:Description>
        <rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:Caption>256 MB of memory</rasd:Caption>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>256 MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>256</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>sataController0</rasd:Caption>
        <rasd:Description>SATA Controller</rasd:Description>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>3</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>
        <rasd:Caption>sound</rasd:Caption>
        <rasd:Description>Sound Card</rasd:Description>
        <rasd:ElementName>sound</rasd:ElementName>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:ResourceSubType>ensoniq1371</rasd:ResourceSubType>
        <rasd:ResourceType>35</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>
        <rasd:InstanceID>6</rasd:InstanceID>
        <rasd:ResourceSubType>PCNet32</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:Caption>disk1</rasd:Caption>
        <rasd:Description>Disk Image</rasd:Description>
        <rasd:ElementName>disk1</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>7</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>1</rasd:AddressOnParent>
        <rasd:Caption>disk2</rasd:Caption>
        <rasd:Description>Disk Image</rasd:Description>
        <rasd:ElementName>disk2</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk2</rasd:HostResource>
        <rasd:InstanceID>8</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
    <vbox:Machine ovf:required="false" version="1.19-linux" uuid="{3f1c}" name="${d.name}" OSType="Debian_64">
      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox format</ovf:Info>
      <Hardware>
        <CPU count="1"/>
        <Memory RAMSize="256"/>
        <Firmware type="${d.firmware ?? 'BIOS'}"/>
        <Chipset type="PIIX3"/>
      </Hardware>
    </vbox:Machine>
  </VirtualSystem>
</Envelope>
`;
}

/**
 * As VMware's ovftool writes: `ovf:`-prefixed elements, an LSI Logic SCSI controller with both
 * disks (capacities in GB-style allocation units where they divide), a VMXNET3 and an E1000 card,
 * `vmw:osType`, memory in `byte * 2^20`, and UEFI said with vmw:Config firmware=efi.
 */
export function vmwareOvf(d: {
  name: string;
  files: [string, number][];
  capacities: number[];
  cpus?: number;
  firmware?: 'bios' | 'efi';
}): string {
  const [f1, f2] = d.files;
  const cap = (bytes: number): string =>
    bytes % 2 ** 20 === 0
      ? `ovf:capacity="${bytes / 2 ** 20}" ovf:capacityAllocationUnits="byte * 2^20"`
      : `ovf:capacity="${bytes}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<ovf:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">
  <ovf:References>
    <ovf:File ovf:href="${f1?.[0]}" ovf:id="file1" ovf:size="${f1?.[1]}"/>
    <ovf:File ovf:href="${f2?.[0]}" ovf:id="file2" ovf:size="${f2?.[1]}"/>
  </ovf:References>
  <ovf:DiskSection>
    <ovf:Info>Virtual disk information</ovf:Info>
    <ovf:Disk ${cap(d.capacities[0] ?? 0)} ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="${SO}"/>
    <ovf:Disk ${cap(d.capacities[1] ?? 0)} ovf:diskId="vmdisk2" ovf:fileRef="file2" ovf:format="${SO}"/>
  </ovf:DiskSection>
  <ovf:NetworkSection>
    <ovf:Info>The list of logical networks</ovf:Info>
    <ovf:Network ovf:name="VM Network">
      <ovf:Description>The VM Network network</ovf:Description>
    </ovf:Network>
  </ovf:NetworkSection>
  <ovf:VirtualSystem ovf:id="${d.name}">
    <ovf:Info>A virtual machine</ovf:Info>
    <ovf:Name>${d.name}</ovf:Name>
    <ovf:OperatingSystemSection ovf:id="101" vmw:osType="debian12_64Guest">
      <ovf:Info>The kind of installed guest operating system</ovf:Info>
    </ovf:OperatingSystemSection>
    <ovf:VirtualHardwareSection>
      <ovf:Info>Virtual hardware requirements</ovf:Info>
      <ovf:System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>${d.name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>
      </ovf:System>
      <ovf:Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>${d.cpus ?? 2} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>${d.cpus ?? 2}</rasd:VirtualQuantity>
      </ovf:Item>
      <ovf:Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>320MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>320</rasd:VirtualQuantity>
      </ovf:Item>
      <ovf:Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SCSI Controller</rasd:Description>
        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </ovf:Item>
      <ovf:Item ovf:required="false">
        <rasd:Address>0</rasd:Address>
        <rasd:Description>IDE Controller</rasd:Description>
        <rasd:ElementName>VirtualIDEController 0</rasd:ElementName>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:ResourceType>5</rasd:ResourceType>
      </ovf:Item>
      <ovf:Item ovf:required="false">
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>
        <rasd:ElementName>CD-ROM 1</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:Parent>4</rasd:Parent>
        <rasd:ResourceSubType>vmware.cdrom.remotepassthrough</rasd:ResourceSubType>
        <rasd:ResourceType>15</rasd:ResourceType>
      </ovf:Item>
      <ovf:Item>
        <rasd:AddressOnParent>1</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 2</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource>
        <rasd:InstanceID>7</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </ovf:Item>
      <ovf:Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>6</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </ovf:Item>
      <ovf:Item>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:Description>VmxNet3 ethernet adapter on "VM Network"</rasd:Description>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>8</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </ovf:Item>
      <ovf:Item>
        <rasd:AddressOnParent>8</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:Description>E1000 ethernet adapter on "VM Network"</rasd:Description>
        <rasd:ElementName>Network adapter 2</rasd:ElementName>
        <rasd:InstanceID>9</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </ovf:Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="${d.firmware ?? 'bios'}"/>
      <vmw:Config ovf:required="false" vmw:key="tools.syncTimeWithHost" vmw:value="false"/>
    </ovf:VirtualHardwareSection>
  </ovf:VirtualSystem>
</ovf:Envelope>
`;
}

export type Flavour = 'virtualbox' | 'vmware';

export interface BuiltAppliance {
  name: string;
  ovfName: string;
  ovf: Buffer;
  mfName: string;
  mf: Buffer;
  disks: Array<{ name: string; data: Buffer }>;
}

/** The parts of an appliance (descriptor, manifest, disks), ready to tar or to lay in a folder. */
export function buildAppliance(
  flavour: Flavour,
  disks: Awaited<ReturnType<typeof guestDisks>>,
  opts: { name?: string; firmware?: 'bios' | 'efi'; algorithm?: 'sha1' | 'sha256' } = {},
): BuiltAppliance {
  const name = opts.name ?? (flavour === 'virtualbox' ? 'VBox Appliance' : 'VMware Appliance');
  const stem = flavour === 'virtualbox' ? 'vbox-appliance' : 'vmware-appliance';
  const d1 = `${stem}-disk001.vmdk`;
  const d2 = `${stem}-disk002.vmdk`;
  const files: [string, number][] = [
    [d1, disks.boot.length],
    [d2, disks.blank.length],
  ];
  const capacities = [disks.bootCapacity, disks.blankCapacity];
  const ovfText =
    flavour === 'virtualbox'
      ? virtualBoxOvf({
          name,
          files,
          capacities,
          firmware: opts.firmware === 'efi' ? 'EFI' : 'BIOS',
        })
      : vmwareOvf({ name, files, capacities, firmware: opts.firmware ?? 'bios' });
  const ovf = Buffer.from(ovfText);
  const algorithm = opts.algorithm ?? (flavour === 'virtualbox' ? 'sha1' : 'sha256');
  const label = algorithm === 'sha1' ? 'SHA1' : 'SHA256';
  const ovfName = `${stem}.ovf`;
  const list: Array<[string, Buffer]> = [
    [ovfName, ovf],
    [d1, disks.boot],
    [d2, disks.blank],
  ];
  const mf = Buffer.from(
    list.map(([n, data]) => `${label}(${n})= ${sha(algorithm, data)}\n`).join(''),
  );
  return {
    name,
    ovfName,
    ovf,
    mfName: `${stem}.mf`,
    mf,
    disks: [
      { name: d1, data: disks.boot },
      { name: d2, data: disks.blank },
    ],
  };
}

/** The members of an OVA in the order DSP0243 asks: descriptor, manifest, then the disks. */
export function ovaMembers(a: BuiltAppliance): Member[] {
  return [
    { path: a.ovfName, data: a.ovf },
    { path: a.mfName, data: a.mf },
    ...a.disks.map((d) => ({ path: d.name, data: d.data })),
  ];
}
