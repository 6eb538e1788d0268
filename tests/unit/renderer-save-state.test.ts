/** How the renderer words a saved VM and reads its long tasks: pure functions, no DOM. */
import { describe, expect, it } from 'vitest';
import type { TaskInfo } from '../../common/contract';
import { savedRefusalMessage, savedToChangeMessage } from '../../common/rules/vm-settings';
import { cardsLockedReason } from '../../renderer/src/lib/network-drafts';
import {
  opLabel,
  runningTask,
  savedLabel,
  savedRefusal,
  settingsLockReason,
  taskPercent,
} from '../../renderer/src/lib/save-state';
import { canRun, STATES } from '../../renderer/src/lib/vm-state';

function task(id: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    id,
    kind: 'vm.suspend',
    title: 'Saving "a" to disk',
    vmId: 'vm-a',
    state: 'running',
    progress: null,
    bytesDone: null,
    bytesTotal: null,
    bytesPerSecond: null,
    etaSeconds: null,
    message: null,
    error: null,
    result: null,
    cancellable: true,
    startedAt: '2026-01-01T00:00:00Z',
    endedAt: null,
    ...extra,
  };
}

describe('saved VMs in words', () => {
  const at = '2026-12-06T21:00:00.000Z';
  const t = Date.parse(at);

  it('says how long ago it was saved, and stays plain when the time is unknown', () => {
    expect(savedLabel(at, t + 10_000)).toBe('Saved just now');
    expect(savedLabel(at, t + 2 * 60_000)).toBe('Saved 2 min ago');
    expect(savedLabel(at, t + 3 * 3600_000)).toBe('Saved 3 h ago');
    expect(savedLabel(null, t)).toBe('Saved');
    expect(savedLabel('not a date', t)).toBe('Saved');
  });

  it('calls Start Resume on a saved VM only', () => {
    expect(opLabel('start', 'saved', 'Start')).toBe('Resume');
    expect(opLabel('start', 'stopped', 'Start')).toBe('Start');
    expect(opLabel('start', 'crashed', 'Start')).toBe('Start');
    expect(opLabel('suspend', 'running', 'Suspend')).toBe('Suspend');
  });

  it('offers Start (Resume) on a saved VM, and Suspend beside Pause while the guest is up', () => {
    expect(STATES.saved.allowed).toEqual(['start']);
    expect(canRun('saved', 'start', undefined)).toBe(true);
    expect(canRun('saved', 'suspend', undefined)).toBe(false);
    expect(canRun('running', 'suspend', undefined)).toBe(true);
    expect(canRun('paused', 'suspend', undefined)).toBe(true);
    expect(canRun('stopped', 'suspend', undefined)).toBe(false);
    expect(canRun('saving', 'suspend', undefined)).toBe(false);
    expect(canRun('running', 'suspend', 'suspend')).toBe(false);
  });

  it('locks settings with the common rule’s reason while saved, and the stop message while live', () => {
    expect(settingsLockReason('a', 'stopped', true)).toBeNull();
    expect(settingsLockReason('a', 'saved', false)).toBe(
      savedToChangeMessage(['its hardware and disks']),
    );
    expect(settingsLockReason('a', 'saved', false)).toMatch(/discard/);
    expect(settingsLockReason('a', 'running', false)).toBe(
      '“a” is running: shut it down to change this.',
    );
  });

  it('gives the saved refusal for cards and other operations, and nothing when not saved', () => {
    expect(cardsLockedReason('saved')).toBe(savedRefusalMessage('nics'));
    expect(cardsLockedReason('stopped')).toBeNull();
    expect(cardsLockedReason('running')).not.toBe(savedRefusalMessage('nics'));
    expect(savedRefusal('saved', 'clone')).toBe(savedRefusalMessage('clone'));
    expect(savedRefusal('stopped', 'clone')).toBeNull();
  });
});

describe('task progress', () => {
  it('reads the fraction, or the bytes, clamped to whole percent', () => {
    expect(taskPercent(task('a', { progress: 0.426 }))).toBe(43);
    expect(taskPercent(task('a', { bytesDone: 50, bytesTotal: 200 }))).toBe(25);
    expect(taskPercent(task('a', { progress: 1.5 }))).toBe(100);
    expect(taskPercent(task('a', { bytesDone: 5, bytesTotal: 0 }))).toBeNull();
    expect(taskPercent(task('a'))).toBeNull();
  });

  it('finds the newest running task of a kind for a VM', () => {
    const tasks = {
      old: task('old', { startedAt: '2026-01-01T00:00:00Z' }),
      new: task('new', { startedAt: '2026-01-01T00:01:00Z' }),
      done: task('done', { state: 'succeeded', startedAt: '2026-01-01T00:02:00Z' }),
      other: task('other', { vmId: 'vm-b', startedAt: '2026-01-01T00:03:00Z' }),
      kind: task('kind', { kind: 'snapshot.save', startedAt: '2026-01-01T00:04:00Z' }),
    };
    expect(runningTask(tasks, 'vm-a', 'vm.suspend')?.id).toBe('new');
    expect(runningTask(tasks, 'vm-b', 'vm.suspend')?.id).toBe('other');
    expect(runningTask(tasks, 'vm-c', 'vm.suspend')).toBeUndefined();
  });
});
