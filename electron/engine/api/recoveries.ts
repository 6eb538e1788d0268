/**
 * Which recovery finishes or undoes each multi-step operation a kill interrupted (the intent
 * journal, library/intents.ts): each domain recovers its own operations.
 */
import type { HostService } from '../host/host-service';
import type { Recoveries, Recovery } from '../library/intents';
import { recoverNewVm } from '../library/recovery';
import type { VmRegistry } from '../library/registry';
import type { EnginePaths } from '../paths';
import { fileExists } from '../library/atomic-file';
import { vmFiles } from '../paths';
import { liveQemuPid } from '../qemu/pid-file';
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
      return (await liveQemuPid(registry.resolve(vmId).files.pidFile, vmId)) !== null;
    },
  };
  // A recovery changes configs, links and snapshot indexes like any other writer: under the
  // library lock, then the lock of each VM it names that still has a config (in id order).
  const locked =
    (recover: Recovery): Recovery =>
    (record) =>
      registry.locks.library(() => underVmLocks([...record.vmIds].sort(), () => recover(record)));
  const underVmLocks = async <T>(ids: string[], work: () => Promise<T>): Promise<T> => {
    const [first, ...rest] = ids;
    if (first === undefined) return work();
    const files = vmFiles(paths, first);
    if (!(await fileExists(files.config))) return underVmLocks(rest, work);
    return registry.locks.vm(files, first, () => underVmLocks(rest, work));
  };
  return {
    'vm.create': locked(recoverNewVm),
    'vm.clone': locked(recoverNewVm),
    'vm.clone-linked': locked((record) => recoverLinkedClone(paths, record)),
    'disk.add': locked(recoverNewDisk),
    'disk.import': locked(recoverNewDisk),
    'disk.resize': locked(async (record) => recoverResize(record, await img())),
    'snapshot.create': locked((record) => recoverSnapshotCreate(snapshots, record)),
    'snapshot.delete': locked((record) => recoverSnapshotDelete(snapshots, record)),
  };
}
