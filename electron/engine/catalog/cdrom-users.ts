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
