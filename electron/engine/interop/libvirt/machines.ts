/**
 * QEMU's machine aliases from `qemu-system-x86_64 -machine help` ("q35  Standard PC (Q35 + ICH9,
 * 2009) (alias of pc-q35-7.2)"): libvirt records the versioned type, so a guest keeps the same
 * virtual hardware when the host's QEMU is upgraded. Pure.
 */
export function machineAliases(help: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of help.split('\n')) {
    const m = /^(\S+)\s.*\(alias of (\S+)\)/.exec(line);
    if (m?.[1] && m[2]) map.set(m[1], m[2]);
  }
  return map;
}
