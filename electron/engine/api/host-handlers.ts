/** The contract's host method: QEMU, firmware and accelerators, plus VMs that failed to load. */
import type { HostService } from '../host/host-service';
import type { VmRegistry } from '../library/registry';
import type { HandlerGroup } from './handlers';

export function hostHandlers(host: HostService, registry: VmRegistry): HandlerGroup<'host.info'> {
  return {
    'host.info': async ({ refresh }) => {
      const info = await host.get(refresh);
      const broken = registry
        .brokenConfigs()
        .map(([dir, reason]) => `The VM in ${dir} could not be loaded: ${reason}`);
      return broken.length ? { ...info, notices: [...info.notices, ...broken] } : info;
    },
  };
}
