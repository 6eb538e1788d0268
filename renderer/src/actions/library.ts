import type { ApiEvent, VmSummary } from '../../../common/contract';
import { getBridge, takePrefetched, toApiError } from '../bridge';
import { assertNever } from '../lib/assert-never';
import { removeVm, upsertVm, useLibraryStore } from '../stores/library';
import { useUiStore, type VmOperation } from '../stores/ui';
import { addHostNotice } from './host';
import { dismissStartOffers, notify, notifyError } from './notifications';
import { applyTaskEvent } from './tasks';

/** Events that arrive while vm.list is in flight, replayed over its (older) answer. */
let eventsDuringLoad: ApiEvent[] | null = null;
let loadSeq = 0;

export async function loadLibrary(): Promise<void> {
  const seq = ++loadSeq;
  const buffered: ApiEvent[] = [];
  eventsDuringLoad = buffered;
  try {
    const listed = await (takePrefetched('vm.list') ?? getBridge().call('vm.list', {}));
    if (seq !== loadSeq) return;
    const vms = buffered.reduce(reduceVms, listed);
    eventsDuringLoad = null;
    useLibraryStore.setState({ vms, status: 'ready', error: null });
  } catch (err) {
    if (seq !== loadSeq) return;
    eventsDuringLoad = null;
    const message = toApiError(err).message;
    // Keep showing what we had; only an empty first load becomes an error screen.
    useLibraryStore.setState((s) =>
      s.status === 'ready' ? { error: message } : { status: 'error', error: message },
    );
  }
}

export function applyEvent(event: ApiEvent): void {
  if (event.type === 'host.notice') {
    addHostNotice(event.message);
    return;
  }
  if (event.type === 'task') {
    applyTaskEvent(event.task);
    return;
  }
  eventsDuringLoad?.push(event);
  const before = event.type === 'vm.state' ? findVm(event.vm.id) : undefined;
  useLibraryStore.setState((s) => ({ vms: reduceVms(s.vms, event) }));
  if (event.type === 'vm.state') {
    if (event.vm.runtime.state !== 'stopped') dismissStartOffers(event.vm.id);
    noticeCrash(before, event.vm);
  }
}

/** A VM that dies on its own says so, and where to look. */
function noticeCrash(before: VmSummary | undefined, after: VmSummary): void {
  if (after.runtime.state !== 'crashed' || before?.runtime.state === 'crashed') return;
  const exit = after.runtime.lastExit;
  const how = exit
    ? exit.signal
      ? `QEMU was killed by ${exit.signal}.`
      : `QEMU exited with code ${exit.code ?? 'unknown'}.`
    : 'QEMU ended unexpectedly.';
  notify({
    kind: 'error',
    title: `“${after.name}” stopped unexpectedly`,
    message: `${how} Its Overview shows what QEMU said; fix that, then start it again.`,
    action: { type: 'openVm', vmId: after.id, tab: 'overview', label: 'Show details' },
  });
}

function reduceVms(vms: VmSummary[], event: ApiEvent): VmSummary[] {
  switch (event.type) {
    case 'vm.state':
    case 'vm.added':
      return upsertVm(vms, event.vm);
    case 'vm.removed':
      return removeVm(vms, event.id);
    case 'host.notice':
    case 'task':
      return vms;
    default:
      return assertNever(event);
  }
}

const VERBS: Record<VmOperation, string> = {
  start: 'start',
  pause: 'pause',
  resume: 'resume',
  shutdown: 'shut down',
  powerOff: 'power off',
  reset: 'reset',
};

/**
 * Asks the engine to run an operation. State changes arrive as vm.state events; the answer only
 * fills in when no event has updated the VM meanwhile (the events are newer).
 */
export async function runVmOperation(vmId: string, op: VmOperation): Promise<void> {
  const before = findVm(vmId);
  const name = before?.name ?? vmId;
  useUiStore.setState((s) => ({ pending: { ...s.pending, [vmId]: op } }));
  const api = getBridge();
  try {
    if (op === 'shutdown') {
      const res = await api.call('vm.shutdown', { vm: vmId });
      if (!res.stopped) {
        notify({
          kind: 'warning',
          title: `“${name}” did not shut down`,
          message: res.reason ?? 'The guest ignored the power button.',
          ...(res.canForce
            ? { action: { type: 'powerOff' as const, vmId, label: 'Power off' } }
            : {}),
        });
      }
      return;
    }
    const method = (
      {
        start: 'vm.start',
        pause: 'vm.pause',
        resume: 'vm.resume',
        powerOff: 'vm.powerOff',
        reset: 'vm.reset',
      } as const
    )[op];
    const vm = await api.call(method, { vm: vmId });
    if (findVm(vmId) === before) {
      useLibraryStore.setState((s) => ({ vms: upsertVm(s.vms, vm) }));
    }
  } catch (err) {
    notifyError(`Couldn’t ${VERBS[op]} “${name}”`, err);
  } finally {
    useUiStore.setState((s) => {
      if (s.pending[vmId] !== op) return s;
      const pending = { ...s.pending };
      delete pending[vmId];
      return { pending };
    });
  }
}

export function findVm(id: string): VmSummary | undefined {
  return useLibraryStore.getState().vms.find((v) => v.id === id);
}
