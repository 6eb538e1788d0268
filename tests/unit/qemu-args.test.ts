import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VERSION, VmConfigSchema, type VmConfig } from '../../common/contract';
import {
  buildQemuArgs,
  escapeOptionValue,
  type LaunchContext,
} from '../../electron/engine/qemu/args';
import { vmFiles, enginePaths } from '../../electron/engine/paths';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'argv');
const ID = 'a1b2c3d4e5f6';

const MAC = '52:54:00:d4:e5:f6';

/** A card with its own NAT (the default cable). */
function nat(model = 'virtio-net-pci', attach: Record<string, unknown> = {}): unknown[] {
  return [{ model, mac: MAC, attach: { kind: 'nat', ...attach } }];
}

function config(overrides: Record<string, unknown> = {}): VmConfig {
  return VmConfigSchema.parse({
    configVersion: CONFIG_VERSION,
    nics: nat(),
    id: ID,
    name: 'Test VM',
    createdAt: '2026-01-01T00:00:00.000Z',
    memoryMiB: 1024,
    cpu: { model: 'max', count: 2 },
    disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'virtio' }],
    cdrom: '/isos/debian-12.iso',
    ...overrides,
  });
}

const files = vmFiles(
  enginePaths('/home/u/.local/share/vivarium', '/run/user/1000/vivarium/abcd1234'),
  ID,
);

function ctx(overrides: Partial<LaunchContext> = {}): LaunchContext {
  return {
    accel: 'tcg',
    platform: 'linux',
    ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
    vmDir: files.dir,
    files,
    ...overrides,
  };
}

const cases: Record<string, [VmConfig, LaunchContext]> = {
  'q35-bios-virtio-cdrom': [config(), ctx()],
  'q35-kvm-host-cpu': [config({ cpu: { model: 'host', count: 4 } }), ctx({ accel: 'kvm' })],
  'tcg-host-cpu-falls-back-to-max': [config({ cpu: { model: 'host', count: 1 } }), ctx()],
  'q35-uefi': [config({ firmware: 'uefi' }), ctx()],
  // The same as q35-bios-virtio-cdrom plus one line: the balloon device.
  'q35-balloon': [config({ balloon: true }), ctx()],
  'pc-ide-disk-and-cdrom': [
    config({
      machine: 'pc',
      disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'ide' }],
      nics: nat('rtl8139'),
    }),
    ctx(),
  ],
  'pc-sata-adds-ahci': [
    config({
      machine: 'pc',
      disks: [
        { id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'sata' },
        { id: 'data', file: '/mnt/big disk/data.img', format: 'raw', bus: 'sata', readOnly: true },
      ],
      nics: nat('e1000'),
    }),
    ctx(),
  ],
  'q35-sata-ne2k-cirrus': [
    config({
      disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'sata' }],
      nics: nat('ne2k_pci'),
      video: 'cirrus',
      usbTablet: false,
    }),
    ctx(),
  ],
  'pcnet-port-forwards': [
    config({
      nics: nat('pcnet', {
        forwards: [
          { protocol: 'tcp', hostPort: 2222, guestPort: 22 },
          { protocol: 'udp', hostAddress: '0.0.0.0', hostPort: 5353, guestPort: 53 },
        ],
      }),
    }),
    ctx(),
  ],
  'direct-kernel-boot': [
    config({
      disks: [],
      cdrom: null,
      kernelBoot: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', append: 'console=ttyS0 quiet' },
      nics: [],
    }),
    ctx(),
  ],
  'boot-order-disk-first': [config({ bootOrder: ['disk', 'cdrom', 'network'] }), ctx()],
  'hostile-name-and-paths': [
    config({
      name: `evil,process=pwn "quoted" 'x' / ünïcødé`,
      cdrom: '/isos/a,b=c,readonly=off.iso',
      disks: [
        { id: 'disk0', file: '/data/x,file.driver=ssh.qcow2', format: 'qcow2', bus: 'virtio' },
      ],
    }),
    ctx({
      vmDir: '/home/a,b/vms/x',
      files: { ...files, vncSock: '/run/a,b/vnc.sock', serialLog: '/home/a,b/serial.log' },
    }),
  ],
  'extra-args-last': [
    config({ extraArgs: ['-device', 'virtio-rng-pci', '-rtc', 'base=localtime'] }),
    ctx(),
  ],
  'four-nics-nat-network-bridge-unplugged': [
    config({
      bootOrder: ['network', 'disk'],
      nics: [
        { model: 'e1000', mac: '52:54:00:00:00:01', attach: { kind: 'nat', internet: false } },
        { model: 'rtl8139', mac: '52:54:00:00:00:02', attach: { kind: 'network', network: 'lab' } },
        { model: 'pcnet', mac: '52:54:00:00:00:03', attach: { kind: 'bridge', bridge: 'br0' } },
        { model: 'ne2k_pci', mac: '52:54:00:00:00:04', attach: { kind: 'none' } },
      ],
    }),
    ctx({
      networkSwitches: { lab: '/run/user/1000/vivarium/abcd1234/net/0123456789ab/switch' },
      bridgeHelper: '/usr/lib/qemu/qemu-bridge-helper',
    }),
  ],
  'q35-hotplug-ports-scsi-cache-modes': [
    config({
      bootOrder: ['disk', 'cdrom'],
      disks: [
        { id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'virtio' },
        {
          id: 'disk1',
          file: 'disk1.qcow2',
          format: 'qcow2',
          bus: 'virtio',
          port: 0,
          cache: 'none',
        },
        {
          id: 'disk2',
          file: 'disk2.qcow2',
          format: 'qcow2',
          bus: 'scsi',
          port: 1,
          cache: 'writethrough',
        },
        { id: 'disk3', file: 'disk3.qcow2', format: 'qcow2', bus: 'sata', cache: 'directsync' },
        {
          id: 'disk4',
          file: '/data/scratch.img',
          format: 'raw',
          bus: 'scsi',
          port: 0,
          cache: 'unsafe',
        },
      ],
    }),
    ctx(),
  ],
  'pc-scsi-boot-disk-adds-controller': [
    config({
      machine: 'pc',
      bootOrder: ['disk'],
      cdrom: null,
      disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'scsi', port: 0 }],
    }),
    ctx(),
  ],
  'macos-hvf-no-sandbox': [config(), ctx({ accel: 'hvf', platform: 'darwin' })],
  'cloud-guest-seed-agent-no-internet': [
    config({
      cdrom: null,
      bootOrder: ['disk'],
      guestAgent: true,
      nics: nat('virtio-net-pci', {
        internet: false,
        forwards: [{ protocol: 'tcp', hostPort: 2222, guestPort: 22, auto: true }],
      }),
      cloudInit: {
        user: 'dev',
        hostname: 'dev-box',
        keyFile: 'ssh/id_ed25519',
        image: {
          file: '/cache/debian-13-genericcloud-amd64.qcow2',
          format: 'qcow2',
          mode: 'overlay',
        },
      },
    }),
    ctx(),
  ],
  'empty-cd-drive-for-live-insert': [config({ cdrom: null }), ctx()],
  // A VM made before device layouts: its saved memory and live snapshots need these devices only.
  'layout-1-no-empty-cd-no-usb-controller-no-hotplug-buses': [
    config({
      layout: 1,
      cdrom: null,
      usbTablet: false,
      disks: [
        { id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'virtio', port: 0 },
        { id: 'disk1', file: 'disk1.qcow2', format: 'qcow2', bus: 'scsi', port: 0 },
      ],
    }),
    ctx(),
  ],
  'pc-ide-full-no-empty-cd-drive': [
    config({
      machine: 'pc',
      cdrom: null,
      disks: ['a', 'b', 'c', 'd'].map((id) => ({
        id: `disk${id}`,
        file: `${id}.qcow2`,
        format: 'qcow2',
        bus: 'ide',
      })),
    }),
    ctx(),
  ],
  'usb-host-devices-and-usb-drive-no-tablet': [
    config({
      usbTablet: false,
      usb: [
        { kind: 'host', id: 'usb1', vendorId: '046D', productId: 'c52b' },
        { kind: 'host', id: 'usb2', vendorId: '0781', productId: '5581', bus: 3, port: '1.4' },
        { kind: 'drive', id: 'usb3', file: '/images/stick,1.img', format: 'raw', readOnly: true },
        { kind: 'drive', id: 'usb4', file: '/images/stick2.qcow2', format: 'qcow2' },
      ],
    }),
    ctx(),
  ],
};

describe('buildQemuArgs golden files', () => {
  for (const [name, [cfg, context]] of Object.entries(cases)) {
    it(name, () => {
      const args = buildQemuArgs(cfg, context);
      const text = `${args.join('\n')}\n`;
      const file = join(GOLDEN_DIR, `${name}.txt`);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  }
});

describe('argument safety', () => {
  it('doubles commas so a value cannot start a new option', () => {
    expect(escapeOptionValue('a,b,,c')).toBe('a,,b,,,,c');
  });

  it('keeps a hostile VM name inside the guest= value', () => {
    const args = buildQemuArgs(config({ name: 'x,process=evil' }), ctx());
    const name = args[args.indexOf('-name') + 1] ?? '';
    expect(name).toBe(`guest=x,,process=evil,process=qemu-${ID},debug-threads=on`);
  });

  it('passes paths with commas through JSON options untouched', () => {
    const args = buildQemuArgs(config({ cdrom: '/iso/a,b.iso' }), ctx());
    const cd = args.find((a) => a.includes('cd0-file') && a.includes('filename'));
    expect(JSON.parse(cd ?? '{}')).toMatchObject({ filename: '/iso/a,b.iso' });
  });

  it('starts paused and puts extra arguments last', () => {
    const args = buildQemuArgs(config({ extraArgs: ['-smbios', 'type=1'] }), ctx());
    expect(args).toContain('-S');
    expect(args.slice(-2)).toEqual(['-smbios', 'type=1']);
  });

  it('refuses a card on a network whose switch is not running, and a bridge without its helper', () => {
    const onLab = config({
      nics: [{ mac: MAC, attach: { kind: 'network', network: 'lab' } }],
    });
    expect(() => buildQemuArgs(onLab, ctx())).toThrow(/"lab", whose switch is not running/);
    const bridged = config({ nics: [{ mac: MAC, attach: { kind: 'bridge', bridge: 'br0' } }] });
    expect(() => buildQemuArgs(bridged, ctx())).toThrow(/qemu-bridge-helper/);
  });

  it('refuses UEFI without firmware', () => {
    expect(() => buildQemuArgs(config({ firmware: 'uefi' }), ctx({ ovmfCode: null }))).toThrow(
      /ovmf/i,
    );
  });
});
