import { isAbsolute, join } from 'node:path';
import {
  HOTPLUG_PORTS,
  type Accelerator,
  type DiskCache,
  type DiskConfig,
  type PortForward,
  type ShareConfig,
  type UsbDeviceConfig,
  type VmConfig,
} from '../../../common/contract';
import {
  ARCH_LABELS,
  archConfigProblem,
  archPreset,
  type VirtioTransport,
} from '../../../common/arch';
import { scsiTargets } from '../../../common/rules/disks';
import { SMBD_MISSING } from '../../../common/rules/shares';
import { VivariumError } from '../errors';

/** What the argv depends on besides the VM's config: the host and the VM's file locations. */
export interface LaunchContext {
  accel: Accelerator;
  platform: NodeJS.Platform;
  /** Read-only UEFI code image of the VM's architecture (OVMF, AAVMF); required for firmware 'uefi'. */
  ovmfCode: string | null;
  /** OVMF's Secure Boot build (SMM required); required for `secureBoot`. */
  ovmfSecureBootCode?: string | null;
  /** The control socket of a running swtpm (`swtpm socket --tpm2 --ctrl type=unixio,path=...`);
   * required for `tpm`. Whoever launches QEMU starts swtpm first. */
  tpmSocket?: string | null;
  /** Each private network's switch socket folder, by network name; required for cards on one. */
  networkSwitches?: Record<string, string>;
  /** qemu-bridge-helper; required for bridged cards. */
  bridgeHelper?: string | null;
  /** Host's smbd (Debian's samba); required for SMB shares, which QEMU runs it for. */
  smbd?: string | null;
  /** Each virtiofs share's virtiofsd socket, by tag; whoever launches QEMU starts them first. */
  virtiofsSockets?: Record<string, string>;
  vmDir: string;
  files: {
    qmpSockets: string[];
    qgaSock: string;
    vncSock: string;
    serialSock: string;
    monitorSock: string;
    pidFile: string;
    serialLog: string;
    nvram: string;
  };
}

/**
 * QemuOpts splits on commas; a doubled comma is a literal one. Every user-influenced value that
 * lands inside an option string goes through here, so it can never start a new option.
 */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** JSON option syntax (-blockdev, -device, -netdev) needs no escaping at all. */
function json(value: Record<string, unknown>): string {
  return JSON.stringify(value);
}

/** Absolute path of a disk file: relative ones live in the VM's folder. */
export function diskPath(vmDir: string, disk: Pick<DiskConfig, 'file'>): string {
  return isAbsolute(disk.file) ? disk.file : join(vmDir, disk.file);
}

type Section = (config: VmConfig, ctx: LaunchContext) => string[];

/**
 * x86 guests keep the device layout they always had (IDE/SATA CD drive, q35's hot-plug root
 * ports, PS/2 input); the other architectures' machines have none of those and get theirs from
 * their preset (common/arch.ts).
 */
function isX86(config: Pick<VmConfig, 'arch'>): boolean {
  return config.arch === 'x86_64';
}

/** A virtio device's driver on the VM's transport: 'virtio-blk' is virtio-blk-pci, or -ccw on IBM Z. */
export function virtioDriver(config: Pick<VmConfig, 'arch'>, base: string): string {
  return `${base}-${archPreset(config.arch).virtio}`;
}

/** The driver of a network card: the virtio card sits on CCW on IBM Z, the same model otherwise. */
export function nicDriver(
  config: Pick<VmConfig, 'arch'>,
  model: VmConfig['nics'][number]['model'],
) {
  return model === 'virtio-net-pci' ? virtioDriver(config, 'virtio-net') : model;
}

/** A config that does not fit its architecture's preset never reaches QEMU: say what to change. */
const archCheck: Section = (config) => {
  const problem = archConfigProblem({ ...config, kernelBoot: config.kernelBoot });
  if (problem) throw new VivariumError('INVALID_REQUEST', problem);
  return [];
};

/** The CD drive's device id: live medium changes (blockdev-change-medium, eject) name it. */
export const CDROM_DEVICE_ID = 'cd0-dev';
/** The block nodes the argv makes for a medium present at start (a live change replaces them). */
export const CDROM_START_NODES = ['cd0', 'cd0-file'] as const;

/** The VM's one xHCI controller: the tablet and every USB device hang on its bus. */
export const USB_CONTROLLER_ID = 'usb0';
export const USB_BUS = `${USB_CONTROLLER_ID}.0`;

/** QEMU's device id of a USB entry (a drive's block node is the entry id itself). */
export function usbDeviceId(entry: Pick<UsbDeviceConfig, 'id'>): string {
  return `${entry.id}-dev`;
}

/** The -blockdev of a USB drive's image, in JSON: the same object QMP blockdev-add takes. */
export function usbDriveBlockdev(entry: Extract<UsbDeviceConfig, { kind: 'drive' }>) {
  const ro = entry.readOnly ? { 'read-only': true } : {};
  return {
    driver: entry.format,
    'node-name': entry.id,
    ...ro,
    file: { driver: 'file', filename: entry.file, ...ro },
  };
}

/** The -device of a USB entry, in JSON: the same object QMP device_add takes. */
export function usbDeviceOptions(entry: UsbDeviceConfig): Record<string, unknown> {
  if (entry.kind === 'drive') {
    return {
      driver: 'usb-storage',
      id: usbDeviceId(entry),
      bus: USB_BUS,
      drive: entry.id,
      removable: true,
    };
  }
  // By vendor and product, QEMU takes the device whenever it is plugged in (at start or later);
  // bus and port pick one of several identical devices.
  return {
    driver: 'usb-host',
    id: usbDeviceId(entry),
    bus: USB_BUS,
    vendorid: parseInt(entry.vendorId, 16),
    productid: parseInt(entry.productId, 16),
    ...(entry.bus !== undefined ? { hostbus: entry.bus } : {}),
    ...(entry.port !== undefined ? { hostport: entry.port } : {}),
  };
}

const identity: Section = (config) => [
  '-name',
  `guest=${escapeOptionValue(config.name)},process=qemu-${config.id},debug-threads=on`,
  '-no-user-config',
  '-nodefaults',
  '-msg',
  'timestamp=on',
];

const machine: Section = (config, ctx) => {
  const opts: string[] = [config.machine];
  // virt's default GICv2 stops at 8 CPUs; 'max' is GICv3 under TCG and KVM alike.
  if (config.arch === 'aarch64') opts.push('gic-version=max');
  // pseries asks for the Spectre workarounds by default, which TCG has no need of and warns
  // about at every start; under KVM the defaults stay.
  if (config.machine === 'pseries' && ctx.accel === 'tcg') {
    opts.push('cap-cfpc=broken', 'cap-sbbc=broken', 'cap-ibs=broken', 'cap-ccf-assist=off');
  }
  // Secure Boot keeps the variable store away from the OS: only SMM code may write it.
  if (config.secureBoot) opts.push('smm=on');
  if (config.firmware === 'uefi') opts.push('pflash0=fw-code', 'pflash1=fw-vars');
  if (needsSharedMemory(config)) opts.push(`memory-backend=${SHARED_RAM_ID}`);
  return ['-machine', opts.join(',')];
};

/** The RAM object of a VM whose memory virtiofsd maps (vhost-user needs it shared, memfd). */
const SHARED_RAM_ID = 'ram0';

function needsSharedMemory(config: VmConfig): boolean {
  return config.shares.some((s) => s.mode === 'virtiofs');
}

const accelerator: Section = (_config, ctx) => [
  '-accel',
  ctx.accel === 'tcg' ? 'tcg,thread=multi' : ctx.accel,
];

const cpu: Section = (config, ctx) => {
  // 'host' only exists under a hardware accelerator; TCG emulates 'max' instead.
  const model = config.cpu.model === 'host' && ctx.accel === 'tcg' ? 'max' : config.cpu.model;
  // Under emulation the preset's properties of 'max' apply (aarch64: QEMU's own pointer
  // authentication, a third of the boot time of the architected one).
  const props = model === 'max' && ctx.accel === 'tcg' ? archPreset(config.arch).cpuMaxProps : [];
  return ['-cpu', [model, ...props].join(','), '-smp', String(config.cpu.count)];
};

const memory: Section = (config) => [
  '-m',
  `${config.memoryMiB}M`,
  ...(needsSharedMemory(config)
    ? [
        '-object',
        json({
          'qom-type': 'memory-backend-memfd',
          id: SHARED_RAM_ID,
          size: config.memoryMiB * 1024 * 1024,
          share: true,
        }),
      ]
    : []),
];

const firmware: Section = (config, ctx) => {
  if (config.secureBoot && (config.firmware !== 'uefi' || config.machine !== 'q35')) {
    throw new VivariumError(
      'INVALID_REQUEST',
      'Secure Boot needs UEFI firmware on the q35 machine: change them, or turn Secure Boot off.',
    );
  }
  // OpenSBI, QEMU's own build: it starts the kernel given with -kernel (or U-Boot) in S-mode.
  if (config.arch === 'riscv64') return ['-bios', 'default'];
  if (config.firmware !== 'uefi') return [];
  const code = config.secureBoot ? ctx.ovmfSecureBootCode : ctx.ovmfCode;
  if (!code && !isX86(config)) {
    const p = archPreset(config.arch);
    throw new VivariumError(
      'QEMU_MISSING',
      `UEFI firmware for ${ARCH_LABELS[config.arch]} guests was not found: sudo apt install ${p.debianPackages.join(' ')}`,
    );
  }
  if (!code) {
    throw new VivariumError(
      'QEMU_MISSING',
      config.secureBoot
        ? "Secure Boot needs OVMF's Secure Boot build (OVMF_CODE_4M.secboot.fd, Debian/Ubuntu package ovmf), which was not found: turn Secure Boot off in the VM settings."
        : 'UEFI firmware (OVMF) was not found: install it (Debian/Ubuntu: sudo apt install ovmf) or switch the VM to BIOS.',
    );
  }
  return [
    ...(config.secureBoot ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    '-blockdev',
    json({ driver: 'file', filename: code, 'node-name': 'fw-code-file', 'read-only': true }),
    '-blockdev',
    json({ driver: 'raw', file: 'fw-code-file', 'node-name': 'fw-code', 'read-only': true }),
    '-blockdev',
    json({ driver: 'file', filename: ctx.files.nvram, 'node-name': 'fw-vars-file' }),
    // Stored as qcow2 so live snapshots can include the UEFI variables.
    '-blockdev',
    json({ driver: 'qcow2', file: 'fw-vars-file', 'node-name': 'fw-vars' }),
  ];
};

/** Boot priority of each device class, from the config's boot order (1 = first). */
function bootIndex(config: VmConfig, device: 'disk' | 'cdrom' | 'network'): number | undefined {
  if (config.kernelBoot) return undefined;
  const at = config.bootOrder.indexOf(device);
  return at < 0 ? undefined : at + 1;
}

/**
 * Storage controllers hand out ports in a fixed order: q35 has a built-in AHCI controller
 * (buses ide.0-ide.5, one device each); pc has PIIX IDE (ide.0/ide.1, two units each) and gets an
 * AHCI controller added when a SATA disk asks for one.
 */
function storageLayout(config: VmConfig) {
  const needsAhci = config.machine === 'pc' && config.disks.some((d) => d.bus === 'sata');
  let ahciPort = 0;
  let idePort = 0;
  const ahciBus =
    config.machine === 'q35' ? (n: number) => `ide.${n}` : (n: number) => `ahci0.${n}`;
  const nextAhci = () => {
    if (ahciPort >= 6) {
      throw new VivariumError('INVALID_REQUEST', 'At most 6 SATA/IDE devices fit on this machine');
    }
    return { bus: ahciBus(ahciPort++) };
  };
  const nextIde = () => {
    if (config.machine === 'q35') return nextAhci();
    if (idePort >= 4) throw new VivariumError('INVALID_REQUEST', 'At most 4 IDE devices fit');
    const port = idePort++;
    return { bus: `ide.${port >> 1}`, unit: port & 1 };
  };
  /** Whether one more IDE/SATA device would fit. */
  const ideFree = () => (config.machine === 'q35' ? ahciPort < 6 : idePort < 4);
  return { needsAhci, nextAhci, nextIde, ideFree };
}

/** Whether the VM gets a CD drive at start: one with a disc always, an empty one where a port is free. */
export function hasCdDrive(config: VmConfig): boolean {
  if (config.cdrom) return true;
  if (config.layout < 2) return false;
  if (!isX86(config)) return true;
  const layout = storageLayout(config);
  for (const disk of config.disks) {
    if (disk.bus === 'sata') layout.nextAhci();
    else if (disk.bus === 'ide') layout.nextIde();
  }
  return layout.ideFree();
}

/**
 * Each cache mode as QEMU's -drive cache= spells it out: `cache.direct` (O_DIRECT, past the host's
 * page cache) and `cache.no-flush` (the guest's flushes are dropped) on both block nodes, and the
 * write cache the guest device reports (off: every write is a flush). writeback is QEMU's default
 * and adds nothing, so disks made before cache modes existed start exactly as they did.
 */
const CACHE_OPTIONS: Record<DiskCache, { direct: boolean; noFlush: boolean; writeCache: boolean }> =
  {
    writeback: { direct: false, noFlush: false, writeCache: true },
    none: { direct: true, noFlush: false, writeCache: true },
    writethrough: { direct: false, noFlush: false, writeCache: false },
    directsync: { direct: true, noFlush: false, writeCache: false },
    unsafe: { direct: false, noFlush: true, writeCache: true },
  };

function nodeCache(cache: DiskCache): Record<string, unknown> {
  const c = CACHE_OPTIONS[cache];
  if (!c.direct && !c.noFlush) return {};
  return { cache: { direct: c.direct, 'no-flush': c.noFlush } };
}

function deviceCache(cache: DiskCache): Record<string, unknown> {
  return CACHE_OPTIONS[cache].writeCache ? {} : { 'write-cache': 'off' };
}

/** The id of spare root port `n` (q35) and of the SCSI controller. */
export function hotplugPortId(n: number): string {
  return `hp${n}`;
}
export const SCSI_CONTROLLER_ID = 'scsi0';

/** The two block nodes of a disk (file, then format), as -blockdev and QMP blockdev-add take them. */
export function diskBlockdevs(
  vmDir: string,
  disk: DiskConfig,
): [Record<string, unknown>, Record<string, unknown>] {
  const ro = disk.readOnly ? { 'read-only': true } : {};
  return [
    {
      driver: 'file',
      filename: diskPath(vmDir, disk),
      'node-name': `${disk.id}-file`,
      ...ro,
      ...nodeCache(disk.cache),
    },
    {
      driver: disk.format,
      file: `${disk.id}-file`,
      'node-name': disk.id,
      ...ro,
      ...nodeCache(disk.cache),
    },
  ];
}

/**
 * A virtio or SCSI disk's device, as -device and QMP device_add take it. Where it sits is in its
 * config (`port`): the same spare root port or SCSI target at every start as when it was plugged
 * in, so snapshots of the running VM load into the same layout.
 */
export function diskDevice(
  disk: DiskConfig,
  extra: Record<string, unknown> = {},
  transport: VirtioTransport = 'pci',
): Record<string, unknown> {
  const base = { drive: disk.id, id: `${disk.id}-dev`, ...deviceCache(disk.cache), ...extra };
  if (disk.bus === 'scsi') {
    return {
      driver: 'scsi-hd',
      bus: `${SCSI_CONTROLLER_ID}.0`,
      ...(disk.port === undefined ? {} : { 'scsi-id': disk.port, lun: 0 }),
      ...base,
    };
  }
  return {
    driver: `virtio-blk-${transport}`,
    ...(disk.port === undefined ? {} : { bus: hotplugPortId(disk.port) }),
    ...base,
  };
}

/**
 * Devices on the spare root ports and the SCSI controller come after those buses, which come
 * late in the argv (see hotplugBuses): the disks on the root bus come first, as they always did.
 */
function onHotplugBus(config: VmConfig, disk: DiskConfig): boolean {
  if (!isX86(config)) return false;
  return (
    disk.bus === 'scsi' ||
    (disk.bus === 'virtio' && disk.port !== undefined && hasHotplugBuses(config))
  );
}

function diskBootProps(config: VmConfig, disk: DiskConfig): Record<string, unknown> {
  if (disk !== config.disks[0]) return {};
  const boot = bootIndex(config, 'disk');
  return boot === undefined ? {} : { bootindex: boot };
}

/**
 * The SCSI target of the CD drive on machines where it sits on the SCSI controller: the one after
 * every target a disk can hold, so disks added later never move it.
 */
export const CDROM_SCSI_TARGET = HOTPLUG_PORTS;

/**
 * Disks and the CD drive of a machine without IDE/SATA (ARM, POWER, IBM Z, RISC-V virt): virtio
 * disks on the root bus, SCSI disks and the CD drive (empty from device layout 2, so a disc can go
 * in while the guest runs) on one virtio-scsi controller, which the firmware boots from too.
 */
function drivesWithoutIde(config: VmConfig, ctx: LaunchContext): string[] {
  const transport = archPreset(config.arch).virtio;
  const args: string[] = [];
  const cd = hasCdDrive(config);
  if (cd || config.disks.some((d) => d.bus === 'scsi')) {
    args.push('-device', json({ driver: `virtio-scsi-${transport}`, id: SCSI_CONTROLLER_ID }));
  }
  const targets = scsiTargets(config.disks);
  let scsiIndex = 0;
  for (const disk of config.disks) {
    const [file, format] = diskBlockdevs(ctx.vmDir, disk);
    args.push('-blockdev', json(file), '-blockdev', json(format));
    const placed =
      disk.bus === 'scsi' ? { ...disk, port: targets[scsiIndex++] } : { ...disk, port: undefined };
    args.push('-device', json(diskDevice(placed, diskBootProps(config, disk), transport)));
  }
  if (!cd) return args;
  const boot = bootIndex(config, 'cdrom');
  if (config.cdrom) {
    args.push(
      '-blockdev',
      json({ driver: 'file', filename: config.cdrom, 'node-name': 'cd0-file', 'read-only': true }),
      '-blockdev',
      json({ driver: 'raw', file: 'cd0-file', 'node-name': 'cd0', 'read-only': true }),
    );
  }
  args.push(
    '-device',
    json({
      driver: 'scsi-cd',
      ...(config.cdrom ? { drive: 'cd0' } : {}),
      id: CDROM_DEVICE_ID,
      bus: `${SCSI_CONTROLLER_ID}.0`,
      'scsi-id': CDROM_SCSI_TARGET,
      lun: 0,
      ...(boot === undefined ? {} : { bootindex: boot }),
    }),
  );
  return args;
}

const drives: Section = (config, ctx) => {
  if (!isX86(config)) return drivesWithoutIde(config, ctx);
  const args: string[] = [];
  const layout = storageLayout(config);
  if (layout.needsAhci) args.push('-device', json({ driver: 'ahci', id: 'ahci0' }));
  for (const disk of config.disks) {
    const [file, format] = diskBlockdevs(ctx.vmDir, disk);
    args.push('-blockdev', json(file), '-blockdev', json(format));
    const bootProp = diskBootProps(config, disk);
    if (onHotplugBus(config, disk)) continue;
    if (disk.bus === 'virtio') {
      args.push('-device', json(diskDevice({ ...disk, port: undefined }, bootProp)));
    } else {
      const slot = disk.bus === 'sata' ? layout.nextAhci() : layout.nextIde();
      args.push(
        '-device',
        json({
          driver: 'ide-hd',
          drive: disk.id,
          id: `${disk.id}-dev`,
          ...deviceCache(disk.cache),
          ...slot,
          ...bootProp,
        }),
      );
    }
  }
  const boot = bootIndex(config, 'cdrom');
  const bootProp = boot === undefined ? {} : { bootindex: boot };
  if (config.cdrom) {
    args.push(
      '-blockdev',
      json({ driver: 'file', filename: config.cdrom, 'node-name': 'cd0-file', 'read-only': true }),
      '-blockdev',
      json({ driver: 'raw', file: 'cd0-file', 'node-name': 'cd0', 'read-only': true }),
      '-device',
      json({
        driver: 'ide-cd',
        drive: 'cd0',
        id: CDROM_DEVICE_ID,
        ...layout.nextIde(),
        ...bootProp,
      }),
    );
  } else if (config.layout >= 2 && layout.ideFree()) {
    // An empty drive, so a disc can be inserted while the guest runs (QEMU cannot add a CD
    // drive live); a machine whose IDE/SATA ports are all disks goes without.
    args.push(
      '-device',
      json({ driver: 'ide-cd', id: CDROM_DEVICE_ID, ...layout.nextIde(), ...bootProp }),
    );
  }
  return args;
};

const kernel: Section = (config) => {
  const k = config.kernelBoot;
  if (!k) return [];
  // -kernel/-initrd/-append take their value whole; commas are not option separators there.
  const args = ['-kernel', k.kernel];
  if (k.initrd) args.push('-initrd', k.initrd);
  if (k.append) args.push('-append', k.append);
  return args;
};

function hostForward(f: PortForward): { str: string } {
  return { str: `${f.protocol}:${f.hostAddress}:${f.hostPort}-:${f.guestPort}` };
}

/** The netdev id of card `i`: live forwards (HMP hostfwd_add) and set_link name it. */
export function nicNetdevId(i: number): string {
  return `net${i}`;
}

/** The device id of card `i`. */
export function nicDeviceId(i: number): string {
  return `net${i}-dev`;
}

function nicBackend(
  config: VmConfig,
  ctx: LaunchContext,
  i: number,
): Record<string, unknown> | null {
  const nic = config.nics[i];
  if (!nic) return null;
  const id = nicNetdevId(i);
  const a = nic.attach;
  switch (a.kind) {
    case 'nat': {
      const smb = smbShareOfCard(config, i);
      if (smb && !ctx.smbd) throw new VivariumError('QEMU_MISSING', SMBD_MISSING);
      return {
        type: 'user',
        id,
        ...(a.internet ? {} : { restrict: true }),
        ...(a.forwards.length ? { hostfwd: a.forwards.map(hostForward) } : {}),
        ...(smb ? { smb: smb.path } : {}),
      };
    }
    case 'network': {
      const sock = ctx.networkSwitches?.[a.network];
      if (!sock) {
        throw new VivariumError(
          'INVALID_REQUEST',
          `Card ${i + 1} is on the network "${a.network}", whose switch is not running: start it first (the engine does when the VM starts)`,
        );
      }
      return { type: 'vde', id, sock };
    }
    case 'bridge':
      if (!ctx.bridgeHelper) {
        throw new VivariumError(
          'INVALID_REQUEST',
          `Card ${i + 1} is bridged to ${a.bridge}, but qemu-bridge-helper was not found`,
        );
      }
      return { type: 'bridge', id, br: a.bridge, helper: ctx.bridgeHelper };
    case 'none':
      // No netdev: the card is there with no cable (QEMU warns "nic has no peer"; the engine
      // also sets its link down once QMP answers).
      return null;
  }
}

/**
 * QEMU's user-mode network serves one SMB folder (its `smb=` runs one smbd per NAT card): the
 * first SMB share goes to the first NAT card, the second to the second, and so on.
 */
export function smbShareOfCard(config: VmConfig, card: number): ShareConfig | null {
  const natCards = config.nics.flatMap((n, i) => (n.attach.kind === 'nat' ? [i] : []));
  const at = natCards.indexOf(card);
  if (at < 0) return null;
  return config.shares.filter((s) => s.mode === 'smb')[at] ?? null;
}

/** Why the VM's SMB shares do not fit its NAT cards, or null. */
export function smbSharesProblem(config: Pick<VmConfig, 'nics' | 'shares'>): string | null {
  const smb = config.shares.filter((s) => s.mode === 'smb');
  if (!smb.length) return null;
  const nat = config.nics.filter((n) => n.attach.kind === 'nat').length;
  if (nat === 0) {
    return 'SMB sharing goes through a NAT network card (QEMU’s user-mode network serves it at 10.0.2.4), and this VM has none: add a NAT card, or use 9p.';
  }
  if (smb.length > nat) {
    return `QEMU serves one SMB folder per NAT card, and this VM has ${nat} NAT card${nat === 1 ? '' : 's'}: share a parent folder, add a NAT card, or use 9p.`;
  }
  return null;
}

const network: Section = (config, ctx) => {
  const problem = smbSharesProblem(config);
  if (problem) throw new VivariumError('INVALID_REQUEST', problem);
  const boot = bootIndex(config, 'network');
  return config.nics.flatMap((nic, i) => {
    const backend = nicBackend(config, ctx, i);
    return [
      ...(backend ? ['-netdev', json(backend)] : []),
      '-device',
      json({
        driver: nicDriver(config, nic.model),
        ...(backend ? { netdev: nicNetdevId(i) } : {}),
        id: nicDeviceId(i),
        mac: nic.mac,
        // PXE boots from the first card.
        ...(boot === undefined || i > 0 ? {} : { bootindex: boot }),
      }),
    ];
  });
};

/**
 * The NoCloud seed of a guest made from a cloud image, read-only on virtio-blk: cloud kernels have
 * virtio but often no AHCI, so a SATA CD-ROM would go unseen. cloud-init finds it by its label.
 */
const cloudSeed: Section = (config, ctx) => {
  if (!config.cloudInit) return [];
  return [
    '-blockdev',
    json({
      driver: 'raw',
      'node-name': 'seed0',
      'read-only': true,
      file: {
        driver: 'file',
        filename: diskPath(ctx.vmDir, { file: config.cloudInit.seed }),
        'read-only': true,
      },
    }),
    '-device',
    json({
      driver: virtioDriver(config, 'virtio-blk'),
      drive: 'seed0',
      id: 'seed0-dev',
      serial: 'cidata',
    }),
  ];
};

/** The channel the QEMU guest agent in the guest opens by its well-known name. */
const guestAgent: Section = (config, ctx) => {
  if (!config.guestAgent) return [];
  return [
    '-device',
    json({ driver: virtioDriver(config, 'virtio-serial'), id: 'vser0' }),
    '-chardev',
    unixServer('qga0', ctx.files.qgaSock),
    '-device',
    json({
      driver: 'virtserialport',
      bus: 'vser0.0',
      chardev: 'qga0',
      name: 'org.qemu.guest_agent.0',
      id: 'qga0-port',
    }),
  ];
};

/** The fsdev (9p) or chardev (virtiofs) id of a share, and its device's id. */
export function shareBackendId(tag: string): string {
  return `share-${tag}`;
}

export function shareDeviceId(tag: string): string {
  return `share-${tag}-dev`;
}

/**
 * 9p and virtiofs shares (SMB ones live on their NAT card). 9p uses security_model=none: the
 * guest's files are created as the user running QEMU and host files keep their owners, which is
 * what works for a normal user's folder (passthrough needs root to chown, mapped-xattr needs a
 * filesystem with user xattrs and hides the host's own permissions).
 */
const shares: Section = (config, ctx) =>
  config.shares.flatMap((share) => {
    const id = shareBackendId(share.tag);
    if (share.mode === '9p') {
      return [
        '-fsdev',
        `local,id=${id},path=${escapeOptionValue(share.path)},security_model=none${share.readOnly ? ',readonly=on' : ''}`,
        '-device',
        json({
          driver: virtioDriver(config, 'virtio-9p'),
          fsdev: id,
          mount_tag: share.tag,
          id: shareDeviceId(share.tag),
        }),
      ];
    }
    if (share.mode === 'virtiofs') {
      const sock = ctx.virtiofsSockets?.[share.tag];
      if (!sock) {
        throw new VivariumError(
          'INVALID_REQUEST',
          `The shared folder '${share.tag}' uses virtiofs, whose virtiofsd is not running: the engine starts it when the VM starts`,
        );
      }
      return [
        '-chardev',
        `socket,id=${id},path=${escapeOptionValue(sock)}`,
        '-device',
        json({
          driver: virtioDriver(config, 'vhost-user-fs'),
          chardev: id,
          tag: share.tag,
          id: shareDeviceId(share.tag),
        }),
      ];
    }
    return [];
  });

/** The clipboard channel's ids: detached and attached again around snapshots (snapshots/). */
export const VDAGENT = {
  chardev: 'vdagent0',
  bus: 'vdagent-serial',
  port: 'vdagent0-port',
  portName: 'com.redhat.spice.0',
  /** Fixed so a re-attached port gets the same number, and saved states match. */
  nr: 1,
} as const;

/** The virtserialport of the clipboard channel, as -device and device_add take it. */
export function vdagentPortDevice(): Record<string, unknown> {
  return {
    driver: 'virtserialport',
    bus: `${VDAGENT.bus}.0`,
    nr: VDAGENT.nr,
    chardev: VDAGENT.chardev,
    name: VDAGENT.portName,
    id: VDAGENT.port,
  };
}

/**
 * Clipboard sharing: QEMU's own vdagent (no SPICE server) talks to spice-vdagent in the guest on
 * the port it looks for by name, and QEMU's VNC server hands the clipboard to noVNC (the VNC
 * extended clipboard). Its own virtio-serial controller, so the port can come and go alone.
 */
const clipboard: Section = (config) => {
  if (!config.clipboard) return [];
  return [
    '-chardev',
    `qemu-vdagent,id=${VDAGENT.chardev},name=vdagent,clipboard=on`,
    '-device',
    json({ driver: virtioDriver(config, 'virtio-serial'), id: VDAGENT.bus }),
    '-device',
    json(vdagentPortDevice()),
  ];
};

/**
 * The memory balloon, a fixed id so QMP finds it (`balloon`, and qom-get of its guest stats at
 * /machine/peripheral/balloon0). deflate-on-oom: a guest about to run out of memory takes its
 * balloon back instead of killing a process.
 */
export const BALLOON_ID = 'balloon0';

const balloon: Section = (config) => {
  if (!config.balloon) return [];
  return [
    '-device',
    json({
      driver: virtioDriver(config, 'virtio-balloon'),
      id: BALLOON_ID,
      'deflate-on-oom': true,
    }),
  ];
};

const VIDEO_DEVICE = {
  std: 'VGA',
  virtio: 'virtio-vga',
  cirrus: 'cirrus-vga',
  ramfb: 'ramfb',
} as const;

/**
 * The display device of each model on the other architectures: a virtio GPU without VGA (ARM's
 * and RISC-V's firmware and kernels drive virtio-gpu-pci; virtio-vga's legacy VGA is an x86 thing).
 */
const OTHER_VIDEO_DEVICE = {
  std: 'VGA',
  virtio: 'virtio-gpu-pci',
  cirrus: 'cirrus-vga',
  ramfb: 'ramfb',
} as const;

/** Whether the VM has its xHCI controller, so USB devices can be attached while it runs. */
export function hasUsbController(config: VmConfig): boolean {
  const input = archPreset(config.arch).input;
  if (input === 'none') return false;
  // Without PS/2 the USB keyboard and tablet are the only input: the controller is always there.
  if (input === 'usb') return true;
  return config.layout >= 2 || config.usbTablet || config.usb.length > 0;
}

/** Whether disks can be plugged in while the VM runs: q35 with the hot-plug buses of layout 2. */
export function hasHotplugBuses(config: VmConfig): boolean {
  return config.machine === 'q35' && config.layout >= 2;
}

const display: Section = (config, ctx) => {
  const args: string[] = [];
  const devices = isX86(config) ? VIDEO_DEVICE : OTHER_VIDEO_DEVICE;
  if (config.video !== 'none') args.push('-device', json({ driver: devices[config.video] }));
  if (config.usb.length > 0 && !hasUsbController(config)) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `${ARCH_LABELS[config.arch]} guests have no USB: remove the VM's USB devices.`,
    );
  }
  // Always there, tablet or not: USB devices are attached to it while the guest runs. (Device
  // layout 1 had it only for the tablet and USB devices.)
  if (hasUsbController(config)) {
    args.push('-device', json({ driver: 'qemu-xhci', id: USB_CONTROLLER_ID }));
  }
  if (config.usbTablet && hasUsbController(config)) {
    args.push('-device', json({ driver: 'usb-tablet', bus: USB_BUS, id: 'tablet0' }));
  }
  // No PS/2 on these machines: the keyboard is a USB one too.
  if (archPreset(config.arch).input === 'usb') {
    args.push('-device', json({ driver: 'usb-kbd', bus: USB_BUS, id: 'kbd0' }));
  }
  for (const entry of config.usb) {
    if (entry.kind === 'drive') args.push('-blockdev', json(usbDriveBlockdev(entry)));
    args.push('-device', json(usbDeviceOptions(entry)));
  }
  // A unix socket instead of TCP: nothing else on the machine can reach the screen.
  args.push('-vnc', `unix:${escapeOptionValue(ctx.files.vncSock)}`);
  return args;
};

/** The guest's sound card. Host playback is not wired up (the display is VNC): the 'none' backend. */
const sound: Section = (config) => {
  if (config.sound === 'none') return [];
  const args = ['-audiodev', 'none,id=snd0'];
  switch (config.sound) {
    case 'hda':
      args.push(
        '-device',
        json({ driver: 'ich9-intel-hda', id: 'sound0' }),
        '-device',
        json({ driver: 'hda-duplex', bus: 'sound0.0', audiodev: 'snd0', id: 'sound0-codec' }),
      );
      break;
    case 'ac97':
      args.push('-device', json({ driver: 'AC97', audiodev: 'snd0', id: 'sound0' }));
      break;
    case 'sb16':
      args.push('-device', json({ driver: 'sb16', audiodev: 'snd0', id: 'sound0' }));
      break;
  }
  return args;
};

/** A TPM 2.0 backed by swtpm, which must already be listening on `ctx.tpmSocket`. */
const tpm: Section = (config, ctx) => {
  if (!config.tpm) return [];
  if (!ctx.tpmSocket) {
    throw new VivariumError(
      'QEMU_MISSING',
      'This VM has a TPM, which needs swtpm running beside QEMU: install it (Debian/Ubuntu: sudo apt install swtpm swtpm-tools) or turn the TPM off in the VM settings.',
    );
  }
  return [
    '-chardev',
    `socket,id=tpm0-sock,path=${escapeOptionValue(ctx.tpmSocket)}`,
    '-tpmdev',
    'emulator,id=tpm0,chardev=tpm0-sock',
    '-device',
    json({
      driver: config.machine === 'q35' ? 'tpm-crb' : 'tpm-tis',
      tpmdev: 'tpm0',
      id: 'tpm0-dev',
    }),
  ];
};

/**
 * Where disks are plugged in while the VM runs. q35's root bus (pcie.0) cannot hot-plug, so it
 * gets HOTPLUG_PORTS spare PCIe root ports (one per disk a VM may have) and a virtio-scsi
 * controller, always: a running VM can only use buses it was started with, and a controller
 * added on demand would move the devices after it between starts (snapshots of the running VM
 * only load into the same layout). They come after every other PCI device so those keep the
 * addresses they had before these existed. The pc machine (i440FX) gets the controller only when
 * it has SCSI disks, and no hot-plug: its PCI slots are handed out in argv order, so a disk
 * plugged in live would not sit where the next start puts it.
 */
const hotplugBuses: Section = (config) => {
  const args: string[] = [];
  if (hasHotplugBuses(config)) {
    for (let n = 0; n < HOTPLUG_PORTS; n++) {
      args.push(
        '-device',
        json({ driver: 'pcie-root-port', id: hotplugPortId(n), chassis: n + 1 }),
      );
    }
  }
  if (isX86(config) && (hasHotplugBuses(config) || config.disks.some((d) => d.bus === 'scsi'))) {
    args.push('-device', json({ driver: 'virtio-scsi-pci', id: SCSI_CONTROLLER_ID }));
  }
  const targets = scsiTargets(config.disks);
  let scsiIndex = 0;
  for (const disk of config.disks) {
    if (!onHotplugBus(config, disk)) continue;
    const placed = disk.bus === 'scsi' ? { ...disk, port: targets[scsiIndex++] } : disk;
    args.push('-device', json(diskDevice(placed, diskBootProps(config, disk))));
  }
  return args;
};

function unixServer(id: string, path: string, extra = ''): string {
  return `socket,id=${id},path=${escapeOptionValue(path)},server=on,wait=off${extra}`;
}

const serial: Section = (_config, ctx) => [
  '-chardev',
  unixServer('serial0', ctx.files.serialSock, `,logfile=${escapeOptionValue(ctx.files.serialLog)}`),
  '-serial',
  'chardev:serial0',
];

const monitor: Section = (_config, ctx) => [
  '-chardev',
  unixServer('monitor0', ctx.files.monitorSock),
  '-mon',
  'chardev=monitor0,mode=readline',
];

const qmp: Section = (_config, ctx) =>
  ctx.files.qmpSockets.flatMap((path, i) => [
    '-chardev',
    unixServer(`qmp${i}`, path),
    '-mon',
    `chardev=qmp${i},mode=control`,
  ]);

const processControl: Section = (config, ctx) => {
  const args = ['-pidfile', ctx.files.pidFile, '-S'];
  // A bridged card runs qemu-bridge-helper, setuid root, from inside QEMU: the sandbox forbids
  // spawning it, and its filter (no_new_privs) would keep the helper from gaining root anyway.
  // An SMB share is served by an smbd that QEMU's user network forks when the guest connects.
  const bridged = config.nics.some((n) => n.attach.kind === 'bridge');
  const smb = config.shares.some((s) => s.mode === 'smb');
  if (ctx.platform === 'linux' && !bridged && !smb) {
    args.push(
      '-sandbox',
      'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    );
  }
  return args;
};

const extra: Section = (config) => [...config.extraArgs];

const SECTIONS: readonly Section[] = [
  archCheck,
  identity,
  machine,
  accelerator,
  cpu,
  memory,
  firmware,
  drives,
  kernel,
  network,
  cloudSeed,
  guestAgent,
  shares,
  clipboard,
  balloon,
  display,
  sound,
  tpm,
  hotplugBuses,
  serial,
  monitor,
  qmp,
  processControl,
  extra,
];

/**
 * The whole QEMU command line (without the binary) for a VM: a pure function of its config and
 * the launch context, built section by section in a fixed order, the user's extra arguments last.
 * QEMU starts paused (-S); the supervisor connects QMP and then sends `cont`.
 */
export function buildQemuArgs(config: VmConfig, ctx: LaunchContext): string[] {
  return SECTIONS.flatMap((section) => section(config, ctx));
}
