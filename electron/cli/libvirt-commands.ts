/**
 * The libvirt side of `vivarium export NAME --libvirt DIR` and `vivarium import --libvirt
 * FILE.xml`: a VM out as a libvirt domain (with a note on defining it here or on another host),
 * and a domain (`virsh dumpxml`) in as a VM. Both run as engine tasks with a progress bar; what
 * libvirt or Vivarium could not carry is listed after.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LibvirtTaskResults } from '../../common/contract';
import { VivariumError } from '../engine';
import type { CliKit } from './kit';
import type { JsonOpt } from './output';
import { UsageError } from './output';
import { followTask } from './progress';

function listUnmapped(kit: CliKit, heading: string, unmapped: string[]): void {
  if (!unmapped.length) return;
  kit.writeOut(`${heading}:\n${unmapped.map((u) => `  - ${u}`).join('\n')}`);
}

export interface LibvirtExportOptions extends JsonOpt {
  libvirt: string;
  disks: 'flatten' | 'carry';
  nat: 'network' | 'user';
}

export async function exportLibvirt(
  kit: CliKit,
  vm: string,
  o: LibvirtExportOptions,
): Promise<void> {
  const task = await kit.call(
    'vm.exportLibvirt',
    { vm, dir: resolve(o.libvirt), disks: o.disks, nat: o.nat },
    { vm: 'NAME', dir: '--libvirt', disks: '--disks', nat: '--nat' },
  );
  const res = await followTask<LibvirtTaskResults['vm.exportLibvirt']>(kit, task, Boolean(o.json));
  if (o.json) return kit.printJson(res);
  kit.writeOut(`Exported ${vm} as the libvirt domain ${res.name}: ${res.xmlFile}`);
  listUnmapped(kit, 'Not carried over', res.unmapped);
  kit.writeOut(res.note.join('\n'));
}

export interface LibvirtImportOptions extends JsonOpt {
  libvirt: string;
  copy?: boolean;
  reference?: boolean;
  name?: string;
}

export async function importLibvirt(kit: CliKit, o: LibvirtImportOptions): Promise<void> {
  if (o.copy && o.reference) throw new UsageError('Choose --copy or --reference, not both');
  const file = resolve(o.libvirt);
  const xml = await readFile(file, 'utf8').catch((err: unknown) => {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new VivariumError(
      'FILE_NOT_FOUND',
      `Cannot read ${file} (${why}): write it with virsh dumpxml NAME > FILE.xml`,
    );
  });
  const task = await kit.call(
    'vm.importLibvirt',
    {
      xml,
      disks: o.reference ? 'reference' : 'copy',
      ...(o.name !== undefined ? { name: o.name } : {}),
    },
    { xml: '--libvirt', name: '--name' },
  );
  const res = await followTask<LibvirtTaskResults['vm.importLibvirt']>(kit, task, Boolean(o.json));
  if (o.json) return kit.printJson(res);
  kit.writeOut(`Imported ${res.vm.name} (id ${res.vm.id}) from ${file}.`);
  listUnmapped(kit, 'Not carried over', res.unmapped);
}
