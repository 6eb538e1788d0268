import { getBridge, takePrefetched, toApiError, type ConnectionState } from '../bridge';
import { useHostStore } from '../stores/host';
import { notifyError } from './notifications';

export async function loadHost(refresh = false): Promise<void> {
  try {
    const info = await ((refresh ? null : takePrefetched('host.info')) ??
      getBridge().call('host.info', { refresh }));
    useHostStore.setState((s) => ({
      info,
      error: null,
      // A fresh probe is the truth: notices about what it no longer finds go.
      notices: unique(refresh ? info.notices : [...info.notices, ...s.notices]),
    }));
  } catch (err) {
    useHostStore.setState({ error: toApiError(err).message });
    notifyError('Could not read the host’s QEMU setup', err);
  }
}

/**
 * Probes QEMU and the accelerators again (a test guest per accelerator: a few seconds), for when
 * the user fixed something (installed QEMU, loaded the KVM module).
 */
export async function probeHost(): Promise<void> {
  if (useHostStore.getState().probing) return;
  useHostStore.setState({ probing: true });
  try {
    await loadHost(true);
  } finally {
    useHostStore.setState({ probing: false });
  }
}

export function addHostNotice(message: string): void {
  useHostStore.setState((s) => ({ notices: unique([...s.notices, message]) }));
}

export function setConnection(connection: ConnectionState): void {
  useHostStore.setState({ connection });
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}
