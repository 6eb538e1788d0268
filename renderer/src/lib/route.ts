/**
 * Where the user is, kept in the address's hash (`#/vm/<id>/display`) so a reload, the back button
 * and a bookmark land in the same place. No server routes: the hash never reaches the server.
 */
export type Route =
  | { view: 'library' }
  | { view: 'host' }
  | { view: 'networks' }
  | { view: 'vm'; vmId: string; tab: string };

export const LIBRARY: Route = { view: 'library' };
export const HOST: Route = { view: 'host' };
export const NETWORKS: Route = { view: 'networks' };

export function parseHash(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  if (parts[0] === 'vm' && parts[1]) {
    return { view: 'vm', vmId: parts[1], tab: parts[2] ?? 'overview' };
  }
  if (parts[0] === 'host') return HOST;
  if (parts[0] === 'networks') return NETWORKS;
  return LIBRARY;
}

export function formatHash(route: Route): string {
  if (route.view === 'library') return '#/';
  if (route.view === 'host') return '#/host';
  if (route.view === 'networks') return '#/networks';
  return `#/vm/${encodeURIComponent(route.vmId)}/${encodeURIComponent(route.tab)}`;
}

export function sameRoute(a: Route, b: Route): boolean {
  return formatHash(a) === formatHash(b);
}
