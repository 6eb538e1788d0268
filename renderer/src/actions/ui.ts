import { formatHash, parseHash, sameRoute, type Route } from '../lib/route';
import { writeStored } from '../lib/storage';
import { useUiStore, type Dialog, type LibrarySort } from '../stores/ui';

export function setSearch(search: string): void {
  useUiStore.setState({ search });
}

export function setSort(sort: LibrarySort): void {
  useUiStore.setState({ sort });
  writeStored('vivarium.sort', sort);
}

/** Hides a host notice for good (remembered across reloads); it never blocks anything meanwhile. */
export function dismissHostNotice(message: string): void {
  useUiStore.setState((s) => ({
    dismissedNotices: [...new Set([...s.dismissedNotices, message])],
  }));
  writeStored('vivarium.dismissedNotices', useUiStore.getState().dismissedNotices.slice(-50));
}

export function openDialog(dialog: Dialog): void {
  useUiStore.setState({ dialog });
}

export function closeDialog(): void {
  useUiStore.setState({ dialog: null });
}

/** Goes to a view; the hash follows, so Back and reloads work. */
export function navigate(route: Route, { replace = false } = {}): void {
  if (!sameRoute(route, useUiStore.getState().route)) useUiStore.setState({ route });
  const hash = formatHash(route);
  if (window.location.hash === hash) return;
  if (replace) {
    window.history.replaceState(window.history.state, '', hash);
  } else {
    window.location.hash = hash;
  }
}

export function openVm(vmId: string, tab = 'overview'): void {
  navigate({ view: 'vm', vmId, tab });
}

export function openLibrary(): void {
  navigate({ view: 'library' });
}

/** The Host view: this computer, QEMU and accelerators, firmware, install media. */
export function openHost(): void {
  navigate({ view: 'host' });
}

/** The Networks page: private networks between VMs and which VMs are on them. */
export function openNetworks(): void {
  navigate({ view: 'networks' });
}

let routerStarted = false;

/** Keeps the route in step with the hash (Back/Forward, a typed address). */
export function startRouter(): void {
  if (routerStarted) return;
  routerStarted = true;
  window.addEventListener('hashchange', () => {
    const route = parseHash(window.location.hash);
    if (!sameRoute(route, useUiStore.getState().route))
      useUiStore.setState({ route, dialog: null });
  });
}
