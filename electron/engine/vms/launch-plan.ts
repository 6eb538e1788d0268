/** What it takes to start a VM on this host: the QEMU binary, its argv, the accelerator, swtpm. */
import type { HostService } from '../host/host-service';
import { resolveAccelerator } from '../host/resolve';
import { requireQemuBinary, requireSecureBootFirmware, requireSwtpm } from '../host/require';
import { moveTakenAutoForwards } from '../guest/auto-forwards';
import type { Vm } from '../library/vm';
import type { NetworkPreparer } from '../network/service';
import { buildQemuArgs, diskPath, nicDeviceId } from '../qemu/args';
import type { LaunchPlan } from '../qemu/supervisor';
import { checkReadableFile } from './file-checks';
import type { UefiVarsStore } from './uefi-vars';

export class LaunchPlanner {
  constructor(
    private readonly host: HostService,
    private readonly uefiVars: UefiVarsStore,
    /** Host ports other VMs' forwards are promised (the library's). */
    private readonly promisedPorts: (exceptVm: string) => ReadonlySet<number>,
    /** Starts the private networks the cards are on; checks their bridges (before QEMU). */
    private readonly networks: NetworkPreparer,
  ) {}

  /** Checks the files the config points at (so the error names them) before QEMU would. */
  async plan(vm: Vm): Promise<LaunchPlan> {
    const host = await this.host.get();
    const binary = requireQemuBinary(host, vm.config.arch);
    await moveTakenAutoForwards(vm, () => this.promisedPorts(vm.id));
    const c = vm.config;
    if (c.cdrom)
      await checkReadableFile(c.cdrom, 'ISO image', 'change or eject the CD in the Hardware tab');
    for (const entry of c.usb) {
      if (entry.kind === 'drive') {
        await checkReadableFile(
          entry.file,
          `image of USB drive ${entry.id}`,
          'detach it in the Hardware tab (vivarium usb detach)',
        );
      }
    }
    if (c.kernelBoot) {
      await checkReadableFile(
        c.kernelBoot.kernel,
        'kernel',
        'fix the kernel path in the VM settings',
      );
      if (c.kernelBoot.initrd) {
        await checkReadableFile(
          c.kernelBoot.initrd,
          'initrd',
          'fix the initrd path in the VM settings',
        );
      }
    }
    for (const disk of c.disks) {
      await checkReadableFile(diskPath(vm.files.dir, disk), `disk ${disk.id}`);
    }
    if (c.firmware === 'uefi') await this.uefiVars.ensure(vm);
    const { networkSwitches, bridgeHelper } = await this.networks.prepare(c);
    const { accel, notice } = resolveAccelerator(host, c.accel);
    const swtpm = c.tpm ? requireSwtpm(host) : null;
    const args = buildQemuArgs(c, {
      accel,
      platform: process.platform,
      ovmfCode: host.firmware.ovmfCode,
      ovmfSecureBootCode: c.secureBoot ? requireSecureBootFirmware(host).code : null,
      tpmSocket: swtpm ? vm.files.tpmSock : null,
      vmDir: vm.files.dir,
      files: vm.files,
      networkSwitches,
      bridgeHelper,
    });
    const tpm = swtpm
      ? {
          binary: swtpm,
          stateDir: vm.files.tpmStateDir,
          socket: vm.files.tpmSock,
          pidFile: vm.files.tpmPidFile,
          log: vm.files.tpmLog,
        }
      : undefined;
    const linksDown = c.nics.flatMap((n, i) => (n.attach.kind === 'none' ? [nicDeviceId(i)] : []));
    return {
      binary,
      args,
      accel,
      accelNotice: notice,
      ...(tpm ? { tpm } : {}),
      ...(linksDown.length ? { linksDown } : {}),
    };
  }
}
