/**
 * Moves a VM to the latest device layout (DEVICE_LAYOUT_LATEST in the contract) when nothing it
 * keeps depends on the old one: its saved memory and its live snapshots load only into the
 * devices they were taken with, so a VM that has either keeps its layout.
 */
import { DEVICE_LAYOUT_LATEST } from '../../../common/contract';
import type { Vm } from '../library/vm';
import { hasSavedStateFiles } from '../savestate/state-file';
import { loadIndex } from '../snapshots/store';

/** Before a cold start: returns whether the layout moved. */
export async function moveToLatestLayout(vm: Vm): Promise<boolean> {
  if (vm.config.layout >= DEVICE_LAYOUT_LATEST) return false;
  if (await hasSavedStateFiles(vm.files)) return false;
  const index = await loadIndex(vm.files.snapshotsIndex);
  if (index.snapshots.some((s) => s.kind === 'live')) return false;
  await vm.update((c) => ({ ...c, layout: DEVICE_LAYOUT_LATEST }));
  return true;
}
