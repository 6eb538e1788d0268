/**
 * `vivarium export` and `vivarium import`: one command each, whatever the other side is. A VM goes
 * out as a libvirt domain (`--libvirt DIR`) or an OVA appliance (`--ova FILE`); a VM comes in from
 * an appliance (`FILE.ova`, `FILE.ovf`) or a libvirt domain (`--libvirt FILE.xml`).
 */
import { Option } from 'commander';
import { exportOva, importAppliance } from './appliance-commands';
import type { CliKit } from './kit';
import { exportLibvirt, importLibvirt } from './libvirt-commands';
import type { JsonOpt } from './output';
import { UsageError } from './output';

export function registerInteropCommands(kit: CliKit): void {
  kit
    .cmd(
      'export',
      'write a VM that is off as a libvirt domain (--libvirt DIR: NAME.xml, its disks, UEFI vars and TPM state) or an OVA appliance VirtualBox imports (--ova FILE.ova)',
    )
    .argument('<name>', 'the VM')
    .option('--libvirt <dir>', 'a libvirt domain: the folder to write (made if missing)')
    .option('--ova <file>', 'an OVA appliance (OVF 1.0, stream-optimized VMDK, SHA-256 manifest)')
    .addOption(
      new Option(
        '--disks <mode>',
        'libvirt: flatten: one qcow2 per disk; carry: its backing chain too, by relative names',
      )
        .choices(['flatten', 'carry'])
        .default('flatten'),
    )
    .addOption(
      new Option(
        '--nat <mode>',
        "libvirt: NAT cards join libvirt's default network, or use QEMU's user network",
      )
        .choices(['network', 'user'])
        .default('network'),
    )
    .action(
      kit.run(
        async (
          vm: string,
          o: JsonOpt & {
            libvirt?: string;
            ova?: string;
            disks: 'flatten' | 'carry';
            nat: 'network' | 'user';
          },
        ) => {
          if (o.libvirt && o.ova)
            throw new UsageError('Choose --libvirt DIR or --ova FILE, not both');
          if (o.ova) return exportOva(kit, vm, { ova: o.ova, json: o.json });
          if (!o.libvirt) {
            throw new UsageError('Say where to export to: --libvirt DIR or --ova FILE.ova');
          }
          return exportLibvirt(kit, vm, { ...o, libvirt: o.libvirt });
        },
      ),
    );

  kit
    .cmd(
      'import',
      'make a VM from an appliance (FILE.ova, or FILE.ovf with its disks beside it: checked against its manifest, disks converted to qcow2) or from a libvirt domain (--libvirt FILE.xml, the output of virsh dumpxml)',
    )
    .argument('[file]', 'the .ova or .ovf')
    .option('--libvirt <file>', 'a libvirt domain XML instead')
    .option('--copy', "libvirt: copy the domain's disks into the VM's folder (the default)")
    .option('--reference', "libvirt: use the domain's disks where they are")
    .option('--name <name>', "the VM's name (default: the appliance's or the domain's)")
    .option('--dry-run', 'appliance: only read and check it, and show what the VM would get')
    .action(
      kit.run(
        async (
          file: string | undefined,
          o: JsonOpt & {
            libvirt?: string;
            copy?: boolean;
            reference?: boolean;
            name?: string;
            dryRun?: boolean;
          },
        ) => {
          if (o.libvirt) {
            if (file) {
              throw new UsageError(
                `Give either an appliance (${file}) or --libvirt FILE.xml, not both`,
              );
            }
            return importLibvirt(kit, { ...o, libvirt: o.libvirt });
          }
          if (!file) {
            throw new UsageError('Give an appliance (FILE.ova or FILE.ovf) or --libvirt FILE.xml');
          }
          return importAppliance(kit, file, o);
        },
      ),
    );
}
