/**
 * The Electron shell: one window, menus, security handlers, and the IPC adapter. Everything a user
 * can do is an engine call; this file only wires the engine to a window. Quitting leaves VMs
 * running (the next start re-attaches to them), or saves them to disk first when the user's
 * setting says "When Vivarium quits: suspend them".
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  Menu,
  nativeTheme,
  session,
  type MenuItemConstructorOptions,
} from 'electron';
import { keepFilesPrivate, openEngine, type Engine } from './engine';
import { registerIpc } from './main-ipc';
import {
  contentSecurityPolicy,
  guardWebContents,
  rendererSource,
  secureSession,
  type RendererSource,
} from './main-security';

const APP_NAME = 'Vivarium';
/** The renderer's --bg (renderer/src/styles.css), so the window never flashes before painting. */
const BACKGROUND = { light: '#f4f6f8', dark: '#0e1116' } as const;

const here = dirname(fileURLToPath(import.meta.url)); // out/main
const INDEX_HTML = join(here, '../renderer/index.html');
const PRELOAD = join(here, '../preload/index.cjs');

let engine: Engine | null = null;
let window: BrowserWindow | null = null;
let source: RendererSource | null = null;
let disposeIpc: (() => void) | null = null;

app.setName(APP_NAME);
app.setAboutPanelOptions({
  applicationName: APP_NAME,
  applicationVersion: app.getVersion(),
  copyright: 'MIT License',
  credits: 'Virtual machines by QEMU.',
});
// Every renderer is sandboxed, whatever a window's own preferences say.
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  // Another Vivarium owns the engine; it focuses its window on 'second-instance'.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('web-contents-created', (_event, contents) => {
    if (source) guardWebContents(contents, source);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (engine && source && BrowserWindow.getAllWindows().length === 0) createWindow(source);
  });
  installQuitHandler();
  app.whenReady().then(start).catch(fail);
}

async function start(): Promise<void> {
  source = rendererSource(INDEX_HTML, process.env['ELECTRON_RENDERER_URL']);
  keepFilesPrivate();
  engine = await openEngine({ role: 'owner' });
  const streamPort = await engine.streams.listen();
  secureSession(session.defaultSession, contentSecurityPolicy(streamPort, source));
  disposeIpc = registerIpc(engine, () => window, source);
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate()));
  createWindow(source);
}

function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error('Vivarium could not start:', err);
  dialog.showErrorBox('Vivarium could not start', message);
  app.exit(1);
}

function createWindow(from: RendererSource): void {
  const win = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 880,
    minHeight: 560,
    title: APP_NAME,
    backgroundColor: nativeTheme.shouldUseDarkColors ? BACKGROUND.dark : BACKGROUND.light,
    show: false,
    autoHideMenuBar: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: !app.isPackaged,
      // There is no remote module in current Electron; nothing to disable.
    },
  });
  window = win;
  win.once('ready-to-show', () => {
    win.show();
  });
  win.on('closed', () => {
    if (window === win) window = null;
  });
  const loaded = from.kind === 'dev' ? win.loadURL(from.url.href) : win.loadFile(from.file);
  loaded.catch((err: unknown) => {
    console.error('Could not load the Vivarium window:', err);
  });
}

/**
 * Before the process goes away: the running VMs are saved to disk if the onQuit setting asks
 * for it (those that cannot be saved keep running, and the user is told why), then the engine
 * closes (VMs left running keep running).
 */
function installQuitHandler(): void {
  let closing = false;
  app.on('before-quit', (event) => {
    if (!engine || closing) return;
    event.preventDefault();
    closing = true;
    const current = engine;
    disposeIpc?.();
    disposeIpc = null;
    current
      .quitting()
      .then(({ failed }) => {
        if (failed.length === 0) return;
        dialog.showErrorBox(
          'Some VMs keep running',
          failed.map((f) => `${f.name}: ${f.reason}`).join('\n\n'),
        );
      })
      .catch((err: unknown) => {
        console.error('Vivarium could not save the running VMs to disk:', err);
      })
      .then(() => current.close())
      .catch((err: unknown) => {
        console.error('Vivarium engine did not close cleanly:', err);
      })
      .finally(() => {
        engine = null;
        app.quit();
      });
  });
}

function menuTemplate(): MenuItemConstructorOptions[] {
  const isMac = process.platform === 'darwin';
  const appMenu: MenuItemConstructorOptions[] = isMac
    ? [
        {
          label: APP_NAME,
          submenu: [
            { role: 'about' },
            { type: 'separator' },
            { role: 'services' },
            { type: 'separator' },
            { role: 'hide' },
            { role: 'hideOthers' },
            { role: 'unhide' },
            { type: 'separator' },
            { role: 'quit' },
          ],
        },
      ]
    : [];
  return [
    ...appMenu,
    { label: 'File', submenu: [isMac ? { role: 'close' } : { role: 'quit' }] },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' } as const]),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: `About ${APP_NAME}`,
          click: () => {
            app.showAboutPanel();
          },
        },
      ],
    },
  ];
}
