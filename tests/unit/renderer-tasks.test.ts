/** The renderer's tasks reducer: reports replace each other, an end is seen once, reloads merge. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TaskInfo } from '../../common/contract';
import { applyTaskEvent, hideTask } from '../../renderer/src/actions/tasks';
import { useNotificationsStore } from '../../renderer/src/stores/notifications';
import {
  justEnded,
  mergeTaskList,
  upsertTask,
  useTasksStore,
} from '../../renderer/src/stores/tasks';

function task(id: string, state: TaskInfo['state'], extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    id,
    kind: 'disk.import',
    title: 'Importing disk.qcow2',
    vmId: null,
    state,
    progress: null,
    bytesDone: null,
    bytesTotal: null,
    bytesPerSecond: null,
    etaSeconds: null,
    message: null,
    error: null,
    result: null,
    cancellable: false,
    startedAt: '2026-01-01T00:00:00Z',
    endedAt: null,
    ...extra,
  };
}

describe('pure reducers', () => {
  it('upsertTask replaces the report of the same task and keeps the others', () => {
    const a = task('a', 'running', { progress: 0.1 });
    const b = task('b', 'running');
    const tasks = upsertTask(upsertTask({}, a), b);
    const a2 = task('a', 'running', { progress: 0.7 });
    const next = upsertTask(tasks, a2);
    expect(next).toEqual({ a: a2, b });
    expect(tasks['a']).toBe(a);
  });

  it('justEnded: true once, on the first report of an end', () => {
    const running = task('a', 'running');
    const done = task('a', 'succeeded');
    expect(justEnded(undefined, running)).toBe(false);
    expect(justEnded(running, running)).toBe(false);
    expect(justEnded(running, done)).toBe(true);
    expect(justEnded(done, done)).toBe(false);
    // A task first seen already ended (a reply that beat its events) is an end too.
    expect(justEnded(undefined, task('a', 'failed'))).toBe(true);
  });

  it('mergeTaskList takes running and known tasks, not old history', () => {
    const known = task('known', 'running');
    const merged = mergeTaskList({ known }, [
      task('known', 'succeeded'),
      task('new-running', 'running'),
      task('old-done', 'succeeded'),
    ]);
    expect(Object.keys(merged).sort()).toEqual(['known', 'new-running']);
    expect(merged['known']?.state).toBe('succeeded');
  });
});

describe('applyTaskEvent', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    useTasksStore.setState({ tasks: {}, hidden: [] });
    useNotificationsStore.setState({ items: [] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a succeeded task says so once and leaves the panel after a few seconds', () => {
    applyTaskEvent(task('a', 'running'));
    applyTaskEvent(task('a', 'succeeded', { message: 'disk0.qcow2, 2 GiB' }));
    applyTaskEvent(task('a', 'succeeded', { message: 'disk0.qcow2, 2 GiB' }));
    const items = useNotificationsStore.getState().items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      kind: 'info',
      title: 'Importing disk.qcow2: done',
      message: 'disk0.qcow2, 2 GiB',
    });
    expect(useTasksStore.getState().hidden).toEqual([]);
    vi.advanceTimersByTime(6000);
    expect(useTasksStore.getState().hidden).toEqual(['a']);
    // The notification went by itself too.
    expect(useNotificationsStore.getState().items).toEqual([]);
  });

  it('a failed task stays in the panel until closed', () => {
    applyTaskEvent(task('f', 'failed', { message: 'qemu-img said no' }));
    vi.advanceTimersByTime(60_000);
    expect(useTasksStore.getState().hidden).toEqual([]);
    expect(useNotificationsStore.getState().items[0]).toMatchObject({
      kind: 'error',
      title: 'Importing disk.qcow2 failed',
      message: 'qemu-img said no',
    });
    hideTask('f');
    hideTask('f');
    expect(useTasksStore.getState().hidden).toEqual(['f']);
  });

  it('a cancelled task fades without a notification', () => {
    applyTaskEvent(task('c', 'running'));
    applyTaskEvent(task('c', 'cancelled'));
    expect(useNotificationsStore.getState().items).toEqual([]);
    vi.advanceTimersByTime(6000);
    expect(useTasksStore.getState().hidden).toEqual(['c']);
  });
});
