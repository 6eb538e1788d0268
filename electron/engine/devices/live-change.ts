/**
 * Where a removable-device change goes: into the running QEMU (then the config, so the next start
 * has it too), or the config alone when no QEMU runs. A saved VM refuses: its saved device state
 * includes the CD drive and the USB devices as they were.
 */
import { savedRefusalMessage } from '../../../common/rules/vm-settings';
import { isGuestUp, isLive, isSaved } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { Vm } from '../library/vm';

export interface VmSource {
  resolve(ref: string): Vm;
}

/** 'live' or 'config' for the VM as it is now; throws for saved and in-between states. */
export function changeTarget(vm: Vm): 'live' | 'config' {
  const state = vm.supervisor.current.state;
  if (isSaved(state)) throw new VivariumError('BAD_STATE', savedRefusalMessage('media'));
  if (isGuestUp(state)) return 'live';
  if (isLive(state)) {
    throw new VivariumError(
      'BAD_STATE',
      `"${vm.config.name}" is ${state}: try again once it runs or is stopped`,
    );
  }
  return 'config';
}

/** The device ids QEMU has now (`-device id=...` and device_add's), from QOM. */
export async function liveDeviceIds(vm: Vm): Promise<Set<string>> {
  const children = await vm.supervisor.command<Array<{ name: string }>>('qom-list', {
    path: '/machine/peripheral',
  });
  return new Set(children.map((c) => c.name));
}
