/**
 * The contract's host method: QEMU, firmware and accelerators, plus VMs that failed to load and
 * what the library recovered or set aside after a crash.
 */
import type { GuestDefaults } from '../../../common/contract';
import type { HostService } from '../host/host-service';
import type { VmRegistry } from '../library/registry';
import type { HandlerGroup } from './handlers';

export function hostHandlers(
  host: HostService,
  registry: VmRegistry,
  libraryNotices: () => Promise<string[]>,
  guestDefaults: () => Promise<GuestDefaults>,
): HandlerGroup<'host.info' | 'host.guestDefaults'> {
  return {
    'host.info': async ({ refresh }) => {
      const info = await host.get(refresh);
      const broken = registry
        .brokenConfigs()
        .map(([dir, reason]) => `The VM in ${dir} could not be loaded: ${reason}`);
      const more = [...broken, ...(await libraryNotices())];
      return more.length ? { ...info, notices: [...info.notices, ...more] } : info;
    },
    'host.guestDefaults': () => guestDefaults(),
  };
}
