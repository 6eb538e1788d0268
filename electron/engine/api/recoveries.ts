/**
 * Which recovery finishes or undoes each multi-step operation a kill interrupted (the intent
 * journal, library/intents.ts): each domain recovers its own operations.
 */
import type { HostService } from '../host/host-service';
import type { Recoveries } from '../library/intents';
import { recoverNewVm } from '../library/recovery';
import type { VmRegistry } from '../library/registry';
import type { EnginePaths } from '../paths';
import { readPidFile } from '../qemu/pid-file';
import { processAlive } from '../qemu/process-info';
import { recoverSnapshotCreate, recoverSnapshotDelete } from '../snapshots/recovery';
import { recoverLinkedClone } from '../storage/clone-recovery';
import { recoverNewDisk, recoverResize } from '../storage/disk-recovery';

export function recoveries(
  paths: EnginePaths,
  host: HostService,
  registry: VmRegistry,
): Recoveries {
  const img = async (): Promise<string | null> => (await host.get()).qemu.img?.path ?? null;
  const snapshots = {
    paths,
    img,
    isRunning: async (vmId: string): Promise<boolean> => {
      if (!registry.has(vmId)) return false;
      const pid = await readPidFile(registry.resolve(vmId).files.pidFile);
      return pid !== null && processAlive(pid);
    },
  };
  return {
    'vm.create': recoverNewVm,
    'vm.clone': recoverNewVm,
    'vm.clone-linked': (record) => recoverLinkedClone(paths, record),
    'disk.add': recoverNewDisk,
    'disk.import': recoverNewDisk,
    'disk.resize': async (record) => recoverResize(record, await img()),
    'snapshot.create': (record) => recoverSnapshotCreate(snapshots, record),
    'snapshot.delete': (record) => recoverSnapshotDelete(snapshots, record),
  };
}
