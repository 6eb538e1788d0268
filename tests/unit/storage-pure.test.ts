import { describe, expect, it } from 'vitest';
import { progressLine } from '../../electron/cli/progress';
import { snapshotTable } from '../../electron/cli/storage-commands';
import { linkedCloneProblem } from '../../electron/engine/storage/clones';
import { importProblem } from '../../electron/engine/storage/import-checks';
import {
  lastConvertProgress,
  parseCheck,
  parseImageInfo,
  parseSize,
  type ImageInfo,
} from '../../electron/engine/storage/qemu-img';
import { VmConfigSchema, type SnapshotList, type TaskInfo } from '../../common/contract';

function layer(patch: Partial<ImageInfo>): ImageInfo {
  return {
    filename: '/imports/disk.qcow2',
    format: 'qcow2',
    virtualSize: 1024,
    actualSize: 10,
    backingFilename: null,
    fullBackingFilename: null,
    backingFormat: null,
    snapshots: [],
    extents: [],
    dirty: false,
    corrupt: false,
    ...patch,
  };
}

describe('qemu-img output', () => {
  it('reads convert -p progress records separated by \\r', () => {
    expect(lastConvertProgress('    (0.00/100%)\r    (12.34/100%)\r')).toBeCloseTo(0.1234);
    expect(lastConvertProgress('    (100.00/100%)\r')).toBe(1);
    expect(lastConvertProgress('    (45.0')).toBeNull();
  });

  it('reads check results by exit status', () => {
    const json = (o: object) => JSON.stringify(o);
    expect(parseCheck(0, json({ 'check-errors': 0 }), '')).toMatchObject({ status: 'clean' });
    expect(parseCheck(2, json({ corruptions: 3, 'check-errors': 0 }), '')).toMatchObject({
      status: 'corrupt',
      corruptions: 3,
    });
    expect(parseCheck(3, json({ leaks: 7 }), '')).toMatchObject({ status: 'leaks', leaks: 7 });
    expect(
      parseCheck(63, '', 'qemu-img: This image format does not support checks\n'),
    ).toMatchObject({
      status: 'unsupported',
      message: 'This image format does not support checks',
    });
    expect(parseCheck(1, '', 'qemu-img: Could not open x\n').status).toBe('failed');
    expect(parseCheck(0, json({ 'corruptions-fixed': 1, 'leaks-fixed': 2 }), '').message).toMatch(
      /Repaired/,
    );
  });

  it('reads info: snapshots, backing file, VMDK extents', () => {
    const info = parseImageInfo({
      filename: 'a.vmdk',
      format: 'vmdk',
      'virtual-size': 100,
      'backing-filename': 'base.qcow2',
      'full-backing-filename': '/x/base.qcow2',
      snapshots: [{ id: '1', name: 't', 'vm-state-size': 5, 'date-sec': 9, 'vm-clock-sec': 1 }],
      'format-specific': { type: 'vmdk', data: { extents: [{ filename: '/x/a-flat.vmdk' }] } },
    });
    expect(info).toMatchObject({
      format: 'vmdk',
      virtualSize: 100,
      backingFilename: 'base.qcow2',
      fullBackingFilename: '/x/base.qcow2',
      snapshots: [{ id: '1', name: 't', vmStateSize: 5, dateSec: 9, vmClockSec: 1 }],
      extents: ['/x/a-flat.vmdk'],
    });
    expect(parseImageInfo({}).snapshots).toEqual([]);
  });

  it('parses sizes', () => {
    expect(parseSize('64M')).toBe(64 * 2 ** 20);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(() => parseSize('lots')).toThrow();
  });
});

describe('what an imported image may reach', () => {
  it('accepts plain images and backing files beside them', () => {
    expect(importProblem([layer({})], '/imports')).toBeNull();
    expect(
      importProblem(
        [
          layer({
            backingFilename: 'base.qcow2',
            fullBackingFilename: '/imports/base.qcow2',
            backingFormat: 'qcow2',
          }),
          layer({ filename: '/imports/base.qcow2' }),
        ],
        '/imports',
      ),
    ).toBeNull();
  });

  it('refuses backing files and extents elsewhere, protocols and unknown formats', () => {
    expect(
      importProblem(
        [
          layer({
            backingFilename: '/etc/shadow',
            fullBackingFilename: '/etc/shadow',
            backingFormat: 'raw',
          }),
        ],
        '/imports',
      ),
    ).toMatch(/outside its own folder/);
    expect(importProblem([layer({ backingFilename: '../x.qcow2' })], '/imports')).toMatch(
      /outside/,
    );
    expect(importProblem([layer({ backingFilename: 'nbd://evil:10809' })], '/imports')).toMatch(
      /does not follow/,
    );
    expect(
      importProblem([layer({ format: 'vmdk', extents: ['/home/me/.ssh/id_rsa'] })], '/imports'),
    ).toMatch(/outside/);
    expect(importProblem([layer({ format: 'qed' })], '/imports')).toMatch(/qed image/);
    const dataFile = parseImageInfo({
      filename: '/imports/x.qcow2',
      format: 'qcow2',
      'format-specific': { type: 'qcow2', data: { 'data-file': '/dev/sda' } },
    });
    expect(importProblem([dataFile], '/imports')).toMatch(/\/dev\/sda, outside/);
    expect(importProblem([], '/imports')).toMatch(/could not read/);
  });
});

describe('linked clone preconditions', () => {
  const base = {
    configVersion: 3,
    id: 'abcdefabcdef',
    name: 'src',
    createdAt: 'now',
    memoryMiB: 256,
  };
  it('needs qcow2 disks in the VM folder', () => {
    expect(
      linkedCloneProblem(
        VmConfigSchema.parse({
          ...base,
          disks: [{ id: 'disk0', file: 'd.qcow2', format: 'qcow2', bus: 'virtio' }],
        }),
      ),
    ).toBeNull();
    expect(
      linkedCloneProblem(
        VmConfigSchema.parse({
          ...base,
          disks: [{ id: 'disk0', file: 'd.img', format: 'raw', bus: 'virtio' }],
        }),
      ),
    ).toMatch(/raw/);
    expect(
      linkedCloneProblem(
        VmConfigSchema.parse({
          ...base,
          disks: [{ id: 'disk0', file: '/mine/d.qcow2', format: 'qcow2', bus: 'virtio' }],
        }),
      ),
    ).toMatch(/outside/);
    expect(linkedCloneProblem(VmConfigSchema.parse({ ...base, disks: [] }))).toMatch(/no disk/);
  });
});

describe('CLI rendering', () => {
  const fmt = (n: number) => `${Math.round(n / 1024)}K`;
  it('draws a progress bar within the terminal width', () => {
    const task = {
      title: 'Import',
      message: 'Converting',
      progress: 0.5,
      bytesDone: 512 * 1024,
      bytesTotal: 1024 * 1024,
      bytesPerSecond: 1024 * 100,
      etaSeconds: 65,
    } as TaskInfo;
    const line = progressLine(task, 200, fmt);
    expect(line).toBe('[############------------]   50%  512K/1024K  100K/s  ETA 1:05  Converting');
    expect(progressLine(task, 30, fmt).length).toBeLessThanOrEqual(29);
  });

  it('draws the snapshot tree with "you are here"', () => {
    const node = (id: string, name: string, parent: string | null, children: string[]) => ({
      id,
      tag: `viv-${id}`,
      name,
      description: '',
      createdAt: '2026-01-01T00:00:00Z',
      parent,
      children,
      kind: 'live' as const,
      vmStateSize: 2048,
      status: 'ok' as const,
      external: false,
      quiesced: false,
      hasThumbnail: true,
      devices: ['disk0'],
      canRevert: { ok: true as const },
      canDelete: { ok: true as const },
    });
    const list: SnapshotList = {
      vmId: 'x',
      snapshots: [
        node('a', 'first', null, ['b', 'c']),
        node('b', 'second', 'a', []),
        node('c', 'third', 'a', []),
      ],
      roots: ['a'],
      current: 'b',
      canSnapshot: { ok: true, kind: 'live' },
      state: 'running',
    };
    const table = (h: string[], rows: string[][]) =>
      [h, ...rows].map((r) => r.join('|')).join('\n');
    const text = snapshotTable(list, { table, formatBytes: fmt });
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^ \|first\|live\|/);
    expect(lines[2]).toMatch(/^\*\|├─ second\|/);
    expect(lines[3]).toMatch(/^ \|└─ third\|/);
  });
});
