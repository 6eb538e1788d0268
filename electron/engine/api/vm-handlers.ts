/** The contract's VM methods: the library, lifecycle, power, screen and keys, logs. */
import { stat } from 'node:fs/promises';
import type { VmSummary } from '../../../common/contract';
import { archChangeProblem } from '../../../common/rules/vm-settings';
import { isOff } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import { agentPowerOff } from '../guest/agent-facts';
import type { GuestWatcher } from '../guest/watcher';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { readTail } from '../qemu/process-info';
import type { SaveStateService } from '../savestate/service';
import type { SnapshotService } from '../snapshots/service';
import { moveToLatestLayout } from '../vms/device-layout';
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
  guests: GuestWatcher;
  /** A saved VM's start resumes it from its saved state. */
  saves: SaveStateService;
  /** A VM with snapshots keeps its architecture. */
  snapshots: Pick<SnapshotService, 'list'>;
}

export function vmHandlers(deps: VmHandlerDeps): HandlerGroup<VmMethod> {
  const { registry, lifecycle, launcher, screen, guests, saves, snapshots } = deps;
  /** A CLI command's engine does not watch: it looks at the guest when asked. */
  const look = async (vm: Vm): Promise<void> => {
    if (registry.role === 'oneshot') await guests.look(vm);
  };
  const after = async (ref: string, op: (vm: Vm) => Promise<unknown>): Promise<VmSummary> => {
    const vm = registry.resolve(ref);
    await op(vm);
    return vm.summary();
  };
  return {
    'vm.list': async () => {
      // The owner's library is kept up to date by its watch; a CLI command looks now.
      if (registry.role === 'oneshot') {
        await Promise.all(
          registry.list().map(async (vm) => {
            await vm.safeRefresh();
            await look(vm);
          }),
        );
      }
      return registry
        .list()
        .map((vm) => vm.summary())
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    'vm.get': async ({ vm }) => {
      const entry = registry.resolve(vm);
      await entry.safeRefresh();
      await look(entry);
      return entry.summary();
    },
    'vm.create': (req) => lifecycle.create(req),
    'vm.update': async ({ vm, patch }) => {
      // Snapshots hold the old machine: they would never load into the new one. (Running and
      // saved VMs are refused by the update itself, like any hardware change.)
      if (patch.arch !== undefined && patch.arch !== registry.resolve(vm).config.arch) {
        const { snapshots: list } = await snapshots.list(vm);
        const problem = archChangeProblem({
          qemuRunning: false,
          saved: false,
          snapshots: list.length,
        });
        if (problem) throw new VivariumError('BAD_STATE', problem, { arch: problem });
      }
      return lifecycle.update(vm, patch);
    },
    'vm.delete': ({ vm, keepDisks }) => lifecycle.delete(vm, keepDisks),
    'vm.start': async ({ vm }) => {
      const entry = registry.resolve(vm);
      await entry.safeRefresh();
      if (isOff(entry.supervisor.current.state)) await moveToLatestLayout(entry);
      await entry.supervisor.start(await saves.planStart(entry, await launcher.plan(entry)));
      return entry.summary();
    },
    'vm.pause': async ({ vm }) => after(vm, (e) => e.supervisor.pause()),
    'vm.resume': async ({ vm }) => after(vm, (e) => e.supervisor.resume()),
    'vm.reset': async ({ vm }) => after(vm, (e) => e.supervisor.reset()),
    'vm.powerOff': async ({ vm }) => after(vm, (e) => e.supervisor.powerOff()),
    'vm.shutdown': async ({ vm, timeoutMs }) => {
      const entry = registry.resolve(vm);
      // The guest's own agent shuts it down cleanly even where ACPI is not listened to; only
      // asked when it answered since this start (else the power button at once, no wait).
      await entry.safeRefresh();
      const viaAgent = (await guests.agentKnown(entry))
        ? () => agentPowerOff(entry.files.qgaSock)
        : undefined;
      return entry.supervisor.shutdown(timeoutMs, viaAgent);
    },
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
