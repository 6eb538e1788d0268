/** A running VM's screen and keyboard: screenshots (PNG) and keys sent as QEMU qcodes. */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiResults } from '../../../common/contract';
import { isGuestUp } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { pngSize } from './png';

/** The VM, which must be running or paused (its display and consoles exist). */
export async function guestUpVm(registry: VmRegistry, ref: string): Promise<Vm> {
  const vm = registry.resolve(ref);
  const runtime = await vm.supervisor.refresh();
  if (!isGuestUp(runtime.state)) {
    throw new VivariumError(
      'BAD_STATE',
      `"${vm.config.name}" is ${runtime.state}: start it first.`,
    );
  }
  return vm;
}

export class VmScreen {
  constructor(private readonly registry: VmRegistry) {}

  /** To `file`, or (without one) as base64 in the result, leaving no file behind. */
  async screenshot(ref: string, file: string | undefined): Promise<ApiResults['vm.screenshot']> {
    const vm = await guestUpVm(this.registry, ref);
    await mkdir(vm.files.screenshotsDir, { recursive: true });
    const target = file ?? join(vm.files.screenshotsDir, `screen-${Date.now()}.png`);
    await vm.supervisor.command('screendump', { filename: target, format: 'png' });
    const png = await readFile(target);
    const { width, height } = pngSize(png);
    if (!file) await rm(target, { force: true });
    return { file: file ?? '', pngBase64: file ? null : png.toString('base64'), width, height };
  }

  async sendKeys(ref: string, keys: string[]): Promise<ApiResults['vm.sendKeys']> {
    const vm = await guestUpVm(this.registry, ref);
    await vm.supervisor.command('send-key', {
      keys: keys.map((k) => ({ type: 'qcode', data: k })),
    });
    return { sent: keys.length };
  }
}
