/**
 * A Vivarium VM as an OVF 1.0 envelope that VirtualBox imports (the layout of VirtualBox's own
 * exports: References, DiskSection, NetworkSection, one VirtualSystem with its OS and its
 * hardware as CIM RASD items) and that Vivarium reads back to the same hardware. UEFI, which
 * OVF 1.0 has no word for, is said the way VMware says it (`vmw:Config firmware=efi`, marked
 * optional so other readers may skip it). Pure: config in, XML out (golden files).
 */
import type { DiskBus, SoundModel, VmConfig } from '../../../../common/contract';

export interface OvfDiskOut {
  /** The file's name in the package. */
  href: string;
  fileBytes: number;
  capacityBytes: number;
}

export interface OvfInput {
  config: VmConfig;
  /** One per config disk, in order. */
  disks: OvfDiskOut[];
  os: { cim: number; vbox: string; text: string };
}

export const STREAM_OPTIMIZED =
  'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The RASD elements of one item, in the schema's (alphabetical) order. */
function item(fields: Record<string, string | number>): string {
  const lines = Object.keys(fields)
    .sort()
    .map((k) => `        <rasd:${k}>${esc(String(fields[k]))}</rasd:${k}>`);
  return `      <Item>\n${lines.join('\n')}\n      </Item>`;
}

const NIC_SUBTYPE: Record<VmConfig['nics'][number]['model'], string> = {
  'virtio-net-pci': 'virtio',
  e1000: 'E1000',
  e1000e: 'E1000e',
  rtl8139: 'RTL8139',
  ne2k_pci: 'NE2000',
  pcnet: 'PCNet32',
};

const SOUND_SUBTYPE: Record<Exclude<SoundModel, 'none'>, string> = {
  hda: 'hdaudio',
  ac97: 'ensoniq1371',
  sb16: 'sb16',
};

/** Each bus's controller item: VirtualBox's names (PIIX4 IDE, AHCI SATA, LSI Logic SCSI). */
const CONTROLLER: Record<DiskBus, { type: number; sub: string; name: string }> = {
  ide: { type: 5, sub: 'PIIX4', name: 'ideController0' },
  sata: { type: 20, sub: 'AHCI', name: 'sataController0' },
  // virtio-blk has no OVF controller VirtualBox reads: a SATA controller keeps the disk usable.
  virtio: { type: 20, sub: 'AHCI', name: 'sataController0' },
  scsi: { type: 6, sub: 'lsilogic', name: 'scsiController0' },
};

export function buildOvf(input: OvfInput): string {
  const { config, disks, os } = input;
  const name = esc(config.name);
  const items: string[] = [];
  let instance = 1;
  items.push(
    item({
      Caption: `${config.cpu.count} virtual CPU`,
      Description: 'Number of virtual CPUs',
      ElementName: `${config.cpu.count} virtual CPU`,
      InstanceID: instance++,
      ResourceType: 3,
      VirtualQuantity: config.cpu.count,
    }),
  );
  items.push(
    item({
      AllocationUnits: 'MegaBytes',
      Caption: `${config.memoryMiB} MB of memory`,
      Description: 'Memory Size',
      ElementName: `${config.memoryMiB} MB of memory`,
      InstanceID: instance++,
      ResourceType: 4,
      VirtualQuantity: config.memoryMiB,
    }),
  );
  // One controller per kind the disks use, in the order the disks first use them.
  const controllers = new Map<string, { id: number; next: number }>();
  for (const disk of config.disks) {
    const c = CONTROLLER[disk.bus];
    if (controllers.has(c.name)) continue;
    const id = instance++;
    controllers.set(c.name, { id, next: 0 });
    items.push(
      item({
        Address: controllers.size - 1,
        Caption: c.name,
        Description: `${c.sub} controller`,
        ElementName: c.name,
        InstanceID: id,
        ResourceSubType: c.sub,
        ResourceType: c.type,
      }),
    );
  }
  config.disks.forEach((disk, i) => {
    const c = CONTROLLER[disk.bus];
    const slot = controllers.get(c.name);
    if (!slot) return;
    items.push(
      item({
        AddressOnParent: slot.next++,
        Caption: `disk${i + 1}`,
        Description: 'Disk Image',
        ElementName: `disk${i + 1}`,
        HostResource: `/disk/vmdisk${i + 1}`,
        InstanceID: instance++,
        Parent: slot.id,
        ResourceType: 17,
      }),
    );
  });
  config.nics.forEach((nic, i) => {
    items.push(
      item({
        AddressOnParent: i,
        AutomaticAllocation: 'true',
        Caption: `Ethernet adapter on 'NAT'`,
        Connection: 'NAT',
        ElementName: `Ethernet adapter on 'NAT'`,
        InstanceID: instance++,
        ResourceSubType: NIC_SUBTYPE[nic.model],
        ResourceType: 10,
      }),
    );
  });
  if (config.usbTablet) {
    items.push(
      item({
        Address: 0,
        Caption: 'usb',
        Description: 'USB Controller',
        ElementName: 'usb',
        InstanceID: instance++,
        ResourceType: 23,
      }),
    );
  }
  if (config.sound !== 'none') {
    items.push(
      item({
        AddressOnParent: 3,
        AutomaticAllocation: 'false',
        Caption: 'sound',
        Description: 'Sound Card',
        ElementName: 'sound',
        InstanceID: instance++,
        ResourceSubType: SOUND_SUBTYPE[config.sound],
        ResourceType: 35,
      }),
    );
  }
  const firmware =
    config.firmware === 'uefi'
      ? '\n      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>'
      : '';
  const files = disks
    .map(
      (d, i) =>
        `    <File ovf:href="${esc(d.href)}" ovf:id="file${i + 1}" ovf:size="${d.fileBytes}"/>`,
    )
    .join('\n');
  const diskLines = disks
    .map(
      (d, i) =>
        `    <Disk ovf:capacity="${d.capacityBytes}" ovf:diskId="vmdisk${i + 1}" ovf:fileRef="file${i + 1}" ovf:format="${STREAM_OPTIMIZED}"/>`,
    )
    .join('\n');
  const network = config.nics.length
    ? `  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="NAT">
      <Description>Logical network used by this appliance.</Description>
    </Network>
  </NetworkSection>
`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
${files}
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
${diskLines}
  </DiskSection>
${network}  <VirtualSystem ovf:id="${name}">
    <Info>A virtual machine</Info>
    <Name>${name}</Name>
    <OperatingSystemSection ovf:id="${os.cim}">
      <Info>The kind of installed guest operating system</Info>
      <Description>${esc(os.text)}</Description>
      <vbox:OSType ovf:required="false">${esc(os.vbox)}</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>${name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
${items.join('\n')}${firmware}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}
