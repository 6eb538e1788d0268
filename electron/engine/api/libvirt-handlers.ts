/** The contract's libvirt methods: a VM out as a domain, a domain in as a VM. */
import type { LibvirtExporter } from '../interop/libvirt/export';
import type { LibvirtImporter } from '../interop/libvirt/import';
import type { HandlerGroup } from './handlers';

export type LibvirtMethod = 'vm.exportLibvirt' | 'vm.importLibvirt';

export function libvirtHandlers(
  exporter: LibvirtExporter,
  importer: LibvirtImporter,
): HandlerGroup<LibvirtMethod> {
  return {
    'vm.exportLibvirt': ({ vm, dir, disks, nat }) => exporter.start({ vm, dir, disks, nat }),
    'vm.importLibvirt': ({ xml, disks, name }) => importer.start({ xml, disks, name }),
  };
}
