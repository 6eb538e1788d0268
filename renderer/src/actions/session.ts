import { getBridge } from '../bridge';
import { useHostStore } from '../stores/host';
import { loadHost, setConnection } from './host';
import { applyEvent, loadLibrary } from './library';

let started = false;

/** Connects the stores to the engine: events in, then the list and the host facts. */
export function startSession(): void {
  if (started) return;
  started = true;
  const bridge = getBridge();
  useHostStore.setState({ bridgeKind: bridge.kind, connection: bridge.connection() });
  bridge.onEvent(applyEvent);
  bridge.onConnection((state, reconnected) => {
    setConnection(state);
    // Events were missed while away: fetch the truth again.
    if (state === 'open' && reconnected) void refreshAll();
  });
  void refreshAll();
}

export async function refreshAll(): Promise<void> {
  await Promise.all([loadLibrary(), loadHost()]);
}
