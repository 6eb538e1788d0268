/**
 * The Vivarium API contract: every request, result and event shape shared by the engine, the
 * Electron IPC adapter, the WebSocket server, the CLI and the renderer. Runtime code here is
 * limited to the zod schemas that validate requests at each boundary.
 *
 * Each domain file declares its methods' request schemas and result types; this index composes
 * them. Adding a method touches its domain file only.
 */
import type { z } from 'zod';
import { applianceMethods, type ApplianceResults, type ApplianceTaskResults } from './appliances';
import { catalogMethods, type CatalogResults } from './catalog';
import { composeMethods } from './compose';
import { diskMethods, type DiskResults, type DiskTaskResults } from './disks';
import type { ApiEvent } from './events';
import { hostMethods, type HostResults } from './host';
import { libvirtMethods, type LibvirtResults, type LibvirtTaskResults } from './libvirt';
import { mediaMethods, type MediaResults } from './media';
import { migrationMethods, type MigrationResults } from './migration';
import { networkMethods, type NetworkResults } from './networks';
import { removableMethods, type RemovableResults } from './removable';
import { settingsMethods, type SettingsResults } from './settings';
import { shareMethods, type ShareResults } from './shares';
import { snapshotMethods, type SnapshotResults, type SnapshotTaskResults } from './snapshots';
import { statsMethods, type StatsResults } from './stats';
import { streamMethods, type StreamResults } from './streams';
import { taskMethods, type TaskResults } from './tasks';
import { vmMethods, type VmResults, type VmTaskResults } from './vm';

export * from './appliances';
export * from './catalog';
export * from './disks';
export * from './errors';
export * from './events';
export * from './host';
export * from './libvirt';
export * from './media';
export * from './migration';
export * from './networks';
export * from './removable';
export * from './settings';
export * from './shares';
export * from './snapshots';
export * from './stats';
export * from './streams';
export * from './tasks';
export * from './vm';
export * from './vm-config';
export * from '../transport/ipc';
export * from '../transport/rpc';

/** Every method: its request schema. Results are typed in {@link ApiResults}. */
export const methods = composeMethods(
  taskMethods,
  hostMethods,
  vmMethods,
  streamMethods,
  snapshotMethods,
  diskMethods,
  catalogMethods,
  mediaMethods,
  networkMethods,
  settingsMethods,
  migrationMethods,
  removableMethods,
  shareMethods,
  statsMethods,
  libvirtMethods,
  applianceMethods,
);

export type Method = keyof typeof methods;
export type Params<M extends Method> = z.input<(typeof methods)[M]>;
export type ParsedParams<M extends Method> = z.output<(typeof methods)[M]>;

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}

/** Every method: its result. */
export interface ApiResults
  extends
    TaskResults,
    HostResults,
    VmResults,
    StreamResults,
    SnapshotResults,
    DiskResults,
    CatalogResults,
    MediaResults,
    NetworkResults,
    SettingsResults,
    MigrationResults,
    RemovableResults,
    ShareResults,
    StatsResults,
    LibvirtResults,
    ApplianceResults {}

/** `task.result` of finished storage and snapshot tasks, by task kind. */
export interface StorageTaskResults extends SnapshotTaskResults, DiskTaskResults {}

/** `task.result` of every finished task the contract names, by task kind. */
export interface TaskResultsByKind
  extends StorageTaskResults, VmTaskResults, LibvirtTaskResults, ApplianceTaskResults {}

/** The one interface every front door offers the renderer and the CLI. */
export interface VivariumApi {
  call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
}
