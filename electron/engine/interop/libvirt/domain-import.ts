/**
 * A libvirt domain (`virsh dumpxml` output) read into what a Vivarium VM is made of: machine,
 * firmware, CPU, memory, disks, CD-ROM, cards, video, sound and the rest it has words for, plus
 * a sentence for each thing it had that the VM will not. Pure: the files it names are checked
 * and copied by the import service.
 */
import { XMLParser } from 'fast-xml-parser';
import type {
  DiskBus,
  DiskCache,
  NicConfig,
  ShareConfig,
  SoundModel,
  UsbDeviceConfig,
  VmConfig,
} from '../../../../common/contract';
import { DISK_CACHES } from '../../../../common/contract/vocabulary';
import { VivariumError } from '../../errors';
import { VIVARIUM_XMLNS } from './domain-xml';

/** A disk of the domain, by the file it names. */
export interface DomainDisk {
  source: string;
  format: 'qcow2' | 'raw';
  bus: DiskBus;
  cache: DiskCache;
  readOnly: boolean;
}

/** The VM the domain becomes, before its files are placed (ids, paths and MACs come later). */
export interface DomainImport {
  name: string;
  os: string | null;
  notes: string;
  machine: VmConfig['machine'];
  firmware: VmConfig['firmware'];
  secureBoot: boolean;
  /** The domain's own UEFI variable store (raw), when it names one. */
  nvram: string | null;
  cpu: VmConfig['cpu'];
  memoryMiB: number;
  accel: VmConfig['accel'];
  disks: DomainDisk[];
  cdrom: string | null;
  bootOrder: VmConfig['bootOrder'];
  kernelBoot: VmConfig['kernelBoot'];
  nics: NicConfig[];
  video: VmConfig['video'];
  sound: SoundModel;
  usbTablet: boolean;
  usb: UsbDeviceConfig[];
  tpm: boolean;
  balloon: boolean;
  guestAgent: boolean;
  clipboard: boolean;
  shares: ShareConfig[];
  unmapped: string[];
}

type El = Record<string, unknown>;

/** Elements that may repeat are always arrays, so one disk and two disks read alike. */
const REPEATED = new Set([
  'disk',
  'interface',
  'boot',
  'controller',
  'filesystem',
  'hostdev',
  'channel',
  'input',
  'sound',
  'video',
  'tpm',
  'serial',
  'console',
  'graphics',
  'redirdev',
  'smartcard',
  'rng',
  'watchdog',
  'panic',
  'shmem',
  'memballoon',
  'audio',
  'parallel',
  'hub',
  'lease',
  'iommu',
  'vsock',
  'crypto',
  'memory',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  removeNSPrefix: false,
  processEntities: true,
  isArray: (name, jpath) => {
    const path = String(jpath);
    return REPEATED.has(name) && (path.startsWith('domain.devices.') || path === 'domain.os.boot');
  },
});

function el(v: unknown): El {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as El) : {};
}
function list(v: unknown): El[] {
  return Array.isArray(v) ? v.map(el) : v === undefined ? [] : [el(v)];
}
function attr(e: El, name: string): string | null {
  const v = e[`@_${name}`];
  return typeof v === 'string' ? v : null;
}
function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  const t = el(v)['#text'];
  return typeof t === 'string' || typeof t === 'number' ? String(t) : null;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/** libvirt's <memory unit="KiB">: KiB unless the unit says otherwise. */
function memoryMiB(v: unknown): number | null {
  const value = text(v);
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  const unit = (attr(el(v), 'unit') ?? 'KiB').toLowerCase();
  const bytes = UNIT_BYTES[unit];
  if (bytes === undefined) return null;
  return Math.floor((Number(value) * bytes) / 1024 ** 2);
}

const NIC_MODELS: Record<string, NicConfig['model']> = {
  virtio: 'virtio-net-pci',
  'virtio-net-pci': 'virtio-net-pci',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
  ne2k_pci: 'ne2k_pci',
  pcnet: 'pcnet',
};
const VIDEO_MODELS: Record<string, VmConfig['video']> = {
  vga: 'std',
  virtio: 'virtio',
  cirrus: 'cirrus',
  none: 'none',
};
const SOUND_MODELS: Record<string, SoundModel> = {
  ich6: 'hda',
  ich7: 'hda',
  ich9: 'hda',
  ac97: 'ac97',
  sb16: 'sb16',
};
const BOOT_DEVS: Record<string, VmConfig['bootOrder'][number]> = {
  hd: 'disk',
  cdrom: 'cdrom',
  network: 'network',
};

function diskSourceFile(disk: El): string | null {
  const source = el(disk['source']);
  return attr(source, 'file') ?? attr(source, 'dev');
}

/** What the domain's XML says, read into a VM; throws a clear error for what is not a domain. */
export function readDomainXml(xml: string): DomainImport {
  let doc: El;
  try {
    doc = el(parser.parse(xml));
  } catch (err) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `That is not well-formed XML (${err instanceof Error ? err.message : String(err)}): give the output of virsh dumpxml NAME.`,
    );
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#'));
  if (!roots.includes('domain')) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `That is not a libvirt domain (its root element is <${roots[0] ?? 'nothing'}>): give the output of virsh dumpxml NAME.`,
    );
  }
  const d = el(doc['domain']);
  const unmapped: string[] = [];
  const name = text(d['name'])?.trim();
  if (!name) throw new VivariumError('INVALID_REQUEST', 'The domain has no <name>.');

  // Machine and architecture.
  const os = el(d['os']);
  const osType = el(os['type']);
  const arch = attr(osType, 'arch') ?? 'x86_64';
  if (arch !== 'x86_64') {
    throw new VivariumError(
      'INVALID_REQUEST',
      `The domain is an ${arch} guest; Vivarium imports x86_64 domains only.`,
    );
  }
  const machineAttr = attr(osType, 'machine') ?? 'pc';
  let machine: VmConfig['machine'];
  if (/q35/.test(machineAttr)) machine = 'q35';
  else if (/^pc($|-i440fx|-\d)/.test(machineAttr)) machine = 'pc';
  else {
    machine = 'q35';
    unmapped.push(`The machine type ${machineAttr} is not one Vivarium runs: the VM uses q35`);
  }
  if (/-\d/.test(machineAttr)) {
    unmapped.push(
      `The machine's version (${machineAttr}) is not kept: Vivarium runs this QEMU's newest ${machine}`,
    );
  }

  // Firmware.
  const loader = el(os['loader']);
  const efi =
    attr(os, 'firmware') === 'efi' ||
    attr(loader, 'type') === 'pflash' ||
    /OVMF|edk2/i.test(text(os['loader']) ?? '');
  const firmware: VmConfig['firmware'] = efi ? 'uefi' : 'bios';
  const secureBoot =
    efi &&
    (attr(loader, 'secure') === 'yes' ||
      list(el(os['firmware'])['feature']).some(
        (f) => attr(f, 'name') === 'secure-boot' && attr(f, 'enabled') === 'yes',
      ));
  const nvramText = efi ? text(os['nvram']) : null;
  const nvram = nvramText?.trim() ? nvramText.trim() : null;
  if (efi && !nvram) {
    unmapped.push(
      'The domain names no UEFI variable store: the VM starts with fresh UEFI variables',
    );
  }
  if (secureBoot && machine !== 'q35') {
    throw new VivariumError(
      'INVALID_REQUEST',
      'The domain has Secure Boot on a machine other than q35.',
    );
  }

  // Boot.
  const kernel = text(os['kernel']);
  const kernelBoot: VmConfig['kernelBoot'] = kernel
    ? {
        kernel,
        ...(text(os['initrd']) ? { initrd: text(os['initrd']) ?? '' } : {}),
        append: text(os['cmdline']) ?? '',
      }
    : null;
  const bootOrder = list(os['boot']).flatMap((b) => {
    const dev = BOOT_DEVS[attr(b, 'dev') ?? ''];
    return dev ? [dev] : [];
  });

  // CPU and memory.
  const vcpus = Number(text(d['vcpu']) ?? '1');
  const cpuEl = el(d['cpu']);
  const mode = attr(cpuEl, 'mode') ?? 'custom';
  let model = 'max';
  if (mode === 'host-passthrough' || mode === 'host-model') model = 'host';
  else if (mode === 'custom') {
    const named = text(cpuEl['model']);
    if (named && /^[A-Za-z0-9_.-]+$/.test(named)) model = named;
  }
  const topo = el(cpuEl['topology']);
  if (attr(topo, 'threads') && attr(topo, 'threads') !== '1') {
    unmapped.push(
      `The CPU topology (${attr(topo, 'sockets') ?? '1'} sockets, ${attr(topo, 'cores') ?? '1'} cores, ${attr(topo, 'threads') ?? '1'} threads): Vivarium gives ${vcpus} cores`,
    );
  }
  const mem = memoryMiB(d['memory']);
  if (mem === null)
    throw new VivariumError('INVALID_REQUEST', 'The domain has no readable <memory>.');
  const accel: VmConfig['accel'] = attr(d, 'type') === 'qemu' ? 'tcg' : 'auto';

  // Devices.
  const devices = el(d['devices']);
  const disks: DomainDisk[] = [];
  let cdrom: string | null = null;
  for (const disk of list(devices['disk'])) {
    const device = attr(disk, 'device') ?? 'disk';
    const source = diskSourceFile(disk);
    const driver = el(disk['driver']);
    const target = el(disk['target']);
    const bus = attr(target, 'bus') ?? 'virtio';
    const where = attr(target, 'dev') ?? '?';
    if (device === 'cdrom') {
      if (source && !cdrom) cdrom = source;
      else if (source)
        unmapped.push(`The second CD-ROM (${where}, ${source}): Vivarium gives a VM one`);
      continue;
    }
    if (device !== 'disk') {
      unmapped.push(`The ${device} ${where}${source ? ` (${source})` : ''}`);
      continue;
    }
    const type = attr(disk, 'type') ?? 'file';
    if ((type !== 'file' && type !== 'block') || !source) {
      unmapped.push(`The ${type} disk ${where}: Vivarium imports disks that are files`);
      continue;
    }
    const format = attr(driver, 'type') ?? 'raw';
    if (format !== 'qcow2' && format !== 'raw') {
      unmapped.push(
        `The ${format} disk ${where} (${source}): convert it to qcow2 with qemu-img first`,
      );
      continue;
    }
    if (bus !== 'virtio' && bus !== 'scsi' && bus !== 'sata' && bus !== 'ide') {
      unmapped.push(`The ${bus} disk ${where} (${source}): Vivarium has no ${bus} disks`);
      continue;
    }
    const cacheAttr = attr(driver, 'cache') ?? 'writeback';
    const cache = (DISK_CACHES as readonly string[]).includes(cacheAttr)
      ? (cacheAttr as DiskCache)
      : 'writeback';
    if (cacheAttr === 'default') {
      // libvirt's "default" leaves QEMU's, which is writeback.
    } else if (cache !== cacheAttr) {
      unmapped.push(`Disk ${where}'s cache mode ${cacheAttr}: it uses writeback`);
    }
    disks.push({
      source,
      format,
      bus: bus === 'ide' && machine === 'q35' ? 'sata' : bus,
      cache,
      readOnly: disk['readonly'] !== undefined,
    });
  }

  const nics: NicConfig[] = [];
  for (const [i, nic] of list(devices['interface']).entries()) {
    const type = attr(nic, 'type') ?? 'network';
    const mac = attr(el(nic['mac']), 'address') ?? '';
    const modelName = attr(el(nic['model']), 'type') ?? 'virtio';
    const nicModel = NIC_MODELS[modelName] ?? 'virtio-net-pci';
    if (!NIC_MODELS[modelName]) {
      unmapped.push(`Card ${i + 1}'s model ${modelName}: it is a virtio card`);
    }
    const source = el(nic['source']);
    let attach: NicConfig['attach'];
    if (type === 'bridge' && attr(source, 'bridge')) {
      attach = { kind: 'bridge', bridge: attr(source, 'bridge') ?? '' };
    } else {
      if (type === 'network' && attr(source, 'network') !== 'default') {
        unmapped.push(
          `Card ${i + 1} was on the libvirt network ${attr(source, 'network') ?? '?'}: it is a NAT card (join a Vivarium network in its settings)`,
        );
      } else if (type !== 'network' && type !== 'user') {
        unmapped.push(`Card ${i + 1} (${type}): it is a NAT card`);
      }
      attach = { kind: 'nat', forwards: [], internet: true };
    }
    if (attr(el(nic['link']), 'state') === 'down') attach = { kind: 'none' };
    nics.push({ model: nicModel, mac, attach });
  }

  const videoModel = attr(el(list(devices['video'])[0]?.['model']), 'type');
  let video: VmConfig['video'] = 'std';
  if (videoModel) {
    const mapped = VIDEO_MODELS[videoModel];
    if (mapped) video = mapped;
    else unmapped.push(`The ${videoModel} video card: it is a standard VGA`);
  } else if (list(devices['video']).length === 0) video = 'none';

  const soundEls = list(devices['sound']);
  let sound: SoundModel = 'none';
  for (const [i, s] of soundEls.entries()) {
    const m = SOUND_MODELS[attr(s, 'model') ?? ''];
    if (i === 0 && m) sound = m;
    else unmapped.push(`The ${attr(s, 'model') ?? '?'} sound card`);
  }

  const usbTablet = list(devices['input']).some(
    (i) => attr(i, 'type') === 'tablet' && (attr(i, 'bus') ?? 'usb') === 'usb',
  );

  const usb: UsbDeviceConfig[] = [];
  for (const h of list(devices['hostdev'])) {
    const src = el(h['source']);
    const vendor = attr(el(src['vendor']), 'id');
    const product = attr(el(src['product']), 'id');
    if (attr(h, 'type') === 'usb' && vendor && product) {
      usb.push({
        kind: 'host',
        id: `usb${usb.length + 1}`,
        vendorId: vendor.replace(/^0x/i, '').padStart(4, '0'),
        productId: product.replace(/^0x/i, '').padStart(4, '0'),
      });
    } else {
      unmapped.push(
        `The ${attr(h, 'type') ?? '?'} host device: pass it through again on this computer`,
      );
    }
  }

  const tpm = list(devices['tpm']).length > 0;
  if (tpm) {
    unmapped.push(
      "The TPM's state (its keys) stays with the libvirt host: the VM gets a new, empty TPM",
    );
  }
  const balloon = list(devices['memballoon']).some((b) => attr(b, 'model') === 'virtio');

  let guestAgent = false;
  let clipboard = false;
  for (const c of list(devices['channel'])) {
    const targetName = attr(el(c['target']), 'name');
    if (targetName === 'org.qemu.guest_agent.0') guestAgent = true;
    else if (targetName === 'com.redhat.spice.0' && attr(c, 'type') === 'qemu-vdagent')
      clipboard = true;
    else unmapped.push(`The ${attr(c, 'type') ?? '?'} channel ${targetName ?? ''}`.trim());
  }

  const shares: ShareConfig[] = [];
  for (const f of list(devices['filesystem'])) {
    const dir = attr(el(f['source']), 'dir');
    const tag = attr(el(f['target']), 'dir');
    if ((attr(f, 'type') ?? 'mount') !== 'mount' || !dir || !tag || !dir.startsWith('/')) {
      unmapped.push(`The ${attr(f, 'type') ?? '?'} filesystem ${tag ?? ''}`.trim());
      continue;
    }
    const virtiofs = attr(el(f['driver']), 'type') === 'virtiofs';
    shares.push({
      tag,
      path: dir,
      readOnly: f['readonly'] !== undefined,
      mode: virtiofs ? 'virtiofs' : '9p',
    });
  }

  for (const g of list(devices['graphics'])) {
    const t = attr(g, 'type');
    if (t && t !== 'vnc') unmapped.push(`The ${t} display: Vivarium shows the screen over VNC`);
  }
  for (const kind of [
    'redirdev',
    'smartcard',
    'rng',
    'watchdog',
    'panic',
    'shmem',
    'parallel',
    'hub',
    'iommu',
    'vsock',
    'crypto',
    'memory',
  ]) {
    const n = list(devices[kind]).length;
    if (n) unmapped.push(`${n === 1 ? 'The' : `${n}`} ${kind} device${n === 1 ? '' : 's'}`);
  }

  const meta = el(el(d['metadata'])['vivarium:vm']);
  const vivariumOs = attr(meta, 'xmlns:vivarium') === VIVARIUM_XMLNS ? attr(meta, 'os') : null;

  return {
    name,
    os: vivariumOs,
    notes: text(d['description']) ?? '',
    machine,
    firmware,
    secureBoot,
    nvram,
    cpu: { model, count: Number.isInteger(vcpus) && vcpus > 0 ? vcpus : 1 },
    memoryMiB: mem,
    accel,
    disks,
    cdrom,
    bootOrder: bootOrder.length ? bootOrder : ['disk', 'cdrom'],
    kernelBoot,
    nics,
    video,
    sound,
    usbTablet,
    usb,
    tpm,
    balloon,
    guestAgent,
    clipboard,
    shares,
    unmapped,
  };
}
