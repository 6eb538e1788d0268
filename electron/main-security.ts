/**
 * Security policy for the Electron shell: where the renderer may come from, the CSP, navigation
 * and window-open guards, and permissions. Pure helpers are exported so the IPC adapter and the
 * tests can share the one definition of "our renderer".
 */
import { pathToFileURL } from 'node:url';
import { app, shell, type Session, type WebContents } from 'electron';

/** Where the renderer is loaded from: the built file, or electron-vite's dev server. */
export type RendererSource =
  { kind: 'file'; file: string; url: URL } | { kind: 'dev'; url: URL; origin: string };

export function rendererSource(
  indexHtml: string,
  devServerUrl: string | undefined,
): RendererSource {
  if (devServerUrl && !app.isPackaged) {
    const url = new URL(devServerUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`ELECTRON_RENDERER_URL must be http(s), got ${url.protocol}`);
    }
    return { kind: 'dev', url, origin: url.origin };
  }
  return { kind: 'file', file: indexHtml, url: pathToFileURL(indexHtml) };
}

/**
 * True when `rawUrl` is our renderer document: the same file (any hash or query; file URLs all
 * have the opaque origin "null", so the path is what identifies them) or the dev server's origin.
 */
export function isRendererUrl(source: RendererSource, rawUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return false;
  }
  if (source.kind === 'dev') return url.origin === source.origin;
  return (
    url.protocol === 'file:' && url.host === source.url.host && url.pathname === source.url.pathname
  );
}

/** Only plain web links leave the app, and only to the user's browser. */
export function externalUrl(rawUrl: string): string | null {
  try {
    const url = new URL(rawUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    if (url.username || url.password) return null;
    return url.href;
  } catch {
    return null;
  }
}

export function contentSecurityPolicy(streamPort: number | null, source: RendererSource): string {
  const streams = streamPort === null ? [] : [`ws://127.0.0.1:${streamPort}`];
  const dev =
    source.kind === 'dev'
      ? { connect: [source.origin.replace(/^http/, 'ws')], script: ["'unsafe-inline'"] }
      : { connect: [], script: [] };
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    // Vite's dev server injects an inline React-refresh preamble; the built app has none.
    'script-src': ["'self'", ...dev.script],
    'connect-src': ["'self'", ...streams, ...dev.connect],
    'img-src': ["'self'", 'data:', 'blob:'],
    'style-src': ["'self'", "'unsafe-inline'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set([
  'clipboard-sanitized-write',
  'fullscreen',
]);

/** CSP on every response, and no permissions beyond writing the clipboard and fullscreen. */
export function secureSession(ses: Session, csp: string): void {
  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      if (name.toLowerCase() !== 'content-security-policy') headers[name] = value;
    }
    headers['Content-Security-Policy'] = [csp];
    callback({ responseHeaders: headers });
  });
  ses.setPermissionRequestHandler((_contents, permission, callback) => {
    callback(ALLOWED_PERMISSIONS.has(permission));
  });
  ses.setPermissionCheckHandler((_contents, permission) => ALLOWED_PERMISSIONS.has(permission));
  ses.setDevicePermissionHandler(() => false);
}

/** Applied to every WebContents the app ever creates (the window, and anything that slips in). */
export function guardWebContents(contents: WebContents, source: RendererSource): void {
  contents.on('will-navigate', (event, url) => {
    if (!isRendererUrl(source, url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isRendererUrl(source, url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    const external = externalUrl(url);
    if (external) {
      shell.openExternal(external).catch((err: unknown) => {
        console.error('Could not open a link in the browser:', err);
      });
    }
    return { action: 'deny' };
  });
}
