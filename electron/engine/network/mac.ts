/** New cards' MAC addresses: QEMU's locally administered prefix, random, unique in the library. */
import { randomBytes } from 'node:crypto';
import type { VmConfig } from '../../../common/contract';
import { macFromBytes } from '../../../common/rules/networks';

/** Every MAC the library's cards use (but `exceptVm`'s). */
export function usedMacs(configs: readonly VmConfig[], exceptVm?: string): Set<string> {
  return new Set(configs.filter((c) => c.id !== exceptVm).flatMap((c) => c.nics.map((n) => n.mac)));
}

/** A random MAC that none of `used` has; adds it to `used`. */
export function newMac(used: Set<string>): string {
  for (;;) {
    const mac = macFromBytes([...randomBytes(3)]);
    if (!used.has(mac)) {
      used.add(mac);
      return mac;
    }
  }
}
