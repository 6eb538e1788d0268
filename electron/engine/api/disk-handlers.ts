/** The contract's disk methods and cloning, on the storage services. */
import type { CloneService } from '../storage/clones';
import type { DiskService } from '../storage/disks';
import type { HandlerGroup } from './handlers';

export type DiskMethod =
  | 'disk.list'
  | 'disk.add'
  | 'disk.detach'
  | 'disk.resize'
  | 'disk.import'
  | 'disk.update'
  | 'disk.check'
  | 'vm.clone';

export function diskHandlers(disks: DiskService, clones: CloneService): HandlerGroup<DiskMethod> {
  return {
    'disk.list': ({ vm }) => disks.list(vm),
    'disk.add': ({ vm, size, file, bus, cache, readOnly }) =>
      disks.add(vm, { size, file, bus, cache, readOnly }),
    'disk.detach': ({ vm, disk, deleteFile }) => disks.detach(vm, disk, deleteFile),
    'disk.resize': ({ vm, disk, size, shrink }) => disks.resize(vm, disk, size, shrink),
    'disk.import': ({ vm, file, bus, cache }) => disks.import(vm, file, bus, cache),
    'disk.update': ({ vm, disk, bus, cache }) => disks.change(vm, disk, { bus, cache }),
    'disk.check': ({ vm, disk, repair }) => disks.check(vm, disk, repair),
    'vm.clone': ({ vm, name, linked }) => clones.clone(vm, name, linked),
  };
}
