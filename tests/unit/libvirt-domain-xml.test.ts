/**
 * Golden libvirt domains for every curated catalogue entry (its profile applied to a fixed host,
 * as catalog-profiles.test.ts builds argv goldens) and for the hardware the profiles do not show;
 * each file must pass libvirt's own schema check (`virt-xml-validate FILE domain`).
 * `UPDATE_GOLDEN=1` rewrites tests/fixtures/libvirt/*.xml.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  VmConfigSchema,
  type CreateDefaults,
  type HostInfo,
  type VmConfig,
} from '../../common/contract';
import { Catalog, loadCurated } from '../../electron/engine/catalog/catalog';
import { profileToCreateDefaults } from '../../electron/engine/catalog/profile';
import {
  buildDomainXml,
  domainUuid,
  exportLayout,
} from '../../electron/engine/interop/libvirt/domain-xml';
import { parseSize } from '../../electron/engine/storage/qemu-img';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'fixtures', 'libvirt');
const HAVE_VALIDATE = spawnSync('virt-xml-validate', ['--help']).error === undefined;
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_SECBOOT = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
const EXPORT_DIR = '/srv/libvirt-export';

const host: HostInfo = {
  platform: 'linux',
  arch: 'x64',
  cpus: 4,
  totalMemoryMiB: 16384,
  freeDiskBytes: 200 * 2 ** 30,
  dataDir: '/home/u/.local/share/vivarium',
  qemu: { binaries: [], img: null },
  qemuMissing: null,
  accelerators: [],
  bestAccelerator: 'tcg',
  notices: [],
  firmware: { seabios: null, ovmfCode: OVMF_CODE, ovmfVars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
};

function configFrom(d: CreateDefaults, overrides: Record<string, unknown> = {}): VmConfig {
  return VmConfigSchema.parse({
    configVersion: 3,
    id: 'c0ffee123456',
    name: `Profile ${d.entry}`,
    os: d.os,
    createdAt: '2026-01-01T00:00:00.000Z',
    machine: d.machine,
    firmware: d.firmware,
    cpu: { model: 'max', count: d.cpus },
    memoryMiB: d.memoryMiB,
    disks:
      parseSize(d.diskSize) > 0
        ? [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: d.diskBus }]
        : [],
    cdrom: '/isos/install.iso',
    bootOrder: ['cdrom', 'disk'],
    nics: [{ model: d.nicModel, mac: '52:54:00:12:34:56', attach: { kind: 'nat' } }],
    video: d.video,
    sound: d.sound,
    usbTablet: d.usbTablet,
    balloon: true,
    ...overrides,
  });
}

function domainOf(config: VmConfig, natAs: 'network' | 'user' = 'network') {
  const files = exportLayout(config, EXPORT_DIR);
  return buildDomainXml(config, {
    machineType: config.machine === 'q35' ? 'pc-q35-7.2' : 'pc-i440fx-7.2',
    diskPaths: files.disks,
    seedPath: files.seed,
    loader: config.secureBoot ? OVMF_SECBOOT : OVMF_CODE,
    nvram: files.nvram,
    natAs,
  });
}

const catalog = Catalog.build(loadCurated(), [], null);
const generic = profileToCreateDefaults(catalog.get('generic')!, host);
const cases: Array<[string, VmConfig, ('network' | 'user')?]> = catalog.entries.map((e) => [
  `profile-${e.id}`,
  configFrom(profileToCreateDefaults(e, host)),
]);
cases.push(
  [
    'profile-windows-11-tpm-secureboot',
    configFrom(profileToCreateDefaults(catalog.get('windows-11')!, host), {
      tpm: true,
      secureBoot: true,
    }),
  ],
  [
    'pc-ide-two-disks-host-cpu-tcg-user-nat',
    configFrom(generic, {
      machine: 'pc',
      accel: 'tcg',
      cpu: { model: 'host', count: 2 },
      cdrom: null,
      disks: [
        { id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'ide', cache: 'none' },
        { id: 'data', file: '/big/data.img', format: 'raw', bus: 'ide', readOnly: true },
      ],
      nics: [
        {
          model: 'rtl8139',
          mac: '52:54:00:00:00:01',
          attach: {
            kind: 'nat',
            internet: false,
            forwards: [{ hostPort: 2222, guestPort: 22 }],
          },
        },
      ],
    }),
    'user',
  ],
  [
    'q35-every-nic-share-channel-usb',
    configFrom(generic, {
      name: 'Lab, "one" <a/b> & more',
      notes: 'Course VM & notes',
      cpu: { model: 'Skylake-Client', count: 4 },
      disks: [
        { id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'scsi', cache: 'unsafe' },
        { id: 'disk1', file: 'disk1.qcow2', format: 'qcow2', bus: 'sata' },
      ],
      nics: [
        { model: 'e1000e', mac: '52:54:00:00:00:01', attach: { kind: 'nat' } },
        {
          model: 'virtio-net-pci',
          mac: '52:54:00:00:00:02',
          attach: { kind: 'network', network: 'lab' },
        },
        { model: 'e1000', mac: '52:54:00:00:00:03', attach: { kind: 'bridge', bridge: 'br0' } },
        { model: 'pcnet', mac: '52:54:00:00:00:04', attach: { kind: 'none' } },
      ],
      shares: [
        { tag: 'code', path: '/home/u/code' },
        { tag: 'docs', path: '/home/u/docs', readOnly: true, mode: 'virtiofs' },
        { tag: 'smb', path: '/home/u/smb', mode: 'smb' },
      ],
      guestAgent: true,
      clipboard: true,
      video: 'virtio',
      sound: 'ac97',
      usb: [
        { kind: 'host', id: 'usb1', vendorId: '046d', productId: 'c52b', bus: 1, port: '1.2' },
        { kind: 'drive', id: 'usb2', file: '/home/u/stick.img', format: 'raw' },
      ],
      extraArgs: ['-rtc', 'base=localtime'],
      bootOrder: ['network', 'disk'],
    }),
  ],
  [
    'direct-kernel-boot-no-cd-no-video',
    configFrom(generic, {
      cdrom: null,
      layout: 1,
      video: 'none',
      usbTablet: false,
      balloon: false,
      kernelBoot: { kernel: '/boot/vmlinuz', initrd: '/boot/initrd.img', append: 'console=ttyS0' },
      nics: [],
    }),
  ],
);

describe('VM config -> libvirt domain XML (golden, validated by libvirt)', () => {
  for (const [name, config, natAs] of cases) {
    it(name, () => {
      const { xml, unmapped } = domainOf(config, natAs);
      const text = `${xml}${unmapped.map((u) => `<!-- unmapped: ${u.replaceAll('--', '- -')} -->\n`).join('')}`;
      const file = join(GOLDEN_DIR, `${name}.xml`);
      if (process.env['UPDATE_GOLDEN']) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
      if (HAVE_VALIDATE) {
        const r = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
        expect(`${r.stdout}${r.stderr}`.trim()).toBe(`${file} validates`);
        expect(r.status).toBe(0);
      }
    });
  }

  it('lists what libvirt cannot carry', () => {
    const [, config] = cases.find(([n]) => n === 'q35-every-nic-share-channel-usb')!;
    const { unmapped, name } = domainOf(config);
    expect(name).toBe('Lab, "one" <a-b> & more');
    expect(unmapped.join('\n')).toMatch(/private network "lab"/);
    expect(unmapped.join('\n')).toMatch(/SMB share smb/);
    expect(unmapped.join('\n')).toMatch(/Extra QEMU arguments \(-rtc base=localtime\)/);
    expect(unmapped.join('\n')).toMatch(/CD-ROM holds \/isos\/install.iso/);
  });

  it('gives one VM one stable domain UUID', () => {
    expect(domainUuid('c0ffee123456')).toBe(domainUuid('c0ffee123456'));
    expect(domainUuid('c0ffee123456')).not.toBe(domainUuid('c0ffee123457'));
    expect(domainUuid('c0ffee123456')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('refuses Secure Boot without UEFI on q35', () => {
    const bad = configFrom(generic, { secureBoot: true, firmware: 'bios' });
    expect(() => domainOf(bad)).toThrow(/Secure Boot needs UEFI/);
  });
});
