/**
 * Server mode's token, as the page holds it. `vivarium serve` prints `http://HOST:PORT/#token=…`:
 * the fragment never reaches a server, and the page takes the token out of the address bar at
 * once (history, bookmarks and screen shares never show it). It is never a cookie: browsers send
 * cookies to every port of a host, so another web server on 127.0.0.1 would receive it.
 *
 * Besides page memory it is kept in this tab's sessionStorage, so a reload or an in-tab
 * navigation keeps working: that storage belongs to this origin only (scheme, host AND port),
 * is never sent anywhere, and ends with the tab.
 */

const SESSION_KEY = 'vivarium.serverToken';
/**
 * `#token=TOKEN`, optionally followed by `&` or `#` and an app route (`#token=…#/vm/ID/display`),
 * so a deep link is the printed address plus the route.
 */
const FRAGMENT_RE = /^#token=([^&#]*)(?:[&#](.*))?$/;

let held: string | null = null;

let watching = false;

/** The token, taken from the address on first use (then from memory), or null without one. */
export function serverToken(): string | null {
  watchAddress();
  if (held !== null) return held;
  held = takeFromAddress() ?? readSession();
  if (held !== null) writeSession(held);
  return held;
}

/**
 * The printed address with a route after it, opened in a tab already showing Vivarium, changes
 * only the fragment (no new page load): take the token out then too. Registered before the app's
 * router, so the router only ever sees the route.
 */
function watchAddress(): void {
  if (watching) return;
  watching = true;
  window.addEventListener('hashchange', () => {
    const token = takeFromAddress();
    if (token === null) return;
    held = token;
    writeSession(token);
  });
}

/** The WebSocket subprotocols an RPC socket offers: the RPC one, and one naming the token. */
export function rpcProtocols(token: string): string[] {
  // Subprotocols must be HTTP tokens (no `=`, `/`, `:`): the token travels base64url-encoded.
  const b64 = btoa(token).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return ['vivarium.rpc', `vivarium.token.${b64}`];
}

function takeFromAddress(): string | null {
  const m = FRAGMENT_RE.exec(window.location.hash);
  if (!m) return null;
  let token: string | null = null;
  try {
    token = decodeURIComponent(m[1] ?? '');
  } catch {
    token = null;
  }
  const rest = m[2] ? `#${m[2]}` : '';
  try {
    window.history.replaceState(
      window.history.state,
      '',
      window.location.pathname + window.location.search + rest,
    );
  } catch {
    // Some embedders forbid it; the fragment then stays visible (it still never leaves the page).
  }
  return token === '' ? null : token;
}

function readSession(): string | null {
  try {
    return window.sessionStorage.getItem(SESSION_KEY);
  } catch {
    return null;
  }
}

function writeSession(token: string): void {
  try {
    window.sessionStorage.setItem(SESSION_KEY, token);
  } catch {
    // Storage disabled: the token lives in memory only, and a reload asks for the address again.
  }
}
