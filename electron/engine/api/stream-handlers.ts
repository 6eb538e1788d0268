/** The contract's stream method: a ticket for a VM's display or console bytes on the bridge. */
import type { VmRegistry } from '../library/registry';
import type { StreamBridge } from '../streams/bridge';
import { guestUpVm } from '../vms/screen';
import type { HandlerGroup } from './handlers';

export function streamHandlers(
  registry: VmRegistry,
  streams: StreamBridge,
): HandlerGroup<'vm.openStream'> {
  return {
    'vm.openStream': async ({ vm, kind }) => {
      const entry = await guestUpVm(registry, vm);
      const socketPath = {
        vnc: entry.files.vncSock,
        serial: entry.files.serialSock,
        monitor: entry.files.monitorSock,
      }[kind];
      return streams.issue({
        vmId: entry.config.id,
        kind,
        socketPath,
        replayFile: kind === 'serial' ? entry.files.serialLog : null,
      });
    },
  };
}
