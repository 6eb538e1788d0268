/**
 * Reads an OVF envelope (DMTF DSP0243, 1.x and 2.x) into plain facts: the files it references,
 * its disks, and the one virtual system's hardware items (CIM RASD), operating system and the
 * vendor extras VirtualBox (`vbox:Machine`) and VMware (`vmw:Config`, `vmw:osType`) add. Pure: the
 * mapping to a Vivarium VM is ovf-map.ts.
 *
 * Namespace prefixes vary between producers (VirtualBox writes OVF elements unprefixed, VMware
 * prefixes them `ovf:`), so prefixes are dropped and the namespaces are told apart by their
 * URIs in the text.
 */
import { XMLParser } from 'fast-xml-parser';
import type { ApplianceProducer } from '../../../../common/contract';
import { VivariumError } from '../../errors';

export interface OvfFileRef {
  id: string;
  href: string;
  size: number | null;
}

export interface OvfDisk {
  diskId: string;
  fileRef: string | null;
  capacityBytes: number;
  format: string;
}

/** One `Item` of the VirtualHardwareSection (CIM_ResourceAllocationSettingData). */
export interface RasdItem {
  instanceId: string;
  resourceType: number;
  subType: string | null;
  quantity: number | null;
  units: string | null;
  parent: string | null;
  address: string | null;
  addressOnParent: string | null;
  hostResource: string | null;
  elementName: string;
  connection: string | null;
}

export interface OvfEnvelope {
  producer: ApplianceProducer;
  /** The virtual system's name (its Name element, else its ovf:id). */
  name: string;
  files: OvfFileRef[];
  disks: OvfDisk[];
  items: RasdItem[];
  os: { cimId: number | null; description: string | null; vbox: string | null; vmw: string | null };
  /** VMware's `vmw:Config key= value=` pairs (firmware, ...). */
  vmwConfig: Record<string, string>;
  /** VirtualBox's own machine description: its firmware and chipset. */
  vbox: { firmware: string | null; chipset: string | null } | null;
}

type Node = Record<string, unknown>;

const ARRAY_TAGS = new Set(['File', 'Disk', 'Item', 'Config', 'VirtualSystem', 'Network']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => ARRAY_TAGS.has(name),
});

function node(v: unknown): Node | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : null;
}

function list(v: unknown): Node[] {
  if (Array.isArray(v)) return v.map(node).filter((n): n is Node => n !== null);
  const one = node(v);
  return one ? [one] : [];
}

/** An element's text (elements with attributes keep it in `#text`). */
function text(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() || null;
  if (typeof v === 'number') return String(v);
  const n = node(v);
  if (n && '#text' in n) return text(n['#text']);
  return null;
}

function attr(n: Node, name: string): string | null {
  const v = n[`@${name}`];
  return typeof v === 'string' ? v : null;
}

function int(s: string | null): number | null {
  if (s === null || !/^\s*\d+\s*$/.test(s)) return null;
  return Number(s);
}

/**
 * The factor of an OVF allocation unit: "byte", "byte * 2^20", "byte*1024", the DMTF's
 * programmatic units, and the older names VMware and VirtualBox write ("MegaBytes", "GB").
 */
export function allocationUnits(units: string | null): number {
  if (units === null || units.trim() === '') return 1;
  const u = units.replace(/\s+/g, '').toLowerCase();
  const named: Record<string, number> = {
    byte: 1,
    bytes: 1,
    kb: 1024,
    kilobytes: 1024,
    kib: 1024,
    mb: 1024 ** 2,
    megabytes: 1024 ** 2,
    mib: 1024 ** 2,
    gb: 1024 ** 3,
    gigabytes: 1024 ** 3,
    gib: 1024 ** 3,
    tb: 1024 ** 4,
    terabytes: 1024 ** 4,
  };
  const simple = named[u];
  if (simple !== undefined) return simple;
  const m = /^byte\*(\d+)(?:\^(\d+))?$/.exec(u);
  if (m?.[1]) return m[2] !== undefined ? Number(m[1]) ** Number(m[2]) : Number(m[1]);
  throw new VivariumError(
    'INVALID_REQUEST',
    `The appliance uses an allocation unit Vivarium does not know: "${units}".`,
  );
}

function producerOf(xml: string, vbox: boolean): ApplianceProducer {
  if (vbox || xml.includes('http://www.virtualbox.org/ovf/machine')) return 'virtualbox';
  if (xml.includes('http://www.vmware.com/schema/ovf')) return 'vmware';
  return 'other';
}

/** The first descendant element called `name` (VirtualBox moved Firmware under Platform in 7.1). */
function findDeep(n: Node, name: string, depth = 0): Node | null {
  if (depth > 6) return null;
  for (const [key, value] of Object.entries(n)) {
    if (key.startsWith('@') || key === '#text') continue;
    for (const child of list(value)) {
      if (key === name) return child;
      const found = findDeep(child, name, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

function item(n: Node): RasdItem {
  const t = (k: string) => text(n[k]);
  const resourceType = int(t('ResourceType'));
  return {
    instanceId: t('InstanceID') ?? t('InstanceId') ?? '',
    resourceType: resourceType ?? 0,
    subType: t('ResourceSubType'),
    quantity: int(t('VirtualQuantity')),
    units: t('AllocationUnits') ?? t('VirtualQuantityUnits'),
    parent: t('Parent'),
    address: t('Address'),
    addressOnParent: t('AddressOnParent'),
    hostResource: t('HostResource'),
    elementName: t('ElementName') ?? t('Caption') ?? t('Description') ?? '',
    connection: t('Connection'),
  };
}

export function parseOvf(xml: string): OvfEnvelope {
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `The OVF descriptor is not well-formed XML: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const envelope = node(doc.Envelope);
  if (!envelope) {
    throw new VivariumError(
      'INVALID_REQUEST',
      'The OVF descriptor has no Envelope: this is not an OVF file.',
    );
  }
  if (envelope.VirtualSystemCollection !== undefined) {
    throw new VivariumError(
      'INVALID_REQUEST',
      'This appliance holds a collection of virtual systems; Vivarium imports one VM at a time (split it with the tool that made it).',
    );
  }
  const systems = list(envelope.VirtualSystem);
  const system = systems[0];
  if (!system)
    throw new VivariumError('INVALID_REQUEST', 'The OVF descriptor has no VirtualSystem.');

  const files = list(node(envelope.References)?.File).map((f) => ({
    id: attr(f, 'id') ?? '',
    href: attr(f, 'href') ?? '',
    size: int(attr(f, 'size')),
  }));
  const disks = list(node(envelope.DiskSection)?.Disk).map((d): OvfDisk => {
    const capacity = attr(d, 'capacity') ?? '0';
    const factor = allocationUnits(attr(d, 'capacityAllocationUnits'));
    const value = int(capacity);
    if (value === null) {
      // A capacity given by a property (${disk.size}) would need the deployment's answers.
      throw new VivariumError(
        'INVALID_REQUEST',
        `Disk ${attr(d, 'diskId') ?? '?'} gives its capacity as "${capacity}", which Vivarium cannot resolve.`,
      );
    }
    return {
      diskId: attr(d, 'diskId') ?? '',
      fileRef: attr(d, 'fileRef'),
      capacityBytes: value * factor,
      format: attr(d, 'format') ?? '',
    };
  });
  const hw = node(system.VirtualHardwareSection);
  if (!hw)
    throw new VivariumError('INVALID_REQUEST', 'The virtual system has no VirtualHardwareSection.');
  const items = [...list(hw.Item), ...list(hw.StorageItem), ...list(hw.EthernetPortItem)].map(item);
  const vmwConfig: Record<string, string> = {};
  for (const c of list(hw.Config)) {
    const key = attr(c, 'key');
    const value = attr(c, 'value');
    if (key && value !== null) vmwConfig[key] = value;
  }
  const osSection = node(system.OperatingSystemSection);
  const machine = node(system.Machine);
  const vboxOsType = text(osSection?.OSType) ?? (machine ? attr(machine, 'OSType') : null);
  const vbox = machine
    ? {
        firmware: ((f) => (f ? attr(f, 'type') : null))(findDeep(machine, 'Firmware')),
        chipset: ((c) => (c ? attr(c, 'type') : null))(findDeep(machine, 'Chipset')),
      }
    : null;
  return {
    producer: producerOf(xml, machine !== null),
    name: text(system.Name) ?? attr(system, 'id') ?? 'Appliance',
    files,
    disks,
    items,
    os: {
      cimId: osSection ? int(attr(osSection, 'id')) : null,
      description: osSection ? text(osSection.Description) : null,
      vbox: vboxOsType,
      vmw: osSection ? attr(osSection, 'osType') : null,
    },
    vmwConfig,
    vbox,
  };
}
