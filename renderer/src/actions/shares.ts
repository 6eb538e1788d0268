import type { Params, ShareList, VmSummary } from '../../../common/contract';
import { getBridge } from '../bridge';

import { outcome, type Outcome } from './outcome';
export type { Outcome } from './outcome';

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
