import type { VmSummary } from '../../../common/contract';

/** Where a guest stands as seen from outside: off, booting until it answers, ready, paused. */
export type GuestPhase = 'off' | 'booting' | 'ready' | 'paused';

/**
 * What the VM's Guest card and library hint show, or null for nothing. A VM made from a cloud
 * image always has one (it is meant to be reached over SSH); another VM only once its guest
 * answered or its agent reported, so a guest without an agent never looks stuck booting.
 */
export function guestPhase(vm: Pick<VmSummary, 'config' | 'runtime' | 'guest'>): GuestPhase | null {
  const g = vm.guest;
  const cloud = vm.config.cloudInit !== null;
  if (!cloud && !g?.ready && !g?.agent) return null;
  switch (vm.runtime.state) {
    case 'paused':
    case 'pausing':
      return 'paused';
    case 'starting':
    case 'running':
    case 'resuming':
    case 'saving':
    case 'restoring':
      return g?.ready ? 'ready' : 'booting';
    default:
      return 'off';
  }
}
