/**
 * libvirt's rules on names: a domain name cannot hold `/` (libvirt names files after it), so a
 * domain coming in with one is refused and a VM going out has it replaced.
 */

/** Why a name cannot be a libvirt domain's, or null. */
export function libvirtNameProblem(name: string): string | null {
  return name.includes('/') ? 'contains a "/", which libvirt refuses in a domain name' : null;
}

/** The domain name a VM gets: its own, with each `/` made a `-`. */
export function libvirtDomainName(vmName: string): string {
  return vmName.replaceAll('/', '-');
}
