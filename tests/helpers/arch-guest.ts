import { join } from 'node:path';
import type { VmArch } from '../../common/arch';
import type { Params, VmStatsSample, VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import { archGuestMissingReason, archGuests, waitForText, type ArchGuest } from './fixtures';

/** Fails the file at once, saying how to build them, when an architecture's guest is missing. */
export function requireArchGuest(arch: Exclude<VmArch, 'x86_64'>): ArchGuest {
  const why = archGuestMissingReason(arch);
  if (why) throw new Error(why);
  return archGuests[arch];
}

/**
 * Creates a VM of `arch` booting its fixture kernel directly (one vCPU, little memory: every
 * instruction is emulated), plus `extra`, starts it and waits for the banner on its serial log.
 * Returns the VM and the milliseconds from vm.start to the banner.
 */
export async function bootArchGuest(
  engine: Engine,
  arch: Exclude<VmArch, 'x86_64'>,
  extra: Partial<Params<'vm.create'>> = {},
  timeoutMs = 180_000,
): Promise<{ vm: VmSummary; bootMs: number }> {
  const g = requireArchGuest(arch);
  const vm = await engine.call('vm.create', {
    name: `${arch} guest`,
    arch,
    kernel: g.kernel,
    ...(g.initrd ? { initrd: g.initrd } : {}),
    append: g.append,
    memoryMiB: 256,
    cpus: 1,
    diskSize: '0',
    ...extra,
  });
  const started = performance.now();
  await engine.call('vm.start', { vm: vm.id });
  await waitForText(join(vm.dir, 'logs', 'serial.log'), g.banner, timeoutMs);
  return { vm, bootMs: Math.round(performance.now() - started) };
}

/** The next statistics sample the engine pushes for `vmId` (a subscription must be open). */
export function nextSample(engine: Engine, vmId: string): Promise<VmStatsSample> {
  return new Promise((resolve) => {
    const off = engine.onEvent((event) => {
      if (event.type !== 'stats.sample') return;
      const mine = event.vms.find((s) => s.vmId === vmId);
      if (!mine) return;
      off();
      resolve(mine);
    });
  });
}
