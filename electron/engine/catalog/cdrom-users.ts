import type { Vm } from '../library/vm';
import { realPathOf } from './media-store';

/**
 * The VMs by the real path of the image in their CD-ROM (symlinks resolved, so a link to a
 * cached image counts as that image), each list sorted by name. From the configs the registry
 * holds: the owner's follows the library as it changes, a CLI command's read it at start.
 */
export async function cdromUsers(vms: Vm[]): Promise<Map<string, { id: string; name: string }[]>> {
  const out = new Map<string, { id: string; name: string }[]>();
  const sorted = [...vms].sort((a, b) => a.config.name.localeCompare(b.config.name));
  for (const vm of sorted) {
    const cdrom = vm.config.cdrom;
    if (!cdrom) continue;
    const file = await realPathOf(cdrom);
    const user = { id: vm.config.id, name: vm.config.name };
    const list = out.get(file);
    if (list) list.push(user);
    else out.set(file, [user]);
  }
  return out;
}

/**
 * The VMs whose system disk is a thin overlay on an image (a cloud guest's), by the image's real
 * path: such an image must stay as long as they do, whatever else happens to the cache.
 */
export async function baseImageUsers(
  vms: Vm[],
): Promise<Map<string, { id: string; name: string }[]>> {
  const out = new Map<string, { id: string; name: string }[]>();
  const sorted = [...vms].sort((a, b) => a.config.name.localeCompare(b.config.name));
  for (const vm of sorted) {
    const image = vm.config.cloudInit?.image;
    if (!image || image.mode !== 'overlay') continue;
    const file = await realPathOf(image.file);
    const user = { id: vm.config.id, name: vm.config.name };
    const list = out.get(file);
    if (list) list.push(user);
    else out.set(file, [user]);
  }
  return out;
}

/** Both kinds of use, for the cache's "used by" lists. */
export async function mediaUsers(vms: Vm[]): Promise<Map<string, { id: string; name: string }[]>> {
  const out = await cdromUsers(vms);
  for (const [file, users] of await baseImageUsers(vms)) {
    const list = out.get(file) ?? [];
    for (const u of users) if (!list.some((x) => x.id === u.id)) list.push(u);
    out.set(file, list);
  }
  return out;
}
