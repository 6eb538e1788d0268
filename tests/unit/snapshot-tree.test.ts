import { describe, expect, it } from 'vitest';
import {
  VmConfigSchema,
  type CanSnapshot,
  type Verdict,
  type VmConfig,
} from '../../common/contract';
import { canRevert, canSnapshot, snapshotDevices } from '../../electron/engine/snapshots/rules';
import {
  addSnapshot,
  assertSnapshotNameFree,
  emptyIndex,
  externalId,
  presentTree,
  reconcile,
  removeSnapshot,
  resolveSnapshot,
  type SnapshotIndex,
  type StoredSnapshot,
} from '../../electron/engine/snapshots/tree';
import type { ImageSnapshot } from '../../electron/engine/storage/qemu-img';

function config(patch: Partial<VmConfig> = {}): VmConfig {
  return VmConfigSchema.parse({
    configVersion: 3,
    id: 'abcdefabcdef',
    name: 'test',
    createdAt: '2026-01-01T00:00:00Z',
    memoryMiB: 256,
    disks: [{ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'virtio' }],
    ...patch,
  });
}

/** The reason of a refusal ('' for a yes). */
function why(v: Verdict | CanSnapshot | undefined): string {
  return v && !v.ok ? v.reason : '';
}

function snap(id: string, patch: Partial<StoredSnapshot> = {}): Omit<StoredSnapshot, 'parent'> {
  return {
    id,
    tag: `viv-${id}`,
    name: id,
    description: '',
    createdAt: `2026-01-01T00:00:0${id.length % 10}Z`,
    kind: 'live',
    vmStateSize: null,
    vmstate: 'disk0',
    devices: ['disk0'],
    thumbnail: null,
    external: false,
    status: 'ok',
    quiesced: false,
    ...patch,
  };
}

function image(name: string, vmStateSize = 1000, dateSec = 1_800_000_000): ImageSnapshot {
  return { id: '1', name, vmStateSize, dateSec, vmClockSec: 0 };
}

/** a -> b -> c, and a -> d; "you are here" at d. */
function sample(): SnapshotIndex {
  let idx = emptyIndex();
  idx = addSnapshot(idx, snap('aaaaaaaaaaaa', { createdAt: '2026-01-01T00:00:01Z' }));
  idx = addSnapshot(idx, snap('bbbbbbbbbbbb', { createdAt: '2026-01-01T00:00:02Z' }));
  idx = addSnapshot(idx, snap('cccccccccccc', { createdAt: '2026-01-01T00:00:03Z' }));
  idx = { ...idx, current: 'aaaaaaaaaaaa' };
  idx = addSnapshot(
    idx,
    snap('dddddddddddd', { createdAt: '2026-01-01T00:00:04Z', name: 'Before Update' }),
  );
  return idx;
}

describe('snapshot tree', () => {
  it('adds under "you are here" and moves it', () => {
    const idx = sample();
    expect(idx.current).toBe('dddddddddddd');
    expect(idx.snapshots.map((s) => [s.id.slice(0, 1), s.parent?.slice(0, 1) ?? null])).toEqual([
      ['a', null],
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'a'],
    ]);
  });

  it('deleting re-parents the children and moves "you are here" up', () => {
    const { index, reparented } = removeSnapshot(sample(), 'aaaaaaaaaaaa');
    expect(reparented.sort()).toEqual(['bbbbbbbbbbbb', 'dddddddddddd']);
    expect(index.snapshots.find((s) => s.id === 'bbbbbbbbbbbb')?.parent).toBeNull();
    const again = removeSnapshot(index, 'dddddddddddd');
    expect(again.index.current).toBeNull();
    const mid = removeSnapshot(sample(), 'bbbbbbbbbbbb');
    expect(mid.index.snapshots.find((s) => s.id === 'cccccccccccc')?.parent).toBe('aaaaaaaaaaaa');
  });

  it('resolves by id, tag, then name (case-insensitive) and keeps names unique', () => {
    const idx = sample();
    expect(resolveSnapshot(idx, 'bbbbbbbbbbbb').id).toBe('bbbbbbbbbbbb');
    expect(resolveSnapshot(idx, 'viv-cccccccccccc').id).toBe('cccccccccccc');
    expect(resolveSnapshot(idx, 'before update').id).toBe('dddddddddddd');
    expect(() => resolveSnapshot(idx, 'nope')).toThrow(/no snapshot "nope"/);
    expect(() => assertSnapshotNameFree(idx, 'BEFORE UPDATE')).toThrow(/already exists/);
    expect(() => assertSnapshotNameFree(idx, 'Before Update', 'dddddddddddd')).not.toThrow();
  });

  it('reconciles: vanished ones are missing, outside ones appear, sizes fill in', () => {
    const idx = sample();
    const { index, changed } = reconcile(idx, [
      {
        node: 'disk0',
        snapshots: [
          image('viv-aaaaaaaaaaaa', 5000),
          image('viv-bbbbbbbbbbbb'),
          image('viv-dddddddddddd'),
          image('by-hand', 0, 1_700_000_000),
          image('viv-eeeeeeeeeeee', 42), // ours, but the tree never heard of it (a crash)
        ],
      },
    ]);
    expect(changed).toBe(true);
    const by = (id: string) => index.snapshots.find((s) => s.id === id);
    expect(by('aaaaaaaaaaaa')).toMatchObject({ status: 'ok', vmStateSize: 5000 });
    expect(by('cccccccccccc')?.status).toBe('missing');
    const hand = index.snapshots.find((s) => s.tag === 'by-hand');
    expect(hand).toMatchObject({
      id: externalId('by-hand'),
      external: true,
      kind: 'disk',
      parent: null,
      name: 'by-hand',
      createdAt: new Date(1_700_000_000_000).toISOString(),
    });
    expect(by('eeeeeeeeeeee')).toMatchObject({ external: true, kind: 'live', vmStateSize: 42 });
    // Stable: the same images give the same tree.
    const second = reconcile(index, [
      {
        node: 'disk0',
        snapshots: [
          image('viv-aaaaaaaaaaaa', 5000),
          image('viv-bbbbbbbbbbbb', 1000),
          image('viv-dddddddddddd', 1000),
          image('by-hand', 0, 1_700_000_000),
          image('viv-eeeeeeeeeeee', 42),
        ],
      },
    ]);
    expect(second.changed).toBe(false);
    // A device that could not be read changes nothing.
    expect(reconcile(idx, [{ node: 'disk0', snapshots: null }])).toEqual({
      index: idx,
      changed: false,
    });
  });

  it('marks a snapshot held by only some of its devices as partial', () => {
    let idx = emptyIndex();
    idx = addSnapshot(idx, snap('aaaaaaaaaaaa', { devices: ['disk0', 'fw-vars'] }));
    const { index } = reconcile(idx, [
      { node: 'disk0', snapshots: [image('viv-aaaaaaaaaaaa')] },
      { node: 'fw-vars', snapshots: [] },
    ]);
    expect(index.snapshots[0]?.status).toBe('partial');
    const tree = presentTree(
      'x',
      index,
      config({ firmware: 'uefi' }),
      'running',
      ['disk0', 'fw-vars'],
      null,
    );
    expect(tree.snapshots[0]?.canRevert).toMatchObject({ ok: false });
  });

  it('presents children, roots, current and per-node verdicts', () => {
    const tree = presentTree('x', sample(), config(), 'running', ['disk0'], null);
    expect(tree.roots).toEqual(['aaaaaaaaaaaa']);
    expect(tree.snapshots[0]?.children).toEqual(['bbbbbbbbbbbb', 'dddddddddddd']);
    expect(tree.current).toBe('dddddddddddd');
    expect(tree.canSnapshot).toEqual({ ok: true, kind: 'live' });
    expect(tree.snapshots.every((s) => s.canRevert.ok)).toBe(true);
    const gone = presentTree('x', sample(), config(), 'running', [], null);
    expect(why(gone.snapshots[0]?.canRevert)).toMatch(/no longer attached/);
  });
});

describe('snapshot rules', () => {
  it('lists writable qcow2 disks and the UEFI vars; memory goes to the first disk', () => {
    const c = config({
      firmware: 'uefi',
      disks: [
        {
          id: 'disk0',
          file: 'a.qcow2',
          format: 'qcow2',
          bus: 'virtio',
          readOnly: false,
          cache: 'writeback',
        },
        {
          id: 'disk1',
          file: '/iso/b.img',
          format: 'raw',
          bus: 'virtio',
          readOnly: true,
          cache: 'writeback',
        },
        {
          id: 'disk2',
          file: 'c.qcow2',
          format: 'qcow2',
          bus: 'sata',
          readOnly: false,
          cache: 'writeback',
        },
      ],
    });
    expect(snapshotDevices(c, '/vm', '/vm/uefi-vars.qcow2')).toEqual({
      devices: [
        { node: 'disk0', file: '/vm/a.qcow2' },
        { node: 'disk2', file: '/vm/c.qcow2' },
        { node: 'fw-vars', file: '/vm/uefi-vars.qcow2' },
      ],
      vmstate: 'disk0',
    });
    expect(snapshotDevices(config({ firmware: 'uefi', disks: [] }), '/vm', '/n').vmstate).toBe(
      'fw-vars',
    );
  });

  it('says why not: raw disk, no disk, passthrough, -snapshot, busy, space', () => {
    const raw = config({
      disks: [
        {
          id: 'disk0',
          file: 'r.img',
          format: 'raw',
          bus: 'virtio',
          readOnly: false,
          cache: 'writeback',
        },
      ],
    });
    expect(why(canSnapshot({ config: raw, state: 'running' }))).toMatch(/raw image/);
    expect(canSnapshot({ config: config({ disks: [] }), state: 'running' })).toMatchObject({
      ok: false,
    });
    expect(
      canSnapshot({ config: config({ disks: [], firmware: 'uefi' }), state: 'running' }),
    ).toEqual({ ok: true, kind: 'live' });
    expect(
      canSnapshot({ config: config({ disks: [], firmware: 'uefi' }), state: 'stopped' }),
    ).toMatchObject({ ok: false });
    expect(
      why(
        canSnapshot({
          config: config({ extraArgs: ['-device', 'vfio-pci,host=01:00.0'] }),
          state: 'running',
        }),
      ),
    ).toMatch(/vfio/);
    expect(
      canSnapshot({
        config: config({ extraArgs: ['-device', 'usb-host,vendorid=1'] }),
        state: 'stopped',
      }),
    ).toMatchObject({ ok: false });
    expect(
      canSnapshot({ config: config({ extraArgs: ['-snapshot'] }), state: 'running' }),
    ).toMatchObject({ ok: false });
    const host = { kind: 'host' as const, id: 'usb1', vendorId: '046d', productId: 'c52b' };
    const drive = { kind: 'drive' as const, id: 'usb2', file: '/i/s.img', format: 'raw' as const };
    expect(why(canSnapshot({ config: config({ usb: [host] }), state: 'running' }))).toMatch(
      /USB device 046d:c52b is passed through/,
    );
    expect(
      why(
        canSnapshot({ config: config({ usb: [{ ...drive, readOnly: false }] }), state: 'paused' }),
      ),
    ).toMatch(/USB drive \/i\/s\.img is writable/);
    expect(
      canSnapshot({ config: config({ usb: [{ ...drive, readOnly: true }] }), state: 'running' }),
    ).toEqual({ ok: true, kind: 'live' });
    // Off, nothing of the devices is in a snapshot: disk-only is fine.
    expect(canSnapshot({ config: config({ usb: [host] }), state: 'stopped' })).toEqual({
      ok: true,
      kind: 'disk',
    });
    expect(why(canSnapshot({ config: config(), state: 'saving' }))).toMatch(/saving/);
    expect(canSnapshot({ config: config(), state: 'stopped' })).toEqual({ ok: true, kind: 'disk' });
    expect(canSnapshot({ config: config(), state: 'crashed' })).toEqual({ ok: true, kind: 'disk' });
    expect(why(canSnapshot({ config: config(), state: 'paused', freeBytes: 10 }))).toMatch(/free/);
  });

  it('reverting a disk-only snapshot needs the VM off', () => {
    const facts = { kind: 'disk' as const, status: 'ok' as const, vmstate: null };
    expect(why(canRevert(facts, 'running', config()))).toMatch(/shut the VM down/);
    expect(canRevert(facts, 'stopped', config())).toEqual({ ok: true });
    expect(canRevert({ ...facts, kind: 'live' }, 'stopped', config())).toEqual({ ok: true });
    expect(canRevert({ ...facts, status: 'missing' }, 'stopped', config())).toMatchObject({
      ok: false,
    });
  });
});
