/**
 * A VM config as a libvirt domain (the XML `virsh define` takes): a pure function of the config
 * and where its files sit, like buildQemuArgs is for the argv. What libvirt has no word for comes
 * back in `unmapped`, said for a person, instead of being dropped in silence.
 */
import { createHash } from 'node:crypto';
import XMLBuilder from 'fast-xml-builder';
import type { DiskConfig, VmConfig } from '../../../../common/contract';
import { libvirtDomainName } from '../../../../common/rules/libvirt';
import { hasCdDrive } from '../../qemu/args';

/** What the domain depends on besides the config: the files as they sit where it is exported. */
export interface DomainXmlContext {
  /** The versioned machine type QEMU resolves the config's alias to (q35 -> pc-q35-7.2). */
  machineType: string;
  /** Each disk's file, in the config's order, as the libvirt host will find it. */
  diskPaths: string[];
  /** The cloud-init seed volume's file, when the VM has one. */
  seedPath?: string | null;
  /** UEFI: the read-only code image (OVMF's Secure Boot build for `secureBoot`) on the host. */
  loader?: string | null;
  /** UEFI: the VM's own variable store, raw (libvirt 9.0 reads no other format). */
  nvram?: string | null;
  /**
   * How a NAT card reaches the world: libvirt's `default` network (virt-manager's choice, NAT by
   * libvirt's dnsmasq) or QEMU's user-mode stack inside the domain (works without root).
   */
  natAs?: 'network' | 'user';
}

export interface DomainXml {
  /** The domain's name: the VM's, without the `/` libvirt refuses. */
  name: string;
  uuid: string;
  xml: string;
  /** What the domain could not carry, one sentence each. */
  unmapped: string[];
}

/** Where Vivarium keeps what libvirt has no element for (the catalogue entry), in <metadata>. */
export const VIVARIUM_XMLNS = 'https://vivarium.invalid/xmlns/libvirt/1';

/** A stable domain UUID from the VM's id: the same VM exported twice is the same domain. */
export function domainUuid(vmId: string): string {
  const h = createHash('sha256').update(`vivarium-vm:${vmId}`).digest('hex');
  // RFC 4122 version 5-style layout (name-based), so tools that check the variant accept it.
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** libvirt refuses `/` in a domain name (it names files after it). */
export const domainName = libvirtDomainName;

type Node = Record<string, unknown>;

const DISK_CACHE = {
  writeback: 'writeback',
  none: 'none',
  writethrough: 'writethrough',
  directsync: 'directsync',
  unsafe: 'unsafe',
} as const;

const NIC_MODEL = {
  'virtio-net-pci': 'virtio',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
  ne2k_pci: 'ne2k_pci',
  pcnet: 'pcnet',
} as const;

const VIDEO_MODEL = {
  std: 'vga',
  virtio: 'virtio',
  cirrus: 'cirrus',
  ramfb: 'ramfb',
  none: 'none',
} as const;
const SOUND_MODEL = { hda: 'ich9', ac97: 'ac97', sb16: 'sb16' } as const;
const BOOT_DEV = { disk: 'hd', cdrom: 'cdrom', network: 'network' } as const;

/** Device names libvirt derives its guest-side order from: vda, sdb, hdc... */
function driveLetter(n: number): string {
  let s = '';
  let i = n;
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return s;
}

/** The guest bus a disk sits on under libvirt: q35 has no IDE, so its IDE disks are on AHCI. */
function guestBus(config: VmConfig, bus: DiskConfig['bus']): 'virtio' | 'scsi' | 'sata' | 'ide' {
  if (bus === 'ide' && config.machine === 'q35') return 'sata';
  return bus;
}

class TargetNames {
  private used = { vd: 0, sd: 0, hd: 0 };
  next(bus: 'virtio' | 'scsi' | 'sata' | 'ide' | 'usb'): string {
    const prefix = bus === 'virtio' ? 'vd' : bus === 'ide' ? 'hd' : 'sd';
    return `${prefix}${driveLetter(this.used[prefix]++)}`;
  }
}

function cpuNode(config: VmConfig, unmapped: string[]): Node {
  const topology = {
    '@_sockets': 1,
    '@_dies': 1,
    '@_cores': config.cpu.count,
    '@_threads': 1,
  };
  // 'host' needs a hardware accelerator; a TCG VM gets what TCG emulates, as its argv does.
  if (config.cpu.model === 'host' && config.accel !== 'tcg') {
    return { '@_mode': 'host-passthrough', topology };
  }
  if (config.cpu.model === 'host') return { '@_mode': 'maximum', '@_check': 'none', topology };
  // QEMU's 'max' is every feature the accelerator can give: libvirt's mode="maximum".
  if (config.cpu.model === 'max') return { '@_mode': 'maximum', '@_check': 'none', topology };
  if (!/^[A-Za-z0-9_.-]+$/.test(config.cpu.model)) {
    unmapped.push(`The CPU model ${config.cpu.model} has no libvirt name: the domain uses maximum`);
    return { '@_mode': 'maximum', topology };
  }
  return {
    '@_mode': 'custom',
    '@_match': 'exact',
    '@_check': 'none',
    model: { '@_fallback': 'forbid', '#text': config.cpu.model },
    topology,
  };
}

function osNode(config: VmConfig, ctx: DomainXmlContext, unmapped: string[]): Node {
  const os: Node = {
    type: { '@_arch': 'x86_64', '@_machine': ctx.machineType, '#text': 'hvm' },
  };
  if (config.firmware === 'uefi') {
    if (!ctx.loader || !ctx.nvram) {
      throw new Error('A UEFI VM exports with its firmware image and variable store');
    }
    os['loader'] = {
      '@_readonly': 'yes',
      ...(config.secureBoot ? { '@_secure': 'yes' } : {}),
      '@_type': 'pflash',
      '#text': ctx.loader,
    };
    os['nvram'] = ctx.nvram;
  }
  const k = config.kernelBoot;
  if (k) {
    os['kernel'] = k.kernel;
    if (k.initrd) os['initrd'] = k.initrd;
    if (k.append) os['cmdline'] = k.append;
    unmapped.push(
      `The domain boots the kernel ${k.kernel}${k.initrd ? ` and initrd ${k.initrd}` : ''} by their paths on this computer: copy them to the same paths on the libvirt host`,
    );
  } else {
    // PXE boot needs a card with a cable.
    os['boot'] = config.bootOrder
      .filter((d) => d !== 'cdrom' || hasCdDrive(config))
      .map((d) => ({ '@_dev': BOOT_DEV[d] }));
  }
  return os;
}

function diskNodes(config: VmConfig, ctx: DomainXmlContext, names: TargetNames): Node[] {
  if (ctx.diskPaths.length !== config.disks.length) {
    throw new Error(`The VM has ${config.disks.length} disks, the export ${ctx.diskPaths.length}`);
  }
  const nodes: Node[] = config.disks.map((disk, i) => {
    const bus = guestBus(config, disk.bus);
    return {
      '@_type': 'file',
      '@_device': 'disk',
      driver: {
        '@_name': 'qemu',
        // The export writes every disk as qcow2 (a raw one is converted on the way).
        '@_type': 'qcow2',
        '@_cache': DISK_CACHE[disk.cache],
        ...(disk.bus === 'virtio' || disk.bus === 'scsi' ? { '@_discard': 'unmap' } : {}),
      },
      source: { '@_file': ctx.diskPaths[i] },
      target: { '@_dev': names.next(bus), '@_bus': bus },
      ...(disk.readOnly ? { readonly: '' } : {}),
    };
  });
  if (config.cloudInit && ctx.seedPath) {
    nodes.push({
      '@_type': 'file',
      '@_device': 'disk',
      driver: { '@_name': 'qemu', '@_type': 'raw' },
      source: { '@_file': ctx.seedPath },
      target: { '@_dev': names.next('virtio'), '@_bus': 'virtio' },
      readonly: '',
      // cloud-init finds its NoCloud seed by the volume label; the serial is what Vivarium gives.
      serial: 'cidata',
    });
  }
  if (hasCdDrive(config)) {
    const bus = config.machine === 'q35' ? 'sata' : 'ide';
    nodes.push({
      '@_type': 'file',
      '@_device': 'cdrom',
      driver: { '@_name': 'qemu', '@_type': 'raw' },
      ...(config.cdrom ? { source: { '@_file': config.cdrom } } : {}),
      target: { '@_dev': names.next(bus), '@_bus': bus },
      readonly: '',
    });
  }
  for (const usb of config.usb) {
    if (usb.kind !== 'drive') continue;
    nodes.push({
      '@_type': 'file',
      '@_device': 'disk',
      driver: { '@_name': 'qemu', '@_type': usb.format },
      source: { '@_file': usb.file },
      target: { '@_dev': names.next('usb'), '@_bus': 'usb', '@_removable': 'on' },
      ...(usb.readOnly ? { readonly: '' } : {}),
    });
  }
  return nodes;
}

function interfaceNodes(config: VmConfig, ctx: DomainXmlContext, unmapped: string[]): Node[] {
  return config.nics.map((nic, i) => {
    const common = {
      mac: { '@_address': nic.mac },
      model: { '@_type': NIC_MODEL[nic.model] },
    };
    const a = nic.attach;
    switch (a.kind) {
      case 'nat':
        if (a.forwards.length) {
          unmapped.push(
            `Card ${i + 1}'s port forwards (${a.forwards.map((f) => `${f.protocol} ${f.hostAddress}:${f.hostPort}->${f.guestPort}`).join(', ')}): add them on the libvirt host (iptables, or a passt interface)`,
          );
        }
        if (!a.internet) {
          unmapped.push(
            `Card ${i + 1} keeps the guest off the internet: give the libvirt host an isolated network for it`,
          );
        }
        return ctx.natAs === 'user'
          ? { '@_type': 'user', ...common }
          : { '@_type': 'network', source: { '@_network': 'default' }, ...common };
      case 'network':
        unmapped.push(
          `Card ${i + 1} is on Vivarium's private network "${a.network}": the domain expects a libvirt network of that name (virsh net-define)`,
        );
        return { '@_type': 'network', source: { '@_network': a.network }, ...common };
      case 'bridge':
        return { '@_type': 'bridge', source: { '@_bridge': a.bridge }, ...common };
      case 'none':
        return {
          '@_type': 'network',
          source: { '@_network': 'default' },
          ...common,
          link: { '@_state': 'down' },
        };
    }
  });
}

function filesystemNodes(config: VmConfig, unmapped: string[]): Node[] {
  const nodes: Node[] = [];
  for (const share of config.shares) {
    const ro = share.readOnly ? { readonly: '' } : {};
    if (share.mode === '9p') {
      // security_model=none, as Vivarium runs it: libvirt calls that "squash".
      nodes.push({
        '@_type': 'mount',
        '@_accessmode': 'squash',
        source: { '@_dir': share.path },
        target: { '@_dir': share.tag },
        ...ro,
      });
    } else if (share.mode === 'virtiofs') {
      nodes.push({
        '@_type': 'mount',
        '@_accessmode': 'passthrough',
        driver: { '@_type': 'virtiofs' },
        source: { '@_dir': share.path },
        target: { '@_dir': share.tag },
        ...ro,
      });
    } else {
      unmapped.push(
        `The SMB share ${share.tag} (${share.path}) is served by QEMU's user network, which libvirt does not configure: share it with Samba on the libvirt host`,
      );
    }
  }
  if (nodes.length) {
    unmapped.push(
      `Shared folders point at ${config.shares
        .filter((s) => s.mode !== 'smb')
        .map((s) => s.path)
        .join(', ')} on this computer: they must exist on the libvirt host`,
    );
  }
  return nodes;
}

function usbHostNodes(config: VmConfig, unmapped: string[]): Node[] {
  for (const d of config.usb) {
    if (d.kind === 'host' && (d.bus !== undefined || d.port !== undefined)) {
      // libvirt picks by bus and device number, which changes at each plug-in; Vivarium's port path has no libvirt word.
      unmapped.push(
        `The USB device ${d.vendorId}:${d.productId}${d.name ? ` (${d.name})` : ''} is picked by vendor and product only: its host port is not carried`,
      );
    }
  }
  return config.usb.flatMap((d) =>
    d.kind === 'host'
      ? [
          {
            '@_mode': 'subsystem',
            '@_type': 'usb',
            '@_managed': 'yes',
            source: {
              '@_startupPolicy': 'optional',
              vendor: { '@_id': `0x${d.vendorId}` },
              product: { '@_id': `0x${d.productId}` },
            },
          },
        ]
      : [],
  );
}

function channelNodes(config: VmConfig): Node[] {
  const nodes: Node[] = [];
  if (config.guestAgent) {
    nodes.push({
      '@_type': 'unix',
      target: { '@_type': 'virtio', '@_name': 'org.qemu.guest_agent.0' },
    });
  }
  if (config.clipboard) {
    nodes.push({
      '@_type': 'qemu-vdagent',
      source: { clipboard: { '@_copypaste': 'yes' } },
      target: { '@_type': 'virtio', '@_name': 'com.redhat.spice.0' },
    });
  }
  return nodes;
}

function devicesNode(config: VmConfig, ctx: DomainXmlContext, unmapped: string[]): Node {
  const names = new TargetNames();
  const disks = diskNodes(config, ctx, names);
  const controllers: Node[] = [{ '@_type': 'usb', '@_index': 0, '@_model': 'qemu-xhci' }];
  if (config.disks.some((d) => d.bus === 'scsi')) {
    controllers.push({ '@_type': 'scsi', '@_index': 0, '@_model': 'virtio-scsi' });
  }
  const devices: Node = {
    disk: disks,
    controller: controllers,
    filesystem: filesystemNodes(config, unmapped),
    interface: interfaceNodes(config, ctx, unmapped),
    // A pty: `virsh console NAME` reaches the guest's first serial port.
    serial: { '@_type': 'pty', target: { '@_port': 0 } },
    console: { '@_type': 'pty', target: { '@_type': 'serial', '@_port': 0 } },
    channel: channelNodes(config),
    input: config.usbTablet ? [{ '@_type': 'tablet', '@_bus': 'usb' }] : [],
    graphics: { '@_type': 'vnc', '@_port': -1, '@_autoport': 'yes' },
    sound:
      config.sound === 'none'
        ? []
        : [{ '@_model': SOUND_MODEL[config.sound], audio: { '@_id': 1 } }],
    // No host playback, as under Vivarium.
    audio: config.sound === 'none' ? [] : [{ '@_id': 1, '@_type': 'none' }],
    video: { model: { '@_type': VIDEO_MODEL[config.video] } },
    hostdev: usbHostNodes(config, unmapped),
    tpm: config.tpm
      ? {
          '@_model': config.machine === 'q35' ? 'tpm-crb' : 'tpm-tis',
          backend: { '@_type': 'emulator', '@_version': '2.0' },
        }
      : [],
    // libvirt adds a balloon unless told not to.
    memballoon: config.balloon
      ? { '@_model': 'virtio', '@_autodeflate': 'on' }
      : { '@_model': 'none' },
  };
  return devices;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
});

/** The libvirt domain for a VM config whose files sit where `ctx` says. */
export function buildDomainXml(config: VmConfig, ctx: DomainXmlContext): DomainXml {
  const unmapped: string[] = [];
  if (config.secureBoot && (config.firmware !== 'uefi' || config.machine !== 'q35')) {
    throw new Error('Secure Boot needs UEFI firmware on the q35 machine');
  }
  const name = domainName(config.name);
  if (name !== config.name) {
    unmapped.push(`libvirt refuses "/" in a domain name: the domain is called ${name}`);
  }
  const uuid = domainUuid(config.id);
  const virtiofs = config.shares.some((s) => s.mode === 'virtiofs');
  const domain: Node = {
    // A VM set to TCG stays on TCG (a host whose KVM is broken, a foreign guest): libvirt's "qemu".
    '@_type': config.accel === 'tcg' ? 'qemu' : 'kvm',
    name,
    uuid,
    ...(config.notes ? { description: config.notes } : {}),
    metadata: {
      'vivarium:vm': { '@_xmlns:vivarium': VIVARIUM_XMLNS, '@_os': config.os },
    },
    memory: { '@_unit': 'MiB', '#text': config.memoryMiB },
    currentMemory: { '@_unit': 'MiB', '#text': config.memoryMiB },
    // vhost-user (virtiofsd) maps the guest's memory: it must be shared.
    ...(virtiofs
      ? { memoryBacking: { source: { '@_type': 'memfd' }, access: { '@_mode': 'shared' } } }
      : {}),
    vcpu: { '@_placement': 'static', '#text': config.cpu.count },
    os: osNode(config, ctx, unmapped),
    features: {
      acpi: '',
      apic: '',
      // OVMF's Secure Boot build keeps its variables behind SMM.
      ...(config.secureBoot ? { smm: { '@_state': 'on' } } : {}),
    },
    cpu: cpuNode(config, unmapped),
    clock: { '@_offset': 'utc' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: devicesNode(config, ctx, unmapped),
  };
  if (config.extraArgs.length) {
    unmapped.push(
      `Extra QEMU arguments (${config.extraArgs.join(' ')}): add them with <qemu:commandline> if the libvirt host should pass them`,
    );
  }
  if (config.cdrom) {
    unmapped.push(
      `The CD-ROM holds ${config.cdrom} from this computer: copy it to the same path, or eject it (virsh change-media)`,
    );
  }
  const xml: string = builder.build({ domain });
  return { name, uuid, xml, unmapped };
}

/** Where an export to `dir` puts each file of the VM (pure: the test and the service share it). */
export interface ExportLayout {
  xml: string;
  disks: string[];
  seed: string | null;
  nvram: string | null;
  /** swtpm's state folder as libvirt keeps it (its `tpm2/` holds tpm2-00.permall). */
  tpm: string | null;
}

export function exportLayout(config: VmConfig, dir: string): ExportLayout {
  const base = `${dir.replace(/\/+$/, '')}/${domainName(config.name)}`;
  return {
    xml: `${base}.xml`,
    // Every exported disk is qcow2: a raw disk is converted, so the host gets thin files.
    disks: config.disks.map((d) => `${base}-${d.id}.qcow2`),
    seed: config.cloudInit ? `${base}-cidata.iso` : null,
    nvram: config.firmware === 'uefi' ? `${base}_VARS.fd` : null,
    tpm: config.tpm ? `${base}-swtpm` : null,
  };
}
