/** The contract's snapshot methods, on the snapshot service. */
import type { SnapshotService } from '../snapshots/service';
import type { HandlerGroup } from './handlers';

export type SnapshotMethod =
  | 'snapshot.list'
  | 'snapshot.create'
  | 'snapshot.revert'
  | 'snapshot.delete'
  | 'snapshot.update'
  | 'snapshot.thumbnail';

export function snapshotHandlers(snapshots: SnapshotService): HandlerGroup<SnapshotMethod> {
  return {
    'snapshot.list': ({ vm }) => snapshots.list(vm),
    'snapshot.create': ({ vm, name, description }) => snapshots.create(vm, name, description),
    'snapshot.revert': ({ vm, snapshot }) => snapshots.revert(vm, snapshot),
    'snapshot.delete': ({ vm, snapshot }) => snapshots.delete(vm, snapshot),
    'snapshot.update': ({ vm, snapshot, name, description }) =>
      snapshots.update(vm, snapshot, { name, description }),
    'snapshot.thumbnail': ({ vm, snapshot }) => snapshots.thumbnail(vm, snapshot),
  };
}
