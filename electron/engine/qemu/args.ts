import { isAbsolute, join } from 'node:path';
import type { Accelerator, DiskConfig, PortForward, VmConfig } from '../../../common/contract';
import { VivariumError } from '../errors';

/** What the argv depends on besides the VM's config: the host and the VM's file locations. */
export interface LaunchContext {
  accel: Accelerator;
  platform: NodeJS.Platform;
  /** Read-only UEFI code image; required for firmware 'uefi'. */
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

const identity: Section = (config) => [
  '-name',
  `guest=${escapeOptionValue(config.name)},process=qemu-${config.id},debug-threads=on`,
  '-no-user-config',
  '-nodefaults',
  '-msg',
  'timestamp=on',
];

const machine: Section = (config) => {
  const opts: string[] = [config.machine];
  // Secure Boot keeps the variable store away from the OS: only SMM code may write it.
  if (config.secureBoot) opts.push('smm=on');
  if (config.firmware === 'uefi') opts.push('pflash0=fw-code', 'pflash1=fw-vars');
  return ['-machine', opts.join(',')];
};

const accelerator: Section = (_config, ctx) => [
  '-accel',
  ctx.accel === 'tcg' ? 'tcg,thread=multi' : ctx.accel,
];

const cpu: Section = (config, ctx) => {
  // 'host' only exists under a hardware accelerator; TCG emulates 'max' instead.
  const model = config.cpu.model === 'host' && ctx.accel === 'tcg' ? 'max' : config.cpu.model;
  return ['-cpu', model, '-smp', String(config.cpu.count)];
};

const memory: Section = (config) => ['-m', `${config.memoryMiB}M`];

const firmware: Section = (config, ctx) => {
  if (config.secureBoot && (config.firmware !== 'uefi' || config.machine !== 'q35')) {
    throw new VivariumError(
      'INVALID_REQUEST',
      'Secure Boot needs UEFI firmware on the q35 machine: change them, or turn Secure Boot off.',
    );
  }
  if (config.firmware !== 'uefi') return [];
  const code = config.secureBoot ? ctx.ovmfSecureBootCode : ctx.ovmfCode;
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
  return { needsAhci, nextAhci, nextIde };
}

const drives: Section = (config, ctx) => {
  const args: string[] = [];
  const layout = storageLayout(config);
  if (layout.needsAhci) args.push('-device', json({ driver: 'ahci', id: 'ahci0' }));
  let firstDisk = true;
  for (const disk of config.disks) {
    const file = diskPath(ctx.vmDir, disk);
    const node = disk.id;
    args.push(
      '-blockdev',
      json({
        driver: 'file',
        filename: file,
        'node-name': `${node}-file`,
        ...(disk.readOnly ? { 'read-only': true } : {}),
      }),
      '-blockdev',
      json({
        driver: disk.format,
        file: `${node}-file`,
        'node-name': node,
        ...(disk.readOnly ? { 'read-only': true } : {}),
      }),
    );
    const boot = firstDisk ? bootIndex(config, 'disk') : undefined;
    firstDisk = false;
    const bootProp = boot === undefined ? {} : { bootindex: boot };
    if (disk.bus === 'virtio') {
      args.push(
        '-device',
        json({ driver: 'virtio-blk-pci', drive: node, id: `${node}-dev`, ...bootProp }),
      );
    } else {
      const slot = disk.bus === 'sata' ? layout.nextAhci() : layout.nextIde();
      args.push(
        '-device',
        json({ driver: 'ide-hd', drive: node, id: `${node}-dev`, ...slot, ...bootProp }),
      );
    }
  }
  if (config.cdrom) {
    const boot = bootIndex(config, 'cdrom');
    args.push(
      '-blockdev',
      json({ driver: 'file', filename: config.cdrom, 'node-name': 'cd0-file', 'read-only': true }),
      '-blockdev',
      json({ driver: 'raw', file: 'cd0-file', 'node-name': 'cd0', 'read-only': true }),
      '-device',
      json({
        driver: 'ide-cd',
        drive: 'cd0',
        id: 'cd0-dev',
        ...layout.nextIde(),
        ...(boot === undefined ? {} : { bootindex: boot }),
      }),
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
    case 'nat':
      return {
        type: 'user',
        id,
        ...(a.internet ? {} : { restrict: true }),
        ...(a.forwards.length ? { hostfwd: a.forwards.map(hostForward) } : {}),
      };
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

const network: Section = (config, ctx) => {
  const boot = bootIndex(config, 'network');
  return config.nics.flatMap((nic, i) => {
    const backend = nicBackend(config, ctx, i);
    return [
      ...(backend ? ['-netdev', json(backend)] : []),
      '-device',
      json({
        driver: nic.model,
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
    json({ driver: 'virtio-blk-pci', drive: 'seed0', id: 'seed0-dev', serial: 'cidata' }),
  ];
};

/** The channel the QEMU guest agent in the guest opens by its well-known name. */
const guestAgent: Section = (config, ctx) => {
  if (!config.guestAgent) return [];
  return [
    '-device',
    json({ driver: 'virtio-serial-pci', id: 'vser0' }),
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
    json({ driver: 'virtio-balloon-pci', id: BALLOON_ID, 'deflate-on-oom': true }),
  ];
};

const VIDEO_DEVICE = { std: 'VGA', virtio: 'virtio-vga', cirrus: 'cirrus-vga' } as const;

const display: Section = (config, ctx) => {
  const args: string[] = [];
  if (config.video !== 'none') args.push('-device', json({ driver: VIDEO_DEVICE[config.video] }));
  if (config.usbTablet) {
    args.push(
      '-device',
      json({ driver: 'qemu-xhci', id: 'usb0' }),
      '-device',
      json({ driver: 'usb-tablet', bus: 'usb0.0', id: 'tablet0' }),
    );
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
  const bridged = config.nics.some((n) => n.attach.kind === 'bridge');
  if (ctx.platform === 'linux' && !bridged) {
    args.push(
      '-sandbox',
      'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    );
  }
  return args;
};

const extra: Section = (config) => [...config.extraArgs];

const SECTIONS: readonly Section[] = [
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
  balloon,
  display,
  sound,
  tpm,
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
