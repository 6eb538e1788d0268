/**
 * Suspend to disk: `vm.suspend` saves a running VM's memory and device state to a file in its
 * folder and ends QEMU (the VM is `saved`); a start resumes it from there; `vm.discardState`
 * drops the file so the next start boots fresh. The state on disk is the truth: any process sees
 * a VM as saved once the file and its description are there.
 */
import type { TaskInfo, VmSummary } from '../../../common/contract';
import { VivariumError } from '../errors';
import type { HostService } from '../host/host-service';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { migrationBlockers } from '../migration/blockers';
import { blockerContext } from '../../../common/rules/shares';
import type { LaunchPlan } from '../qemu/supervisor';
import type { TaskManager } from '../tasks/task-manager';
import { saveStateToFile } from './save';
import {
  SAVED_STATE_FORMAT,
  commitSavedState,
  hardwareHash,
  readSavedState,
  type SavedStateMeta,
} from './state-file';

export class SaveStateService {
  /** Saves under way in this engine, by VM id: a second suspend joins the first. */
  private readonly saving = new Map<string, TaskInfo>();

  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly tasks: TaskManager,
  ) {}

  /**
   * Checks that the VM can be saved (running or paused, nothing that blocks a migration), then
   * saves it as a task. The refusals come back at once, before any task exists.
   */
  async suspend(ref: string): Promise<TaskInfo> {
    const vm = this.registry.resolve(ref);
    const under = this.saving.get(vm.id);
    if (under) return this.tasks.get(under.id);
    await vm.safeRefresh();
    const state = vm.supervisor.current.state;
    if (state === 'saved') {
      throw new VivariumError('BAD_STATE', `"${vm.config.name}" is already saved to disk.`);
    }
    if (state === 'saving') {
      // Another window or command is saving it (to disk or a snapshot): its save decides.
      throw new VivariumError(
        'BUSY',
        `"${vm.config.name}" is being saved (by another Vivarium window or command): wait for it to finish.`,
      );
    }
    if (state !== 'running' && state !== 'paused') {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${state}: only a running or paused VM can be saved to disk.`,
      );
    }
    const blockers = await migrationBlockers(
      { execute: (command, args) => vm.supervisor.command(command, args) },
      'save',
      blockerContext(vm.config),
    );
    if (blockers.length) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" cannot be saved to disk. ${blockers.join(' ')}`,
      );
    }
    const again = this.saving.get(vm.id);
    if (again) return this.tasks.get(again.id);
    const info = this.tasks.start<VmSummary>({
      kind: 'vm.suspend',
      title: `Saving "${vm.config.name}" to disk`,
      vmId: vm.id,
      cancellable: true,
      run: async (ctx) => {
        try {
          await this.save(vm, ctx.signal, (p) =>
            ctx.report({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }),
          );
          return vm.summary();
        } finally {
          this.saving.delete(vm.id);
        }
      },
    });
    this.saving.set(vm.id, info);
    return info;
  }

  /** Every running or paused VM saved to disk, one after another (the app quitting). */
  async suspendAll(): Promise<{ saved: string[]; failed: { name: string; reason: string }[] }> {
    const saved: string[] = [];
    const failed: { name: string; reason: string }[] = [];
    for (const vm of this.registry.list()) {
      await vm.safeRefresh();
      const state = vm.supervisor.current.state;
      if (state !== 'running' && state !== 'paused') continue;
      try {
        const task = await this.suspend(vm.id);
        await this.tasks.wait(task.id);
        saved.push(vm.config.name);
      } catch (err) {
        failed.push({
          name: vm.config.name,
          reason: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return { saved, failed };
  }

  private async save(
    vm: Vm,
    signal: AbortSignal,
    report: (p: { bytesDone: number; bytesTotal: number }) => void,
  ): Promise<void> {
    await vm.supervisor.suspend(async (qmp, wasPaused) => {
      const version = await qmp.execute<{ qemu: { major: number; minor: number; micro: number } }>(
        'query-version',
      );
      const bytes = await saveStateToFile(qmp, vm.files, { signal, report });
      const meta: SavedStateMeta = {
        format: SAVED_STATE_FORMAT,
        savedAt: new Date().toISOString(),
        bytes,
        qemuVersion: `${version.qemu.major}.${version.qemu.minor}.${version.qemu.micro}`,
        machine: vm.config.machine,
        accel: vm.supervisor.current.accel ?? 'unknown',
        configHash: hardwareHash(vm.config),
        paused: wasPaused,
      };
      await commitSavedState(vm.files, meta);
    });
  }

  /** Deletes a saved VM's saved state; its next start boots fresh. */
  async discard(ref: string): Promise<VmSummary> {
    const vm = this.registry.resolve(ref);
    await vm.supervisor.discardSavedState();
    return vm.summary();
  }

  /**
   * The launch plan for a start: unchanged for a VM with nothing saved; for a saved VM, QEMU
   * starts waiting for the saved state (and resumes paused if it was saved paused). A state that
   * no longer fits (the hardware changed behind the engine's back, another QEMU version) is
   * refused with what to do, instead of letting QEMU fail half-way into the load.
   */
  async planStart(vm: Vm, plan: LaunchPlan): Promise<LaunchPlan> {
    const meta = await readSavedState(vm.files);
    if (!meta) return plan;
    const discard = `Discard the saved state (vivarium discard-state "${vm.config.name}") to boot the VM fresh.`;
    if (meta.configHash !== hardwareHash(vm.config)) {
      throw new VivariumError(
        'BAD_STATE',
        `The VM's hardware or disks changed after it was saved to disk, so its saved state no longer fits. ${discard}`,
      );
    }
    const host = await this.host.get();
    const binary = host.qemu.binaries.find((b) => b.path === plan.binary);
    if (binary && !sameVersion(binary.version, meta.qemuVersion)) {
      throw new VivariumError(
        'BAD_STATE',
        `The VM was saved by QEMU ${meta.qemuVersion}; this computer now has QEMU ${binary.version}, which may not load it. Resume it with QEMU ${meta.qemuVersion}, or: ${discard}`,
      );
    }
    return {
      ...plan,
      incoming: { kind: 'fd', path: vm.files.savedState },
      ...(meta.paused ? { paused: true } : {}),
    };
  }
}

/** "7.2.0" against "7.2.0" or "7.2.0 (Debian 1:7.2+dfsg-7)": the numbers decide. */
function sameVersion(a: string, b: string): boolean {
  const num = (v: string) => /\d+\.\d+(\.\d+)?/.exec(v)?.[0].replace(/^(\d+\.\d+)$/, '$1.0');
  return num(a) === num(b);
}
