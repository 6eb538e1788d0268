/**
 * UI: (1) page load to an interactive library of 100 VMs (cards rendered and a Start button
 * enabled), cold loads in fresh browser contexts, against the same measure on an empty library;
 * (2) gzip size of the initial JavaScript (the entry chunk and what index.html preloads), with
 * noVNC and xterm.js checked to be in lazy chunks, against React alone built the same way;
 * (3) first display frame after Start (first non-black canvas frame) against the guest's first
 * serial line (serial.log, and as the Console tab shows it), runs alternating Display and Console.
 * Goals: library interactive < 300 ms; initial JS < 150 KB gzip. No timed assertions.
 *
 * npx vitest run --config tests/bench/vitest.config.ts tests/bench/ui.bench.ts
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../electron/engine';
import { startServer } from '../../electron/server';
import { guest, requireGuest, tempHome } from '../helpers/fixtures';
import { median, printTable } from './stats';

const ROOT = resolve(import.meta.dirname, '../..');
const STATIC_DIR = join(ROOT, 'out/renderer');
const CHROMIUM = '/usr/bin/chromium';
const LOADS = Number(process.env.UI_BENCH_LOADS ?? 5);
const BOOTS = Number(process.env.UI_BENCH_BOOTS ?? 5);
const VM_COUNT = 100;

type Server = Awaited<ReturnType<typeof startServer>>;
let browser: Browser;
const homes: Array<Awaited<ReturnType<typeof tempHome>>> = [];
const engines: Engine[] = [];
const servers: Server[] = [];

async function openHome(prefix: string): Promise<{ engine: Engine; server: Server }> {
  const home = await tempHome(prefix);
  homes.push(home);
  const engine = await openEngine({ home: home.dir, role: 'owner' });
  engines.push(engine);
  const server = await startServer({ engine, port: 0, staticDir: STATIC_DIR });
  servers.push(server);
  return { engine, server };
}

beforeAll(async () => {
  requireGuest();
  if (!existsSync(join(STATIC_DIR, 'index.html'))) throw new Error('Run `npm run build` first');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'],
  });
});

afterAll(async () => {
  await browser.close();
  for (const s of servers) await s.close();
  for (const e of engines) {
    for (const vm of await e.call('vm.list', {})) {
      if (vm.runtime.state !== 'stopped' && vm.runtime.state !== 'crashed') {
        await e.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
      }
    }
    await e.close();
  }
  for (const h of homes) await h.remove();
});

/**
 * Records in the page, as ms since navigation start: `__firstAt` when the first card's Start button
 * is enabled (the empty library: its New VM button), `__allAt` when all `n` cards are in the DOM.
 */
async function watchReady(page: Page, expected: number): Promise<void> {
  await page.addInitScript((n: number) => {
    const w = window as unknown as { __firstAt?: number; __allAt?: number };
    const startEnabled = (root: ParentNode) =>
      [...root.querySelectorAll('button')].some(
        (b) => b.textContent.trim() === 'Start' && !b.disabled,
      );
    const check = () => {
      if (n === 0) {
        const b = [...document.querySelectorAll('button')].find(
          (x) => x.textContent.trim() === 'New VM',
        );
        if (document.querySelector('[data-testid="library-empty"]') && b && !b.disabled) {
          w.__firstAt = w.__allAt = performance.now();
        }
      } else {
        const cards = document.querySelectorAll('[data-testid="vm-card"]');
        if (w.__firstAt === undefined && cards[0] && startEnabled(cards[0]))
          w.__firstAt = performance.now();
        if (w.__allAt === undefined && cards.length === n && startEnabled(cards[n - 1]!)) {
          w.__allAt = performance.now();
        }
      }
      if (w.__firstAt !== undefined && w.__allAt !== undefined) obs.disconnect();
    };
    const obs = new MutationObserver(check);
    obs.observe(document, { subtree: true, childList: true, attributes: true });
  }, expected);
}

interface Load {
  first: number;
  all: number;
}

async function readLoad(page: Page): Promise<Load> {
  await page.waitForFunction(
    () => (window as unknown as { __allAt?: number }).__allAt !== undefined,
    null,
    { timeout: 30_000 },
  );
  return page.evaluate(() => {
    const w = window as unknown as { __firstAt: number; __allAt: number };
    return { first: w.__firstAt, all: w.__allAt };
  });
}

/** A cold load (a fresh browser context: no cache, new renderer) and then a warm reload in it. */
async function loadTwice(server: Server, expected: number): Promise<{ cold: Load; warm: Load }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await ctx.newPage();
    await watchReady(page, expected);
    await page.goto(server.url);
    const cold = await readLoad(page);
    await page.reload();
    const warm = await readLoad(page);
    return { cold, warm };
  } finally {
    await ctx.close();
  }
}

it('library: page load to interactive, 100 VMs vs an empty library', async () => {
  const full = await openHome('viv-bench-ui-100-');
  const empty = await openHome('viv-bench-ui-0-');
  const t0 = performance.now();
  for (let i = 0; i < VM_COUNT; i++) {
    await full.engine.call('vm.create', {
      name: `bench vm ${String(i).padStart(3, '0')}`,
      kernel: guest.kernel,
      initrd: guest.initrd,
      append: guest.append,
      memoryMiB: 128 + (i % 8) * 64,
      cpus: 1,
      diskSize: '0',
    });
  }
  const createMs = performance.now() - t0;
  // Both engines probe the host (QEMU, accelerators) before anything is timed: the probe boots a
  // test guest that would otherwise compete for the CPU with the page loads.
  await Promise.all([full.engine.call('host.info', {}), empty.engine.call('host.info', {})]);
  // One warm-up each (Chromium's own start-up).
  await loadTwice(full.server, VM_COUNT);
  await loadTwice(empty.server, 0);
  const withVms: Array<{ cold: Load; warm: Load }> = [];
  const without: Array<{ cold: Load; warm: Load }> = [];
  for (let i = 0; i < LOADS; i++) {
    // Alternate which goes first.
    if (i % 2 === 0) {
      withVms.push(await loadTwice(full.server, VM_COUNT));
      without.push(await loadTwice(empty.server, 0));
    } else {
      without.push(await loadTwice(empty.server, 0));
      withVms.push(await loadTwice(full.server, VM_COUNT));
    }
  }
  const row = (label: string, xs: number[]) => [
    label,
    median(xs),
    Math.min(...xs),
    Math.max(...xs),
    xs.map((v) => v.toFixed(0)).join(' '),
  ];
  printTable(
    `Library interactive after page load (ms since navigation start, median of ${LOADS}; goal < 300 ms)`,
    ['load', 'median ms', 'min', 'max', 'runs'],
    [
      row(
        `${VM_COUNT} VMs, cold: first card's Start enabled`,
        withVms.map((l) => l.cold.first),
      ),
      row(
        `${VM_COUNT} VMs, cold: all ${VM_COUNT} cards, last Start enabled`,
        withVms.map((l) => l.cold.all),
      ),
      row(
        `${VM_COUNT} VMs, warm reload: first card's Start enabled`,
        withVms.map((l) => l.warm.first),
      ),
      row(
        `${VM_COUNT} VMs, warm reload: all ${VM_COUNT} cards`,
        withVms.map((l) => l.warm.all),
      ),
      row(
        'empty library, cold (baseline)',
        without.map((l) => l.cold.all),
      ),
      row(
        'empty library, warm reload (baseline)',
        without.map((l) => l.warm.all),
      ),
    ],
  );
  console.log(
    `(cold: a fresh browser context, no cache; warm: a reload in it. Created ${VM_COUNT} VMs in ${createMs.toFixed(0)} ms)`,
  );
  expect(withVms.length).toBe(LOADS);
});

/**
 * The JavaScript a page load fetches before anything is clicked: index.html's entry, what it
 * preloads, and the app chunk the entry imports at once (with their imports), as the browser saw it.
 */
async function initialFiles(): Promise<string[]> {
  const { server } = await openHome('viv-bench-ui-js-');
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await ctx.newPage();
    const files = new Set<string>();
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.endsWith('.js')) files.add(path.replace(/^\//, ''));
    });
    await page.goto(server.url);
    await page.getByTestId('library-empty').waitFor();
    await page.waitForTimeout(1000); // anything late would count too
    return [...files];
  } finally {
    await ctx.close();
  }
}

const gz = (buf: Buffer) => gzipSync(buf, { level: 9 }).length;

it('initial JavaScript: gzip size, noVNC and xterm.js lazy, vs React alone', async () => {
  const html = await readFile(join(STATIC_DIR, 'index.html'), 'utf8');
  const initial = await initialFiles();
  // index.html's own script is among them.
  expect(initial.some((f) => html.includes(f))).toBe(true);
  const assets = (await readdir(join(STATIC_DIR, 'assets'))).filter((f) => f.endsWith('.js'));
  const sizes = new Map<string, { raw: number; gzip: number; text: string }>();
  for (const f of assets) {
    const buf = readFileSync(join(STATIC_DIR, 'assets', f));
    sizes.set(`assets/${f}`, { raw: buf.length, gzip: gz(buf), text: buf.toString('utf8') });
  }
  const find = (marker: string) => [...sizes].find(([, v]) => v.text.includes(marker))?.[0] ?? null;
  const novnc = find('Must specify URL, WebSocket or RTCDataChannel');
  const xterm = find('xterm-helper-textarea');
  const zod = find('jitless');
  expect(novnc).not.toBeNull();
  expect(xterm).not.toBeNull();
  expect(initial).not.toContain(novnc);
  expect(initial).not.toContain(xterm);
  expect(initial).not.toContain(zod);

  // React alone, bundled and minified the same way (Vite, es2022).
  const { build } = await import('vite');
  const dir = join(ROOT, 'node_modules/.cache/vivarium-ui-bench');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><div id="root"></div><script type="module" src="./main.js"></script>',
  );
  await writeFile(
    join(dir, 'main.js'),
    "import { createElement } from 'react';\nimport { createRoot } from 'react-dom/client';\n" +
      "createRoot(document.getElementById('root')).render(createElement('p', null, 'hello'));\n",
  );
  await build({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    mode: 'production',
    // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: { outDir: join(dir, 'out'), target: 'es2022', minify: true, emptyOutDir: true },
  });
  const reactFiles = (await readdir(join(dir, 'out/assets'))).filter((f) => f.endsWith('.js'));
  const reactGzip = reactFiles.reduce(
    (n, f) => n + gz(readFileSync(join(dir, 'out/assets', f))),
    0,
  );
  await rm(dir, { recursive: true, force: true });

  const rows: (string | number)[][] = initial.map((f) => [
    f,
    (sizes.get(f)?.raw ?? 0) / 1024,
    (sizes.get(f)?.gzip ?? 0) / 1024,
  ]);
  const total = initial.reduce((n, f) => n + (sizes.get(f)?.gzip ?? 0), 0);
  rows.push([
    '= initial JS',
    initial.reduce((n, f) => n + (sizes.get(f)?.raw ?? 0), 0) / 1024,
    total / 1024,
  ]);
  rows.push(['React 19 + react-dom alone (baseline)', Number.NaN, reactGzip / 1024]);
  for (const [label, f] of [
    ['lazy: noVNC (Display tab)', novnc],
    ['lazy: xterm.js (Console tab)', xterm],
    ['lazy: zod schemas (Settings, New VM)', zod],
  ] as const) {
    if (f)
      rows.push([
        `${label} ${f}`,
        (sizes.get(f)?.raw ?? 0) / 1024,
        (sizes.get(f)?.gzip ?? 0) / 1024,
      ]);
  }
  printTable('Initial JavaScript (gzip -9; goal < 150 KB)', ['file', 'KB', 'KB gzip'], rows);
  expect(total).toBeGreaterThan(0);
});

it('first display frame after Start vs the first serial line', async () => {
  const { engine, server } = await openHome('viv-bench-ui-boot-');
  await engine.call('host.info', {});
  const vm = await engine.call('vm.create', {
    name: 'display bench',
    kernel: guest.bzImage,
    initrd: guest.initrd,
    append: `console=tty0 ${guest.append}`,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '0',
  });
  const serialLog = engine.resolve(vm.id).files.serialLog;
  const base = server.url.replace(/\?.*$/, '');
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(server.url);
  await page.getByTestId('library-empty').or(page.getByTestId('vm-card')).first().waitFor();

  const rows: Record<
    'display' | 'console',
    { frame: number[]; banner: number[]; line: number[]; uiLine: number[] }
  > = {
    display: { frame: [], banner: [], line: [], uiLine: [] },
    console: { frame: [], banner: [], line: [], uiLine: [] },
  };

  for (let i = 0; i < BOOTS * 2; i++) {
    const view = i % 2 === 0 ? 'display' : 'console';
    rmSync(serialLog, { force: true });
    // A fresh page each run: nothing left on screen from the run before.
    await page.goto('about:blank');
    await page.goto(`${base}#/vm/${vm.id}/${view}`);
    await page.getByTestId('vm-view').waitFor();
    await page.locator('.vm-topbar').getByRole('button', { name: 'Start', exact: true }).waitFor();
    // In the page: the first non-black frame and the first banner frame (Display), or the first
    // line the serial terminal shows (Console), as Date.now().
    await page.evaluate((v) => {
      const w = window as unknown as Record<string, number | undefined>;
      w['__frameAt'] = w['__bannerAt'] = w['__lineAt'] = undefined;
      const poll = () => {
        if (v === 'display') {
          const c = document.querySelector<HTMLCanvasElement>(
            '[data-testid="display-screen"] canvas',
          );
          if (c && c.width > 0) {
            const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
            let lit = 0;
            let blue = 0;
            for (let p = 0; p < data.length; p += 16) {
              const r = data[p]!;
              const g = data[p + 1]!;
              const b = data[p + 2]!;
              if (r + g + b > 30) lit++;
              if (b > 120 && r < 90 && g < 90) blue++;
            }
            const n = data.length / 16;
            if (w['__frameAt'] === undefined && lit > n * 0.001) w['__frameAt'] = Date.now();
            if (blue > n * 0.5) {
              w['__bannerAt'] = Date.now();
              return;
            }
          }
        } else {
          const rows = document.querySelector('[data-testid="terminal-serial"] .xterm-rows');
          if (rows && /VIVARIUM-TEST-GUEST BOOTED/.test(rows.textContent)) {
            w['__lineAt'] = Date.now();
            return;
          }
        }
        requestAnimationFrame(poll);
      };
      requestAnimationFrame(poll);
    }, view);
    const clickedAt = await page.evaluate(() => {
      const b = [...document.querySelectorAll<HTMLButtonElement>('.vm-topbar button')].find(
        (x) => x.textContent.trim() === 'Start',
      )!;
      b.click();
      return Date.now();
    });
    // The first complete line QEMU writes to serial.log.
    let lineAt = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (existsSync(serialLog) && readFileSync(serialLog, 'utf8').includes('\n')) {
        lineAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const key = view === 'display' ? '__bannerAt' : '__lineAt';
    await page.waitForFunction(
      (k) => (window as unknown as Record<string, unknown>)[k] !== undefined,
      key,
      {
        timeout: 120_000,
        polling: 50,
      },
    );
    const got = await page.evaluate(() => {
      const w = window as unknown as Record<string, number | undefined>;
      return { frame: w['__frameAt'], banner: w['__bannerAt'], line: w['__lineAt'] };
    });
    const r = rows[view];
    r.line.push(lineAt - clickedAt);
    if (got.frame !== undefined) r.frame.push(got.frame - clickedAt);
    if (got.banner !== undefined) r.banner.push(got.banner - clickedAt);
    if (got.line !== undefined) r.uiLine.push(got.line - clickedAt);
    await engine.call('vm.powerOff', { vm: vm.id });
  }
  await ctx.close();

  const fmt = (xs: number[]) => (xs.length ? median(xs) : Number.NaN);
  const all = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  printTable(
    `Start -> first output (ms since the Start click; median of ${BOOTS} runs each, Display and Console runs alternating)`,
    ['measure', 'median ms', 'runs'],
    [
      [
        'display: first non-black frame (SeaBIOS)',
        fmt(rows.display.frame),
        all(rows.display.frame),
      ],
      ['display: guest banner on screen', fmt(rows.display.banner), all(rows.display.banner)],
      [
        'console: first serial line shown in the Console tab',
        fmt(rows.console.uiLine),
        all(rows.console.uiLine),
      ],
      [
        'baseline: first serial line in serial.log (display runs)',
        fmt(rows.display.line),
        all(rows.display.line),
      ],
      [
        'baseline: first serial line in serial.log (console runs)',
        fmt(rows.console.line),
        all(rows.console.line),
      ],
    ],
  );
  expect(rows.display.banner.length).toBe(BOOTS);
}, 900_000);
