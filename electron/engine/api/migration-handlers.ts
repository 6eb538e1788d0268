/** The contract's migration methods: the source's (check, start) and the destination's. */
import type { IncomingMigrations } from '../migration/incoming';
import type { OutgoingMigrations } from '../migration/outgoing';
import type { HandlerGroup } from './handlers';

export type MigrationMethod =
  | 'migration.check'
  | 'migration.start'
  | 'migration.incomingCheck'
  | 'migration.prepareIncoming'
  | 'migration.renewIncoming'
  | 'migration.finishIncoming'
  | 'migration.abortIncoming';

export function migrationHandlers(
  outgoing: OutgoingMigrations,
  incoming: IncomingMigrations,
): HandlerGroup<MigrationMethod> {
  return {
    'migration.check': ({ vm, to, name }) => outgoing.check(vm, to, name),
    'migration.start': ({ vm, to, name, deleteSource }) =>
      outgoing.start(vm, to, name, deleteSource),
    'migration.incomingCheck': (req) => incoming.check(req),
    'migration.prepareIncoming': (req) => incoming.prepare(req),
    'migration.renewIncoming': ({ vmId }) => Promise.resolve(incoming.renew(vmId)),
    'migration.finishIncoming': ({ vmId, resume }) => incoming.finish(vmId, resume),
    'migration.abortIncoming': ({ vmId }) => incoming.abort(vmId),
  };
}
