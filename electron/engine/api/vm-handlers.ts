/** The contract's VM methods: the library, lifecycle, power, screen and keys, logs. */
import { stat } from 'node:fs/promises';
import type { VmSummary } from '../../../common/contract';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { readTail } from '../qemu/process-info';
import type { LaunchPlanner } from '../vms/launch-plan';
import type { VmLifecycle } from '../vms/lifecycle';
import type { VmScreen } from '../vms/screen';
import type { HandlerGroup } from './handlers';

export type VmMethod =
  | 'vm.list'
  | 'vm.get'
  | 'vm.create'
  | 'vm.update'
  | 'vm.delete'
  | 'vm.start'
  | 'vm.pause'
  | 'vm.resume'
  | 'vm.reset'
  | 'vm.powerOff'
  | 'vm.shutdown'
  | 'vm.screenshot'
  | 'vm.sendKeys'
  | 'vm.log';

export interface VmHandlerDeps {
  registry: VmRegistry;
  lifecycle: VmLifecycle;
  launcher: LaunchPlanner;
  screen: VmScreen;
}

export function vmHandlers(deps: VmHandlerDeps): HandlerGroup<VmMethod> {
  const { registry, lifecycle, launcher, screen } = deps;
  const after = async (ref: string, op: (vm: Vm) => Promise<unknown>): Promise<VmSummary> => {
    const vm = registry.resolve(ref);
    await op(vm);
    return vm.summary();
  };
  return {
    'vm.list': async () => {
      // The owner's library is kept up to date by its watch; a CLI command looks now.
      if (registry.role === 'oneshot') {
        await Promise.all(registry.list().map((vm) => vm.safeRefresh()));
      }
      return registry
        .list()
        .map((vm) => vm.summary())
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    'vm.get': async ({ vm }) => {
      const entry = registry.resolve(vm);
      await entry.safeRefresh();
      return entry.summary();
    },
    'vm.create': (req) => lifecycle.create(req),
    'vm.update': ({ vm, patch }) => lifecycle.update(vm, patch),
    'vm.delete': ({ vm, keepDisks }) => lifecycle.delete(vm, keepDisks),
    'vm.start': async ({ vm }) => {
      const entry = registry.resolve(vm);
      await entry.supervisor.start(await launcher.plan(entry));
      return entry.summary();
    },
    'vm.pause': async ({ vm }) => after(vm, (e) => e.supervisor.pause()),
    'vm.resume': async ({ vm }) => after(vm, (e) => e.supervisor.resume()),
    'vm.reset': async ({ vm }) => after(vm, (e) => e.supervisor.reset()),
    'vm.powerOff': async ({ vm }) => after(vm, (e) => e.supervisor.powerOff()),
    'vm.shutdown': async ({ vm, timeoutMs }) => registry.resolve(vm).supervisor.shutdown(timeoutMs),
    'vm.screenshot': ({ vm, file }) => screen.screenshot(vm, file),
    'vm.sendKeys': ({ vm, keys }) => screen.sendKeys(vm, keys),
    'vm.log': async ({ vm, kind, maxBytes }) => {
      const entry = registry.resolve(vm);
      const file = {
        serial: entry.files.serialLog,
        qemu: entry.files.qemuLog,
        events: entry.files.eventsLog,
      }[kind];
      const size = await stat(file).then(
        (s) => s.size,
        () => 0,
      );
      return { text: await readTail(file, maxBytes), truncated: size > maxBytes, file };
    },
  };
}
