import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { Engine } from '../../electron/engine';

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

/** Cleanup: no test leaves a QEMU behind. */
export async function powerOffAll(engine: Engine): Promise<void> {
  for (const vm of await engine.call('vm.list', {})) {
    if (vm.runtime.state !== 'stopped' && vm.runtime.state !== 'crashed') {
      await engine.call('vm.powerOff', { vm: vm.id });
    }
  }
}
