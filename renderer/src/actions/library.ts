import type { VmSummary } from '../../../common/contract';
import { getBridge, takePrefetched, toApiError } from '../bridge';
import { findVm, reduceVms, useLibraryStore, type VmEvent } from '../stores/library';
import { dismissStartOffers, notify } from './notifications';

/** Events that arrive while vm.list is in flight, replayed over its (older) answer. */
let eventsDuringLoad: VmEvent[] | null = null;
let loadSeq = 0;

export async function loadLibrary(): Promise<void> {
  const seq = ++loadSeq;
  const buffered: VmEvent[] = [];
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

/** A VM appeared, changed state or went: the list follows, and a crash is announced. */
export function applyVmEvent(event: VmEvent): void {
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
