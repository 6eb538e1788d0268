/**
 * An OVF envelope's hardware mapped to a Vivarium VM: CPUs, memory, each disk (in boot order,
 * with the bus of the controller it sat on, so the guest finds it with the driver it was
 * installed with), the network cards' models, sound, firmware and the OS's catalogue entry. What
 * has no counterpart is listed, never silently dropped. Pure.
 */
import type {
  ApplianceController,
  ApplianceDisk,
  ApplianceNic,
  ApplianceSummary,
  DiskBus,
  SoundModel,
} from '../../../../common/contract';
import { CPU_COUNT_MAX, MEMORY_MIB_MIN } from '../../../../common/rules/vm-settings';
import { MAX_DISKS } from '../../../../common/rules/disk-limits';
import { NIC_MAX } from '../../../../common/rules/networks';
import { VivariumError } from '../../errors';
import { mapOsType } from './os-types';
import { allocationUnits, type OvfEnvelope, type RasdItem } from './ovf-parse';

/** CIM RASD resource types (DSP1041 / CIM_ResourceAllocationSettingData.ResourceType). */
export const RT = {
  other: 1,
  processor: 3,
  memory: 4,
  ide: 5,
  scsi: 6,
  ethernet: 10,
  floppy: 14,
  cd: 15,
  dvd: 16,
  disk: 17,
  serial: 21,
  parallel: 22,
  usb: 23,
  graphics: 24,
  storageOther: 20,
  sound: 35,
} as const;

export type MappedAppliance = Omit<ApplianceSummary, 'file' | 'kind' | 'verifiedWith' | 'os'> & {
  os: { source: string | null; entry: string };
  /** The referenced file of each disk, in the same order as `disks`. */
  diskFiles: string[];
};

const NIC_MODEL: ReadonlyArray<[RegExp, ApplianceNic['model']]> = [
  [/^e1000e$/i, 'e1000e'],
  [/^e1000/i, 'e1000'],
  [/^(pcnet|am79c97|pcnet32|pcnet-?fast)/i, 'pcnet'],
  [/^virtio/i, 'virtio-net-pci'],
  [/^rtl8139|^realtek/i, 'rtl8139'],
  [/^ne2k/i, 'ne2k_pci'],
];

function controllerOf(item: RasdItem): ApplianceController {
  if (item.resourceType === RT.ide) return 'ide';
  if (item.resourceType === RT.scsi) {
    return /virtio/i.test(item.subType ?? '') ? 'virtio' : 'scsi';
  }
  if (item.resourceType === RT.storageOther) {
    const sub = item.subType ?? item.elementName;
    if (/ahci|sata/i.test(sub)) return 'sata';
    if (/virtio/i.test(sub)) return 'virtio';
    if (/nvme/i.test(sub)) return 'virtio';
    return 'sata';
  }
  return 'none';
}

const BUS_OF: Record<ApplianceController, DiskBus> = {
  ide: 'ide',
  sata: 'sata',
  scsi: 'scsi',
  virtio: 'virtio',
  none: 'sata',
};

function soundOf(sub: string): SoundModel | null {
  if (/hda|hdaudio|intel.?hd/i.test(sub)) return 'hda';
  if (/ac97|ensoniq|es1371/i.test(sub)) return 'ac97';
  if (/sb16|soundblaster/i.test(sub)) return 'sb16';
  return null;
}

/** "ovf:/disk/vmdisk1" or "/disk/vmdisk1" -> "vmdisk1". */
function diskIdOf(hostResource: string | null): string | null {
  const m = /^(?:ovf:)?\/disk\/(.+)$/.exec(hostResource?.trim() ?? '');
  return m?.[1] ?? null;
}

export function mapAppliance(env: OvfEnvelope): MappedAppliance {
  const notMapped: string[] = [];
  const items = env.items;
  const byId = new Map(items.map((i) => [i.instanceId, i]));
  const order = new Map(items.map((i, n) => [i.instanceId, n]));

  const cpuItem = items.find((i) => i.resourceType === RT.processor);
  let cpus = cpuItem?.quantity ?? 1;
  if (cpus > CPU_COUNT_MAX) {
    notMapped.push(`${cpus} CPUs: the VM gets ${CPU_COUNT_MAX}, Vivarium's most.`);
    cpus = CPU_COUNT_MAX;
  }
  const memItem = items.find((i) => i.resourceType === RT.memory);
  if (!memItem?.quantity) {
    throw new VivariumError(
      'INVALID_REQUEST',
      'The appliance does not say how much memory its VM has.',
    );
  }
  // Memory's default unit is MB (DSP0243 §9.1: AllocationUnits "byte * 2^20" when absent).
  const memBytes = memItem.quantity * allocationUnits(memItem.units ?? 'byte * 2^20');
  const memoryMiB = Math.max(MEMORY_MIB_MIN, Math.round(memBytes / 1024 ** 2));

  // Disks: ordered by their controller's place in the envelope, then their address on it.
  const diskItems = items.filter((i) => i.resourceType === RT.disk);
  const placed = diskItems.map((d) => {
    const parent = d.parent ? byId.get(d.parent) : undefined;
    return {
      item: d,
      controller: parent ? controllerOf(parent) : ('none' as const),
      parentAt: parent ? (order.get(parent.instanceId) ?? 0) : Number.MAX_SAFE_INTEGER,
      address: Number(d.addressOnParent ?? 0) || 0,
      at: order.get(d.instanceId) ?? 0,
    };
  });
  placed.sort((a, b) => a.parentAt - b.parentAt || a.address - b.address || a.at - b.at);
  const disks: ApplianceDisk[] = [];
  const diskFiles: string[] = [];
  for (const p of placed) {
    const id = diskIdOf(p.item.hostResource);
    const disk = env.disks.find((d) => d.diskId === id);
    if (!disk) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `Disk drive "${p.item.elementName || p.item.instanceId}" refers to ${p.item.hostResource ?? 'nothing'}, which the DiskSection does not describe.`,
      );
    }
    if (!disk.fileRef) {
      notMapped.push(
        `Disk ${disk.diskId} has no file (a blank disk made at deployment): it was left out.`,
      );
      continue;
    }
    const file = env.files.find((f) => f.id === disk.fileRef);
    if (!file) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `Disk ${disk.diskId} refers to file "${disk.fileRef}", which the References section does not list.`,
      );
    }
    disks.push({
      file: file.href,
      format: disk.format,
      controller: p.controller,
      bus: BUS_OF[p.controller],
      capacityBytes: disk.capacityBytes,
      fileBytes: file.size,
    });
    diskFiles.push(file.href);
  }
  if (disks.length > MAX_DISKS) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `The appliance has ${disks.length} disks; a Vivarium VM has at most ${MAX_DISKS}.`,
    );
  }
  if (disks.length === 0) {
    throw new VivariumError('INVALID_REQUEST', 'The appliance has no disk to import.');
  }

  const nics: ApplianceNic[] = [];
  for (const n of items.filter((i) => i.resourceType === RT.ethernet)) {
    const source = n.subType ?? (n.elementName || 'unknown');
    const hit = NIC_MODEL.find(([re]) => re.test(source));
    if (hit) {
      nics.push({ source, model: hit[1] });
    } else {
      // VMXNET3 and other paravirtual cards have no QEMU model Vivarium offers; every common
      // guest has an e1000 driver.
      nics.push({ source, model: 'e1000' });
      notMapped.push(
        `Network card ${source}: Vivarium has no such model; the VM gets an Intel e1000.`,
      );
    }
  }
  const networks = [
    ...new Set(
      items
        .filter((i) => i.resourceType === RT.ethernet)
        .map((i) => i.connection)
        .filter((c): c is string => c !== null && !/^nat$/i.test(c)),
    ),
  ];
  if (networks.length) {
    notMapped.push(
      `${networks.length > 1 ? 'Networks' : 'Network'} ${networks.map((n) => `"${n}"`).join(', ')} ${networks.length > 1 ? 'belong' : 'belongs'} to the hypervisor the appliance came from: its cards are on NAT here (change that on the VM's Network page).`,
    );
  }
  if (nics.length > NIC_MAX) {
    notMapped.push(`${nics.length} network cards: the VM gets the first ${NIC_MAX}.`);
    nics.length = NIC_MAX;
  }

  let sound: SoundModel = 'none';
  for (const s of items.filter((i) => i.resourceType === RT.sound)) {
    const source = s.subType ?? s.elementName;
    const model = soundOf(source);
    if (model && sound === 'none') sound = model;
    else notMapped.push(`Sound card ${source}: not given (no model Vivarium has).`);
  }

  const firmwareWord = env.vmwConfig.firmware ?? env.vbox?.firmware ?? null;
  const firmware = firmwareWord && /efi/i.test(firmwareWord) ? 'uefi' : 'bios';

  // IDE is a PIIX controller: a guest installed on it may have no AHCI driver, which q35 offers
  // instead (Windows XP). i440FX keeps it.
  const machine = disks.some((d) => d.bus === 'ide') ? 'pc' : 'q35';

  const skipped: Array<[number, string]> = [
    [RT.floppy, 'Floppy drive'],
    [RT.serial, 'Serial port'],
    [RT.parallel, 'Parallel port'],
  ];
  for (const [type, what] of skipped) {
    if (items.some((i) => i.resourceType === type)) notMapped.push(`${what}: not given.`);
  }
  for (const cd of items.filter((i) => i.resourceType === RT.cd || i.resourceType === RT.dvd)) {
    if (cd.hostResource) {
      notMapped.push(`CD/DVD drive with ${cd.hostResource}: the VM gets an empty CD drive.`);
    }
  }
  const os = mapOsType(env.os);
  return {
    producer: env.producer,
    name: env.name,
    os,
    cpus,
    memoryMiB,
    machine,
    firmware,
    disks,
    diskFiles,
    nics,
    sound,
    notMapped,
  };
}
