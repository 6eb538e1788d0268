/** What it takes to start a VM on this host: the QEMU binary, its argv, the accelerator, swtpm. */
import type { HostService } from '../host/host-service';
import { archSupportOf } from '../host/arch-support';
import { resolveArchAccelerator } from '../host/resolve';
import { requireQemuBinary, requireSecureBootFirmware, requireSwtpm } from '../host/require';
import { moveTakenAutoForwards } from '../guest/auto-forwards';
import type { Vm } from '../library/vm';
import type { NetworkPreparer } from '../network/service';
import { buildQemuArgs, diskPath, nicDeviceId } from '../qemu/args';
import type { LaunchPlan } from '../qemu/supervisor';
import { checkReadableFile } from './file-checks';
import { SMBD_MISSING } from '../../../common/rules/shares';
import { findSmbd, virtiofsd } from '../shares/host-tools';
import { shareFolderProblem } from '../shares/service';
import { VivariumError } from '../errors';
import { join } from 'node:path';
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
    for (const share of c.shares) {
      const problem = await shareFolderProblem(share.path);
      if (problem) {
        throw new VivariumError(
          'FILE_NOT_FOUND',
          `The shared folder '${share.tag}': ${problem}, or remove the share in the Hardware tab.`,
        );
      }
    }
    const smbd = c.shares.some((s) => s.mode === 'smb') ? await findSmbd() : null;
    if (c.shares.some((s) => s.mode === 'smb') && !smbd) {
      throw new VivariumError('QEMU_MISSING', SMBD_MISSING);
    }
    const virtiofs = [];
    for (const share of c.shares.filter((s) => s.mode === 'virtiofs')) {
      const probe = await virtiofsd();
      if (!probe.ok || !probe.binary) {
        throw new VivariumError(
          'QEMU_MISSING',
          `The shared folder '${share.tag}' uses virtiofs: ${probe.reason ?? 'virtiofsd cannot run here'}`,
        );
      }
      virtiofs.push({
        binary: probe.binary,
        tag: share.tag,
        source: share.path,
        socket: join(vm.files.run, `vfs-${share.tag}.sock`),
        log: join(vm.files.logsDir, `virtiofsd-${share.tag}.log`),
      });
    }
    if (c.firmware === 'uefi') await this.uefiVars.ensure(vm);
    const { networkSwitches, bridgeHelper } = await this.networks.prepare(c);
    const { accel, notice } = resolveArchAccelerator(host, c.arch, c.accel);
    const swtpm = c.tpm ? requireSwtpm(host) : null;
    const args = buildQemuArgs(c, {
      accel,
      platform: process.platform,
      ovmfCode:
        c.arch === 'x86_64'
          ? host.firmware.ovmfCode
          : (archSupportOf(host, c.arch)?.uefi?.code ?? null),
      ovmfSecureBootCode: c.secureBoot ? requireSecureBootFirmware(host).code : null,
      tpmSocket: swtpm ? vm.files.tpmSock : null,
      vmDir: vm.files.dir,
      files: vm.files,
      networkSwitches,
      bridgeHelper,
      smbd,
      virtiofsSockets: Object.fromEntries(virtiofs.map((v) => [v.tag, v.socket])),
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
      ...(virtiofs.length ? { virtiofs } : {}),
      ...(linksDown.length ? { linksDown } : {}),
    };
  }
}
