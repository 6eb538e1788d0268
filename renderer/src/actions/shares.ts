import type { Params, ShareList, VmSummary } from '../../../common/contract';
import { getBridge, toApiError } from '../bridge';

/** An engine call's answer for a form: the value, or the engine's message to show inline. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; message: string };

async function outcome<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, message: toApiError(err).message };
  }
}

/** The VM's shared folders with their guest lines, and which modes this computer offers. */
export function loadShares(vm: string): Promise<Outcome<ShareList>> {
  return outcome(getBridge().call('share.list', { vm }));
}

export function addShare(req: Params<'share.add'>): Promise<Outcome<ShareList>> {
  return outcome(getBridge().call('share.add', req));
}

export function removeShare(vm: string, tag: string): Promise<Outcome<ShareList>> {
  return outcome(getBridge().call('share.remove', { vm, tag }));
}

/** Clipboard sharing on or off; the VM's summary follows through its vm.state event. */
export function setClipboard(vm: string, on: boolean): Promise<Outcome<VmSummary>> {
  return outcome(getBridge().call('clipboard.set', { vm, on }));
}
