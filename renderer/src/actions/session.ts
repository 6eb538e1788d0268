import { getBridge } from '../bridge';
import { useHostStore } from '../stores/host';
import { loadHost, setConnection } from './host';
import { applyEvent } from './event-router';
import { loadLibrary } from './library';
import { loadTasks } from './tasks';
import { startRouter } from './ui';

let started = false;

/** Connects the stores to the engine: events in, then the list, the host facts and tasks. */
export function startSession(): void {
  if (started) return;
  started = true;
  startRouter();
  const bridge = getBridge();
  useHostStore.setState({ bridgeKind: bridge.kind, connection: bridge.connection() });
  // Loads first, so events that came in early are replayed over the list (see loadLibrary).
  void refreshAll();
  bridge.onEvent(applyEvent);
  bridge.onConnection((state, reconnected) => {
    setConnection(state);
    // Events were missed while away: fetch the truth again.
    if (state === 'open' && reconnected) void refreshAll();
  });
}

export async function refreshAll(): Promise<void> {
  await Promise.all([loadLibrary(), loadHost(), loadTasks()]);
}
