/**
 * The appliance side of `vivarium import FILE.ova|FILE.ovf [--name N]` and `vivarium export
 * NAME --ova FILE.ova`: appliances in and out, with a progress bar (or JSON progress lines).
 */
import { resolve } from 'node:path';
import type { ApplianceExport, ApplianceSummary, VmSummary } from '../../common/contract';
import { FIRMWARE_LABELS, NIC_MODEL_LABELS, DISK_BUS_LABELS } from '../../common/labels';
import type { CliKit } from './kit';
import { UsageError } from './output';
import { followTask } from './progress';

/** What an import will make (and made), in the words the wizard shows too. */
export function describeAppliance(s: ApplianceSummary, formatBytes: (n: number) => string): string {
  const lines = [
    `${s.name}: ${s.producer === 'other' ? 'an OVF' : s.producer === 'vmware' ? 'a VMware' : 'a VirtualBox'} appliance, ${s.os.entryName}${s.os.source ? ` (${s.os.source})` : ''}`,
    `  ${s.cpus} CPU${s.cpus === 1 ? '' : 's'}, ${s.memoryMiB} MiB, ${FIRMWARE_LABELS[s.firmware]}, machine ${s.machine}`,
    ...s.disks.map(
      (d, i) =>
        `  disk ${i + 1}: ${d.file}, ${formatBytes(d.capacityBytes)} on ${DISK_BUS_LABELS[d.bus]}`,
    ),
    ...s.nics.map(
      (n, i) => `  network card ${i + 1}: ${NIC_MODEL_LABELS[n.model]} (was ${n.source})`,
    ),
    s.verifiedWith
      ? `  every file matched its ${s.verifiedWith} in the manifest`
      : '  no manifest: the files were not checked',
  ];
  if (s.notMapped.length) {
    lines.push('Not carried over as it was:', ...s.notMapped.map((n) => `  - ${n}`));
  }
  return lines.join('\n');
}

export async function importAppliance(
  kit: CliKit,
  file: string,
  o: { name?: string; dryRun?: boolean; json?: boolean },
): Promise<void> {
  if (!/\.(ova|ovf)$/i.test(file)) {
    throw new UsageError(
      `${file} is not an appliance: give an .ova or .ovf file (or a libvirt domain with --libvirt FILE.xml).`,
    );
  }
  const path = resolve(file);
  if (o.dryRun) {
    const summary = await kit.call('appliance.inspect', { file: path }, { file: 'FILE' });
    if (o.json) return kit.printJson(summary);
    return kit.writeOut(describeAppliance(summary, (n) => kit.formatBytes(n)));
  }
  const task = await kit.call(
    'appliance.import',
    { file: path, ...(o.name !== undefined ? { name: o.name } : {}) },
    { file: 'FILE', name: '--name' },
  );
  const vm = await followTask<VmSummary>(kit, task, Boolean(o.json));
  if (o.json) return kit.printJson(vm);
  const summary = await kit.call('appliance.inspect', { file: path }).catch(() => null);
  kit.writeOut(
    [
      `Imported ${file} as "${vm.name}" (${vm.config.disks.length} disk${vm.config.disks.length === 1 ? '' : 's'}, ${vm.config.cpu.count} CPU, ${vm.config.memoryMiB} MiB, ${FIRMWARE_LABELS[vm.config.firmware]}).`,
      ...(summary?.notMapped.length
        ? ['Not carried over as it was:', ...summary.notMapped.map((n) => `  - ${n}`)]
        : []),
      `Start it: vivarium start "${vm.name}"`,
    ].join('\n'),
  );
}

export async function exportOva(
  kit: CliKit,
  vm: string,
  o: { ova: string; json?: boolean },
): Promise<void> {
  const task = await kit.call(
    'appliance.export',
    { vm, file: resolve(o.ova) },
    { vm: 'NAME', file: '--ova' },
  );
  const out = await followTask<ApplianceExport>(kit, task, Boolean(o.json));
  if (o.json) return kit.printJson(out);
  kit.writeOut(
    `Wrote ${out.file} (${kit.formatBytes(out.bytes)}, ${out.disks} disk${out.disks === 1 ? '' : 's'}). VirtualBox: File > Import Appliance; VMware: ovftool or File > Open; Vivarium: vivarium import ${o.ova}`,
  );
}
