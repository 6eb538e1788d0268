import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';
import type { Engine } from '../../electron/engine';
import type { ApiResults, Method, Params, RpcMessage, TaskInfo } from '../../preload/contract';

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

/**
 * A page in a context of its own, as the screenshots want it (scale 1, reduced motion); its
 * uncaught errors and console errors are pushed to `problems`.
 */
export async function openContextPage(
  browser: Browser,
  problems: string[],
  view: { width: number; height: number; colorScheme: 'light' | 'dark' },
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
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
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

/** A client of server mode's WebSocket RPC, as the page's bridge talks to it. */
export interface RpcClient {
  call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]>;
  /** Polls `task.get` until the task has ended; resolves with its last state. */
  taskEnd(id: string, timeoutMs?: number): Promise<TaskInfo>;
  close(): void;
}

/** Opens `/rpc` on a server started by `startServer` (its port and token). */
export function openRpc(server: { port: number; token: string }): Promise<RpcClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc?token=${server.token}`);
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
