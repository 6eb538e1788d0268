/** After the install: eject the install media and boot from the disk (the VM window offers it). */
import { isGuestUp } from '../../../../common/vm-state';
import { getBridge, toApiError } from '../../bridge';
import { findVm, upsertVm, useLibraryStore } from '../../stores/library';
import { notify } from '../notifications';

/** How long the guest gets to shut down by itself before its power is cut. */
const EJECT_SHUTDOWN_MS = 15_000;

/**
 * Removes the install media and boots from the disk: a running VM is shut down first (powered
 * off when the guest ignores the power button), its CD-ROM emptied and the boot order set to the
 * disk, then it starts again. Returns whether it all went through.
 */
export async function ejectInstallMedia(vmId: string): Promise<boolean> {
  const api = getBridge();
  const vm = findVm(vmId);
  const name = vm?.name ?? vmId;
  let step = 'shut it down';
  try {
    if (vm && (isGuestUp(vm.runtime.state) || vm.runtime.state === 'stopping')) {
      if (vm.runtime.state !== 'stopping') {
        const res = await api.call('vm.shutdown', { vm: vmId, timeoutMs: EJECT_SHUTDOWN_MS });
        if (!res.stopped) await api.call('vm.powerOff', { vm: vmId });
      } else {
        await api.call('vm.powerOff', { vm: vmId });
      }
    }
    step = 'eject the install media';
    const updated = await api.call('vm.update', {
      vm: vmId,
      patch: { cdrom: null, bootOrder: ['disk'] },
    });
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, updated) }));
    step = 'start it from the disk';
    const started = await api.call('vm.start', { vm: vmId });
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, started) }));
    notify(
      {
        kind: 'info',
        title: `“${name}” now boots from its disk`,
        message: 'The install media is ejected. Attach another ISO in Settings when you need one.',
      },
      6000,
    );
    return true;
  } catch (err) {
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `Couldn’t ${step}`,
      message: `${e.message} ${
        step === 'shut it down'
          ? 'Power the VM off from the top bar, then try again.'
          : step === 'start it from the disk'
            ? 'The media is ejected; start the VM from the top bar once the problem is fixed.'
            : 'Empty the CD-ROM in Settings (the VM must be off).'
      }`,
      code: e.code,
    });
    return false;
  }
}
