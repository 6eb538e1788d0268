/** The contract's storage and snapshot methods (issue 4), on the engine's services. */
import { SnapshotService } from '../snapshots/service';
import { CloneService } from '../storage/clones';
import { DiskService } from '../storage/disks';
import type { Engine } from './engine';
import type { HandlerGroup } from './handlers';

export type StorageMethod =
  | 'snapshot.list'
  | 'snapshot.create'
  | 'snapshot.revert'
  | 'snapshot.delete'
  | 'snapshot.update'
  | 'snapshot.thumbnail'
  | 'disk.list'
  | 'disk.add'
  | 'disk.detach'
  | 'disk.resize'
  | 'disk.import'
  | 'disk.check'
  | 'vm.clone';

export function storageHandlers(engine: Engine): HandlerGroup<StorageMethod> {
  const snapshots = new SnapshotService(engine);
  const disks = new DiskService(engine);
  const clones = new CloneService(engine);
  return {
    'snapshot.list': ({ vm }) => snapshots.list(vm),
    'snapshot.create': ({ vm, name, description }) => snapshots.create(vm, name, description),
    'snapshot.revert': ({ vm, snapshot }) => snapshots.revert(vm, snapshot),
    'snapshot.delete': ({ vm, snapshot }) => snapshots.delete(vm, snapshot),
    'snapshot.update': ({ vm, snapshot, name, description }) =>
      snapshots.update(vm, snapshot, { name, description }),
    'snapshot.thumbnail': ({ vm, snapshot }) => snapshots.thumbnail(vm, snapshot),
    'disk.list': ({ vm }) => disks.list(vm),
    'disk.add': ({ vm, size, file, bus, readOnly }) => disks.add(vm, { size, file, bus, readOnly }),
    'disk.detach': ({ vm, disk, deleteFile }) => disks.detach(vm, disk, deleteFile),
    'disk.resize': ({ vm, disk, size, shrink }) => disks.resize(vm, disk, size, shrink),
    'disk.import': ({ vm, file, bus }) => disks.import(vm, file, bus),
    'disk.check': ({ vm, disk, repair }) => disks.check(vm, disk, repair),
    'vm.clone': ({ vm, name, linked }) => clones.clone(vm, name, linked),
  };
}
