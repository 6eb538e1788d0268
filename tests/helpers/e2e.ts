import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type ConsoleMessage,
  type Page,
} from 'playwright-core';
import WebSocket from 'ws';
import { openEngine, type Engine, type EngineOptions } from '../../electron/engine';
import { startServer, type RunningServer, type ServerOptions } from '../../electron/server';
import { tokenProtocols } from '../../electron/server/auth';
import type { ApiResults, Method, Params, RpcMessage, TaskInfo } from '../../common/contract';

const ROOT = resolve(import.meta.dirname, '../..');
/** The built renderer that `startServer` serves. */
export const STATIC_DIR = join(ROOT, 'out/renderer');
/** Screenshots a person can look at (git-ignored). */
export const ARTIFACTS = join(ROOT, 'tests/artifacts');
/** Debian's Chromium: never a test tool's own browser download. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when the build and Chromium are present. */
export function browserSkipReason(): string | null {
  if (!existsSync(join(STATIC_DIR, 'index.html'))) {
    return 'out/renderer/index.html is missing: run `npm run build` first';
  }
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: install Debian's chromium`;
  return null;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'],
  });
}

/** The viewport and colour scheme of a page, and how its console errors are written down. */
export interface PageView {
  width: number;
  height: number;
  colorScheme: 'light' | 'dark';
  /** A console error as pushed to `problems`; `console: TEXT` unless given. */
  formatConsole?: (msg: ConsoleMessage) => string;
}

/**
 * A page in a context of its own, as the screenshots want it (scale 1, reduced motion); its
 * uncaught errors and console errors are pushed to `problems`.
 */
export async function openContextPage(
  browser: Browser,
  problems: string[],
  view: PageView,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: view.width, height: view.height },
    deviceScaleFactor: 1,
    colorScheme: view.colorScheme,
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      problems.push(view.formatConsole ? view.formatConsole(msg) : `console: ${msg.text()}`);
    }
  });
  return { context, page };
}

/** Cleanup: no test leaves a QEMU behind. */
export async function powerOffAll(engine: Engine): Promise<void> {
  for (const vm of await engine.call('vm.list', {})) {
    if (vm.runtime.state !== 'stopped' && vm.runtime.state !== 'crashed') {
      await engine.call('vm.powerOff', { vm: vm.id });
    }
  }
}

/** Something to undo at the end of a suite (newest first). */
export type Undo = () => Promise<unknown>;

export interface E2eOptions {
  /** The temporary home's prefix under tmpdir, e.g. `vivarium-e2e-theme-`. */
  prefix: string;
  /**
   * Extra `openEngine` options (the home is the temporary one unless given), or a function of
   * the temporary home giving them, which may first start what the engine needs (its undo goes
   * to `defer`, and runs after the engine has closed).
   */
  engine?: EngineOptions | ((home: string, defer: (undo: Undo) => void) => Promise<EngineOptions>);
  /** Stops the VMs before the engine closes: `powerOffAll` unless given; nothing when null. */
  powerOff?: ((engine: Engine) => Promise<void>) | null;
  /** Extra `startServer` options. */
  server?: Omit<ServerOptions, 'engine' | 'staticDir'>;
  /** The pages' viewport and console format (`openPage`, and the first page's). */
  view: Omit<PageView, 'colorScheme'>;
  /**
   * The first page, opened at the server's URL: its colour scheme, a script run before the
   * page's own, and a text to wait for once loaded. No page when false.
   */
  page:
    | false
    | {
        colorScheme: 'light' | 'dark';
        initScript?: () => void;
        waitForText?: string;
      };
  /** Whether screenshots take the whole page (true unless given). */
  fullPage?: boolean;
}

/** A suite's temporary home, engine, server (the latest: a test may restart it) and browser. */
export interface E2eBase {
  home: string;
  engine: Engine;
  server: RunningServer;
  browser: Browser;
  /** Uncaught errors and console errors of every page opened here. */
  problems: string[];
  /** A page in a context of its own, with the suite's view, at `url` (the server's by default). */
  openPage(
    colorScheme: 'light' | 'dark',
    url?: string,
  ): Promise<{ context: BrowserContext; page: Page }>;
  /** A screenshot of `page` (the first page by default) in tests/artifacts/NAME. */
  shot(name: string, opts?: { page?: Page; fullPage?: boolean }): Promise<void>;
  /** Adds something for `close` to undo. */
  defer(undo: Undo): void;
  /** Undoes everything, newest first; a failure is a warning. */
  close(): Promise<void>;
}

/** A suite with its first page open. */
export interface E2e extends E2eBase {
  context: BrowserContext;
  page: Page;
}

/**
 * The common setup of a browser suite: a temporary home, an owner engine, server mode on a free
 * port, Chromium and (unless `page` is false) a first page at the server's URL. When a step
 * fails, what was set up is undone before the error is thrown.
 */
export async function startE2e(opts: E2eOptions & { page: false }): Promise<E2eBase>;
export async function startE2e(opts: E2eOptions): Promise<E2e>;
export async function startE2e(opts: E2eOptions): Promise<E2eBase | E2e> {
  const cleanups: Undo[] = [];
  const defer = (undo: Undo): void => {
    cleanups.push(undo);
  };
  const close = async (): Promise<void> => {
    for (const undo of cleanups.splice(0).reverse()) {
      await undo().catch((err: unknown) => console.warn('[e2e] cleanup failed:', err));
    }
  };
  try {
    await mkdir(ARTIFACTS, { recursive: true });
    const home = await mkdtemp(join(tmpdir(), opts.prefix));
    defer(() => rm(home, { recursive: true, force: true }));
    const extra =
      typeof opts.engine === 'function' ? await opts.engine(home, defer) : (opts.engine ?? {});
    const engine = await openEngine({ home, role: 'owner', ...extra });
    defer(() => engine.close());
    const powerOff = opts.powerOff === undefined ? powerOffAll : opts.powerOff;
    if (powerOff) defer(() => powerOff(engine));
    const live: { server: RunningServer; page?: Page } = {
      server: await startServer({ engine, port: 0, staticDir: STATIC_DIR, ...opts.server }),
    };
    defer(() => live.server.close()); // the latest one: a test may restart it
    const browser = await launchChromium();
    defer(() => browser.close());
    const problems: string[] = [];
    const base: E2eBase = {
      home,
      engine,
      get server() {
        return live.server;
      },
      set server(server) {
        live.server = server;
      },
      browser,
      problems,
      async openPage(colorScheme, url = live.server.url) {
        const opened = await openContextPage(browser, problems, { ...opts.view, colorScheme });
        await opened.page.goto(url);
        return opened;
      },
      async shot(name, { page = live.page, fullPage = opts.fullPage ?? true } = {}) {
        if (!page) throw new Error(`No page to take ${name} of`);
        await page.screenshot({ path: join(ARTIFACTS, name), fullPage, animations: 'disabled' });
      },
      defer,
      close,
    };
    if (!opts.page) return base;
    const { context, page } = await openContextPage(browser, problems, {
      ...opts.view,
      colorScheme: opts.page.colorScheme,
    });
    defer(() => context.close());
    live.page = page;
    if (opts.page.initScript) await page.addInitScript(opts.page.initScript);
    await page.goto(live.server.url);
    if (opts.page.waitForText) await page.getByText(opts.page.waitForText).waitFor();
    return Object.assign(base, { context, page });
  } catch (err) {
    await close();
    throw err;
  }
}

/** A client of server mode's WebSocket RPC, as the page's bridge talks to it. */
export interface RpcClient {
  call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]>;
  /** Polls `task.get` until the task has ended; resolves with its last state. */
  taskEnd(id: string, timeoutMs?: number): Promise<TaskInfo>;
  close(): void;
}

/** Opens `/rpc` on a server started by `startServer` (its port and token). */
export function openRpc(server: { port: number; token: string }): Promise<RpcClient> {
  // The token as the page sends it: a subprotocol, never in the URL.
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc`, tokenProtocols(server.token));
  const waiting = new Map<number, (m: RpcMessage) => void>();
  let nextId = 1;
  ws.on('message', (data) => {
    const msg = JSON.parse((data as Buffer).toString('utf8')) as RpcMessage;
    if (!('event' in msg)) waiting.get(msg.id)?.(msg);
  });
  const client: RpcClient = {
    call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, (m) => {
          waiting.delete(id);
          if ('error' in m) reject(Object.assign(new Error(m.error.message), m.error));
          else if ('result' in m) resolve(m.result as ApiResults[M]);
        });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    async taskEnd(id: string, timeoutMs = 60_000): Promise<TaskInfo> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const task = await client.call('task.get', { id });
        if (task.state !== 'running') return task;
        if (Date.now() > deadline) throw new Error(`Timed out waiting for task ${task.title}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => ws.close(),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}
