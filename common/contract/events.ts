/** Events: what the engine announces to every front door, in order. */
import type { NetworkSummary } from './networks';
import type { AppSettings } from './settings';
import type { HostStats, VmStatsSample } from './stats';
import type { TaskInfo } from './tasks';
import type { VmSummary } from './vm';

export type ApiEvent =
  | { type: 'vm.state'; vm: VmSummary }
  | { type: 'vm.added'; vm: VmSummary }
  | { type: 'vm.removed'; id: string }
  | { type: 'network.changed'; network: NetworkSummary }
  | { type: 'network.removed'; id: string }
  | { type: 'host.notice'; message: string }
  | { type: 'task'; task: TaskInfo }
  | { type: 'settings'; settings: AppSettings }
  /** Only while a `stats.subscribe` is held: the host and every running VM that answered in time. */
  | { type: 'stats.sample'; host: HostStats; vms: VmStatsSample[] };
