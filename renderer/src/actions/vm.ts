import type { CreateVmRequest, VmPatch, VmSummary } from '../../../common/contract';
import { asksFirst } from '../../../common/rules/confirmations';
import { canChangeWhileRunning } from '../../../common/rules/vm-settings';
import { getBridge, type ApiError, toApiError } from '../bridge';
import { findVm, upsertVm, useLibraryStore } from '../stores/library';
import { useUiStore, type VmOperation } from '../stores/ui';
import { notify, notifyError } from './notifications';
import { applyTaskEvent } from './tasks';
import { openDialog, openLibrary, openVm } from './ui';

const VERBS: Record<VmOperation, string> = {
  start: 'start',
  pause: 'pause',
  resume: 'resume',
  suspend: 'save to disk',
  shutdown: 'shut down',
  powerOff: 'power off',
  reset: 'reset',
};

/**
 * What a button or shortcut runs: Power off and Reset first ask (saying what is lost) unless the
 * user turned the question off for this VM.
 */
export function requestVmOperation(vmId: string, op: VmOperation): void {
  const vm = findVm(vmId);
  if ((op === 'powerOff' || op === 'reset') && vm && asksFirst(op, vm.config)) {
    openDialog({ type: 'confirmPower', vmId, op });
    return;
  }
  void runVmOperation(vmId, op);
}

/**
 * Asks the engine to run an operation. State changes arrive as vm.state events; the answer only
 * fills in when no event has updated the VM meanwhile (the events are newer).
 */
export async function runVmOperation(vmId: string, op: VmOperation): Promise<void> {
  const before = findVm(vmId);
  const name = before?.name ?? vmId;
  useUiStore.setState((s) => ({ pending: { ...s.pending, [vmId]: op } }));
  const api = getBridge();
  try {
    if (op === 'shutdown') {
      const res = await api.call('vm.shutdown', { vm: vmId });
      if (!res.stopped) {
        notify({
          kind: 'warning',
          title: `“${name}” did not shut down`,
          message: res.reason ?? 'The guest ignored the power button.',
          ...(res.canForce
            ? { action: { type: 'powerOff' as const, vmId, label: 'Power off' } }
            : {}),
        });
      }
      return;
    }
    if (op === 'suspend') {
      // A task: its progress and end arrive as task events, the new state as vm.state events.
      applyTaskEvent(await api.call('vm.suspend', { vm: vmId }));
      return;
    }
    const method = (
      {
        start: 'vm.start',
        pause: 'vm.pause',
        resume: 'vm.resume',
        powerOff: 'vm.powerOff',
        reset: 'vm.reset',
      } as const
    )[op];
    const vm = await api.call(method, { vm: vmId });
    if (findVm(vmId) === before) {
      useLibraryStore.setState((s) => ({ vms: upsertVm(s.vms, vm) }));
    }
  } catch (err) {
    notifyError(`Couldn’t ${VERBS[op]} “${name}”`, err);
  } finally {
    useUiStore.setState((s) => {
      if (s.pending[vmId] !== op) return s;
      const pending = { ...s.pending };
      delete pending[vmId];
      return { pending };
    });
  }
}

/** Drops a saved VM's saved state (after the user confirmed): its next start boots fresh. */
export async function discardSavedState(vmId: string): Promise<boolean> {
  const name = findVm(vmId)?.name ?? vmId;
  try {
    const vm = await getBridge().call('vm.discardState', { vm: vmId });
    useLibraryStore.setState((s) => ({ vms: upsertVm(s.vms, vm) }));
    notify(
      { kind: 'info', title: `Discarded the saved state of “${name}”`, message: 'It boots fresh.' },
      4000,
    );
    return true;
  } catch (err) {
    notifyError(`Couldn’t discard the saved state of “${name}”`, err);
    return false;
  }
}

/** Saves settings. Field errors come back to the form; everything else is a notification too. */
export async function updateVm(
  vmId: string,
  patch: VmPatch,
): Promise<{ ok: true; vm: VmSummary } | { ok: false; error: ApiError }> {
  try {
    const vm = await getBridge().call('vm.update', { vm: vmId, patch });
    useLibraryStore.setState((s) => ({ vms: upsertVm(s.vms, vm) }));
    const hardware = Object.keys(patch).some((k) => !canChangeWhileRunning(k));
    notify(
      {
        kind: 'info',
        title: `Saved “${vm.name}”`,
        message: hardware ? 'The new hardware settings apply the next time it starts.' : '',
      },
      3500,
    );
    return { ok: true, vm };
  } catch (err) {
    const error = toApiError(err);
    if (!error.fields) notifyError('Couldn’t save the settings', error);
    return { ok: false, error };
  }
}

/**
 * "Don't ask again for this VM": Power off, Reset and Revert run at once from now on. Saved
 * before the operation runs, so the answer holds even when the operation fails.
 */
export async function stopAsking(vmId: string): Promise<boolean> {
  try {
    const vm = await getBridge().call('vm.update', {
      vm: vmId,
      patch: { confirmDestructive: false },
    });
    useLibraryStore.setState((s) => ({ vms: upsertVm(s.vms, vm) }));
    return true;
  } catch (err) {
    notifyError('Couldn’t save “don’t ask again”', err);
    return false;
  }
}

export async function createVm(
  request: CreateVmRequest,
): Promise<{ ok: true; vm: VmSummary } | { ok: false; error: ApiError }> {
  try {
    const vm = await getBridge().call('vm.create', request);
    useLibraryStore.setState((s) => ({ vms: upsertVm(s.vms, vm) }));
    notify(
      {
        kind: 'info',
        title: `Created “${vm.name}”`,
        message: 'Start it to see its screen on the Display tab.',
        action: { type: 'start', vmId: vm.id, label: 'Start' },
      },
      8000,
    );
    openVm(vm.id);
    return { ok: true, vm };
  } catch (err) {
    return { ok: false, error: toApiError(err) };
  }
}

export async function deleteVm(vmId: string, keepDisks: boolean): Promise<boolean> {
  const name = findVm(vmId)?.name ?? vmId;
  try {
    const res = await getBridge().call('vm.delete', { vm: vmId, keepDisks });
    useLibraryStore.setState((s) => ({ vms: s.vms.filter((v) => v.id !== vmId) }));
    openLibrary();
    notify(
      {
        kind: 'info',
        title: `Deleted “${name}”`,
        message: res.keptFiles.length
          ? `Kept its disks: ${res.keptFiles.join(', ')}`
          : 'Its folder and disks are gone.',
      },
      6000,
    );
    return true;
  } catch (err) {
    notifyError(`Couldn’t delete “${name}”`, err);
    return false;
  }
}

/** Presses keys together in the guest (QEMU qcodes: ctrl, alt, delete, f1, print...). */
export async function sendKeys(vmId: string, keys: string[]): Promise<void> {
  try {
    await getBridge().call('vm.sendKeys', { vm: vmId, keys });
  } catch (err) {
    notifyError('Couldn’t send the keys', err);
  }
}

/** Saves the VM's screen as a PNG through the browser's download. */
export async function downloadScreenshot(vmId: string): Promise<void> {
  const vm = findVm(vmId);
  try {
    const shot = await getBridge().call('vm.screenshot', { vm: vmId });
    if (!shot.pngBase64) throw new Error('The engine returned no image');
    const bytes = Uint8Array.from(atob(shot.pngBase64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${fileSafe(vm?.name ?? vmId)}-${stamp(new Date())}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    notify(
      {
        kind: 'info',
        title: 'Screenshot saved',
        message: `${a.download} (${shot.width}×${shot.height}) is in your downloads.`,
      },
      4000,
    );
  } catch (err) {
    notifyError('Couldn’t take a screenshot', err);
  }
}

function fileSafe(name: string): string {
  return name.replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '') || 'vm';
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}
