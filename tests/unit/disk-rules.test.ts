import { describe, expect, it } from 'vitest';
import {
  canAddDisk,
  canChangeDisk,
  canDetachDisk,
  canResizeDisk,
  freeHotplugPort,
  scsiTargets,
  MAX_DISKS,
  type DiskRuleVm,
} from '../../common/rules/disks';
import { DISK_BUSES, DISK_CACHES } from '../../common/contract';
import { DISK_BUS_LABELS, DISK_CACHE_LABELS, DISK_CACHE_NOTES } from '../../common/labels';

const boot = { id: 'disk0', bus: 'virtio' as const };
const plugged = { id: 'disk1', bus: 'virtio' as const, port: 0 };
const scsi = { id: 'disk2', bus: 'scsi' as const, port: 0 };

function vm(over: Partial<DiskRuleVm> = {}): DiskRuleVm {
  return { machine: 'q35', layout: 2, disks: [boot, plugged, scsi], state: 'running', ...over };
}

const reason = (v: { ok: boolean; reason?: string }) => (v.ok ? null : v.reason);

describe('disk rules', () => {
  it('a stopped VM may do anything', () => {
    const off = vm({ state: 'stopped' });
    for (const bus of DISK_BUSES) expect(canAddDisk(off, bus).ok).toBe(true);
    expect(canDetachDisk(off, boot).ok).toBe(true);
    expect(canResizeDisk(off, true).ok).toBe(true);
    expect(canChangeDisk(off).ok).toBe(true);
  });

  it('a running q35 VM plugs virtio and SCSI disks, never SATA or IDE', () => {
    expect(canAddDisk(vm(), 'virtio').ok).toBe(true);
    expect(canAddDisk(vm(), 'scsi').ok).toBe(true);
    expect(reason(canAddDisk(vm(), 'sata'))).toMatch(/SATA disks cannot be plugged in/);
    expect(reason(canAddDisk(vm(), 'ide'))).toMatch(/IDE disks cannot be plugged in/);
    expect(reason(canAddDisk(vm({ machine: 'pc' }), 'virtio'))).toMatch(/pc machine/);
  });

  it('a VM on the first device layout has no hot-plug buses until a cold start moves it on', () => {
    const old = vm({ layout: 1 });
    expect(reason(canAddDisk(old, 'virtio'))).toMatch(/made before disks could be plugged in/);
    expect(reason(canDetachDisk(old, plugged))).toMatch(/shut it down to detach/);
    expect(canAddDisk({ ...old, state: 'stopped' }, 'virtio').ok).toBe(true);
  });

  it('unplugs what sits on a spare port or the SCSI controller, not the root bus', () => {
    expect(canDetachDisk(vm(), plugged).ok).toBe(true);
    expect(canDetachDisk(vm(), scsi).ok).toBe(true);
    expect(reason(canDetachDisk(vm(), boot))).toMatch(/root bus.*shut the VM down/);
    expect(reason(canDetachDisk(vm(), { id: 'd', bus: 'sata' }))).toMatch(/shut it down/);
  });

  it('grows live, shrinks and changes bus or cache only when stopped', () => {
    expect(canResizeDisk(vm(), false).ok).toBe(true);
    expect(reason(canResizeDisk(vm(), true))).toMatch(/Shrinking needs/);
    expect(reason(canChangeDisk(vm()))).toMatch(/Shut the VM down/);
  });

  it('a saved VM changes nothing; a VM between states waits', () => {
    const saved = vm({ state: 'saved' });
    expect(reason(canAddDisk(saved, 'virtio'))).toMatch(/saved to disk/);
    expect(reason(canResizeDisk(saved, false))).toMatch(/saved to disk/);
    expect(reason(canDetachDisk(saved, plugged))).toMatch(/saved to disk/);
    expect(reason(canAddDisk(vm({ state: 'starting' }), 'virtio'))).toMatch(/wait/);
  });

  it('counts disks and spare ports', () => {
    const full = Array.from({ length: MAX_DISKS }, (_, i) => ({
      id: `d${i}`,
      bus: 'sata' as const,
    }));
    expect(reason(canAddDisk(vm({ state: 'stopped', disks: full }), 'virtio'))).toMatch(
      /at most 8/,
    );
    expect(freeHotplugPort([boot, plugged, scsi], 'virtio')).toBe(1);
    expect(freeHotplugPort([boot, plugged, scsi], 'scsi')).toBe(1);
    const ports = Array.from({ length: 8 }, (_, i) => ({ bus: 'virtio' as const, port: i }));
    expect(freeHotplugPort(ports, 'virtio')).toBeNull();
    const seven = ports.slice(0, 7).map((p, i) => ({ ...p, id: `d${i}` }));
    expect(canAddDisk(vm({ disks: seven }), 'virtio').ok).toBe(true);
  });

  it('a SCSI disk without a recorded target keeps the one the argv gives it', () => {
    const old = { bus: 'scsi' as const };
    const placed = { bus: 'scsi' as const, port: 0 };
    expect(scsiTargets([old, placed, { bus: 'virtio' as const }, old])).toEqual([1, 0, 2]);
    expect(freeHotplugPort([old, placed], 'scsi')).toBe(2);
  });

  it('every bus and cache mode has a label, and every cache mode a note', () => {
    for (const bus of DISK_BUSES) expect(DISK_BUS_LABELS[bus]).toBeTruthy();
    for (const c of DISK_CACHES) {
      expect(DISK_CACHE_LABELS[c]).toBeTruthy();
      expect(DISK_CACHE_NOTES[c]).toBeTruthy();
    }
  });
});
