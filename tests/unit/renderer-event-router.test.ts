/**
 * The renderer's event router: each engine event lands in the store that owns it (library,
 * tasks, host notices), and the notifications it causes are shown once. Plain Node, no DOM.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { VmConfigSchema, type TaskInfo, type VmState, type VmSummary } from '../../common/contract';
import { applyEvent } from '../../renderer/src/actions/event-router';
import { useHostStore } from '../../renderer/src/stores/host';
import { reduceVms, useLibraryStore } from '../../renderer/src/stores/library';
import { useNotificationsStore } from '../../renderer/src/stores/notifications';
import { useTasksStore } from '../../renderer/src/stores/tasks';

function vm(id: string, state: VmState = 'stopped', name = `VM ${id}`): VmSummary {
  return {
    id,
    name,
    dir: `/vms/${id}`,
    guest: null,
    config: VmConfigSchema.parse({
      configVersion: 3,
      id,
      name,
      createdAt: '2026-01-01T00:00:00Z',
      memoryMiB: 256,
    }),
    runtime: {
      state,
      pid: state === 'stopped' ? null : 1234,
      accel: null,
      startedAt: null,
      accelNotice: null,
      lastExit: null,
      savedAt: null,
      lastError: null,
    },
  };
}

function task(id: string, state: TaskInfo['state'], extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    id,
    kind: 'download',
    title: 'Downloading debian.iso',
    vmId: null,
    state,
    progress: state === 'running' ? 0.5 : 1,
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

const notifications = () => useNotificationsStore.getState().items;

beforeEach(() => {
  useLibraryStore.setState({ vms: [], status: 'ready', error: null });
  useTasksStore.setState({ tasks: {}, hidden: [] });
  useNotificationsStore.setState({ items: [] });
  useHostStore.setState({ notices: [] });
});

describe('the VM reducer', () => {
  it('appends a new VM, replaces a known one in place and drops a removed one', () => {
    const a = vm('aaaaaaaaaaaa');
    const b = vm('bbbbbbbbbbbb');
    let list = reduceVms([], { type: 'vm.added', vm: a });
    list = reduceVms(list, { type: 'vm.added', vm: b });
    expect(list.map((v) => v.id)).toEqual([a.id, b.id]);
    const running = vm(a.id, 'running');
    list = reduceVms(list, { type: 'vm.state', vm: running });
    expect(list.map((v) => v.id)).toEqual([a.id, b.id]);
    expect(list[0]).toBe(running);
    list = reduceVms(list, { type: 'vm.removed', id: a.id });
    expect(list).toEqual([b]);
  });

  it('never changes the list it was given', () => {
    const before = [vm('aaaaaaaaaaaa')];
    const after = reduceVms(before, { type: 'vm.removed', id: 'aaaaaaaaaaaa' });
    expect(before).toHaveLength(1);
    expect(after).toEqual([]);
  });
});

describe('applyEvent', () => {
  it('vm.added and vm.state update the library store', () => {
    const a = vm('aaaaaaaaaaaa');
    applyEvent({ type: 'vm.added', vm: a });
    expect(useLibraryStore.getState().vms).toEqual([a]);
    applyEvent({ type: 'vm.state', vm: vm(a.id, 'running') });
    expect(useLibraryStore.getState().vms.map((v) => v.runtime.state)).toEqual(['running']);
    applyEvent({ type: 'vm.removed', id: a.id });
    expect(useLibraryStore.getState().vms).toEqual([]);
    expect(notifications()).toEqual([]);
  });

  it('a VM that crashes is announced once, with a way to its Overview', () => {
    const a = vm('aaaaaaaaaaaa', 'running', 'Build box');
    applyEvent({ type: 'vm.added', vm: a });
    const crashed = vm(a.id, 'crashed', 'Build box');
    crashed.runtime.lastExit = { code: null, signal: 'SIGKILL', stderrTail: '' };
    applyEvent({ type: 'vm.state', vm: crashed });
    applyEvent({ type: 'vm.state', vm: crashed });
    expect(notifications()).toHaveLength(1);
    expect(notifications()[0]).toMatchObject({
      kind: 'error',
      title: '“Build box” stopped unexpectedly',
      action: { type: 'openVm', vmId: a.id, tab: 'overview' },
    });
    expect(notifications()[0]?.message).toContain('QEMU was killed by SIGKILL.');
  });

  it('a VM started elsewhere drops the offers to start it', () => {
    const a = vm('aaaaaaaaaaaa');
    useNotificationsStore.setState({
      items: [
        {
          id: 1,
          kind: 'info',
          title: 'Created',
          message: '',
          action: { type: 'start', vmId: a.id, label: 'Start' },
        },
        { id: 2, kind: 'info', title: 'Something else', message: '' },
      ],
    });
    applyEvent({ type: 'vm.state', vm: vm(a.id, 'starting') });
    expect(notifications().map((n) => n.id)).toEqual([2]);
  });

  it('task events fill the tasks store; a failure is announced once with its code', () => {
    applyEvent({ type: 'task', task: task('t1', 'running') });
    expect(useTasksStore.getState().tasks['t1']?.state).toBe('running');
    expect(notifications()).toEqual([]);
    const failed = task('t1', 'failed', {
      error: { code: 'FILE_UNREADABLE', message: 'The mirror answered 404' },
    });
    applyEvent({ type: 'task', task: failed });
    applyEvent({ type: 'task', task: failed });
    expect(useTasksStore.getState().tasks['t1']).toBe(failed);
    expect(notifications()).toHaveLength(1);
    expect(notifications()[0]).toMatchObject({
      kind: 'error',
      title: 'Downloading debian.iso failed',
      message: 'The mirror answered 404',
      code: 'FILE_UNREADABLE',
    });
  });

  it('host notices are kept once each', () => {
    applyEvent({ type: 'host.notice', message: 'KVM is broken here: using TCG' });
    applyEvent({ type: 'host.notice', message: 'KVM is broken here: using TCG' });
    expect(useHostStore.getState().notices).toEqual(['KVM is broken here: using TCG']);
  });
});
