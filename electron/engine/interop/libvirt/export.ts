/**
 * A VM out to libvirt: its domain XML, disks (flattened, or with their backing chain carried by
 * relative names), UEFI variable store and TPM state written into one folder, so that
 * `virsh define DIR/NAME.xml && virsh start NAME` boots the same guest. The VM must be shut down
 * and not saved: the disks of a running guest are not consistent, and libvirt cannot resume
 * Vivarium's saved memory (its managed save is its own format), so a saved VM is refused with the
 * way out rather than exported as if it were off (its disks would not match a cold boot's).
 */
import { label } from '../../../../common/labels';
import { chmod, cp, mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type {
  LibvirtDiskMode,
  LibvirtExportResult,
  TaskInfo,
  VmConfig,
} from '../../../../common/contract';
import { savedRefusalMessage } from '../../../../common/rules/vm-settings';
import { isLive, isSaved } from '../../../../common/vm-state';
import { VivariumError } from '../../errors';
import type { HostService } from '../../host/host-service';
import { requireQemuBinary, requireQemuImg, requireSecureBootFirmware } from '../../host/require';
import { runProgram } from '../../host/run';
import { fileExists, writeFileAtomic } from '../../library/atomic-file';
import type { VmRegistry } from '../../library/registry';
import type { Vm } from '../../library/vm';
import { diskPath } from '../../qemu/args';
import { convertImage, imageChain } from '../../storage/qemu-img';
import type { TaskContext, TaskManager } from '../../tasks/task-manager';
import { buildDomainXml, exportLayout } from './domain-xml';
import { machineAliases } from './machines';
import { exportNote } from './note';

export interface ExportRequest {
  vm: string;
  dir: string;
  disks: LibvirtDiskMode;
  nat: 'network' | 'user';
}

/** One qemu-img convert of the export: a disk, or one layer of its chain. */
interface CopyJob {
  source: string;
  sourceFormat: string;
  target: string;
  backing?: { file: string; format: string };
  size: number;
}

export class LibvirtExporter {
  private aliases: Promise<Map<string, string>> | null = null;

  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly tasks: TaskManager,
  ) {}

  async start(req: ExportRequest): Promise<TaskInfo> {
    const vm = this.registry.resolve(req.vm);
    await vm.safeRefresh();
    this.assertOff(vm);
    const layout = exportLayout(vm.config, req.dir);
    if (await fileExists(layout.xml)) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${layout.xml} already exists: choose another folder, or remove the earlier export first.`,
      );
    }
    const host = await this.host.get();
    const img = requireQemuImg(host);
    const machineType = await this.machineType(requireQemuBinary(host), vm.config.machine);
    return this.tasks.start({
      kind: 'vm.exportLibvirt',
      title: `Export ${vm.config.name} to libvirt`,
      vmId: vm.config.id,
      cancellable: true,
      run: (ctx) =>
        vm.supervisor.serialize(async () => {
          this.assertOff(vm);
          return this.exportNow(vm, req, img, machineType, ctx);
        }),
    });
  }

  private async exportNow(
    vm: Vm,
    req: ExportRequest,
    img: string,
    machineType: string,
    ctx: TaskContext,
  ): Promise<LibvirtExportResult> {
    const config = vm.config;
    const layout = exportLayout(config, req.dir);
    const host = await this.host.get();
    const loader =
      config.firmware !== 'uefi'
        ? null
        : config.secureBoot
          ? requireSecureBootFirmware(host).code
          : host.firmware.ovmfCode;
    if (config.firmware === 'uefi' && !loader) {
      throw new VivariumError(
        'QEMU_MISSING',
        'UEFI firmware (OVMF) was not found: install it (Debian/Ubuntu: sudo apt install ovmf).',
      );
    }
    const domain = buildDomainXml(config, {
      machineType,
      diskPaths: layout.disks,
      seedPath: layout.seed,
      loader,
      nvram: layout.nvram,
      natAs: req.nat,
    });
    const written: string[] = [];
    // libvirt runs QEMU as its own user (Debian: libvirt-qemu) and hands it each file by owner
    // (dynamic_ownership): the folder must let that user through, though not list it.
    const made = await mkdir(req.dir, { recursive: true });
    if (made !== undefined) await chmod(req.dir, 0o711);
    try {
      const jobs = await this.copyJobs(config, vm, layout.disks, req.disks, img);
      const total = jobs.reduce((n, j) => n + j.size, 0);
      ctx.report({ bytesTotal: total, bytesDone: 0, message: 'Copying the disks' });
      let done = 0;
      for (const job of jobs) {
        written.push(job.target);
        await convertImage(img, {
          source: job.source,
          sourceFormat: job.sourceFormat,
          target: job.target,
          targetFormat: 'qcow2',
          ...(job.backing ? { backing: job.backing } : {}),
          signal: ctx.signal,
          onProgress: (f) => ctx.report({ bytesDone: done + Math.round(f * job.size) }),
        });
        done += job.size;
      }
      if (layout.seed && config.cloudInit) {
        ctx.report({ message: 'Copying the cloud-init seed' });
        written.push(layout.seed);
        await cp(diskPath(vm.files.dir, { file: config.cloudInit.seed }), layout.seed);
      }
      if (layout.nvram) {
        ctx.report({ message: 'Writing the UEFI variables' });
        written.push(layout.nvram);
        // libvirt 9.0 reads only raw variable stores; Vivarium keeps them as qcow2 (snapshots).
        await convertImage(img, {
          source: vm.files.nvram,
          sourceFormat: 'qcow2',
          target: layout.nvram,
          targetFormat: 'raw',
          signal: ctx.signal,
        });
      }
      if (layout.tpm && (await fileExists(vm.files.tpmStateDir))) {
        ctx.report({ message: 'Copying the TPM state' });
        written.push(layout.tpm);
        // libvirt keeps swtpm's state in /var/lib/libvirt/swtpm/UUID/tpm2: the same layout here.
        await cp(vm.files.tpmStateDir, join(layout.tpm, 'tpm2'), {
          recursive: true,
          filter: (src) => !basename(src).endsWith('.lock'),
        });
      }
      written.push(layout.xml);
      await writeFileAtomic(layout.xml, domain.xml, false);
    } catch (err) {
      for (const file of written.reverse()) await rm(file, { recursive: true, force: true });
      throw err;
    }
    const tpmState = layout.tpm && (await fileExists(layout.tpm)) ? layout.tpm : null;
    return {
      name: domain.name,
      uuid: domain.uuid,
      xmlFile: layout.xml,
      files: written,
      unmapped: domain.unmapped,
      note: exportNote({
        dir: req.dir,
        xmlFile: layout.xml,
        name: domain.name,
        uuid: domain.uuid,
        tpmState,
        nat: req.nat,
        hasNetworkCard: config.nics.some((n) => n.attach.kind === 'nat'),
      }),
    };
  }

  /**
   * What to convert, bottom layer first. Flatten: one job per disk. Carry: one per layer of each
   * disk's chain, each written on the layer below it by its name in the export folder.
   */
  private async copyJobs(
    config: VmConfig,
    vm: Vm,
    targets: string[],
    mode: LibvirtDiskMode,
    img: string,
  ): Promise<CopyJob[]> {
    const jobs: CopyJob[] = [];
    for (const [i, disk] of config.disks.entries()) {
      const source = diskPath(vm.files.dir, disk);
      const target = targets[i] ?? '';
      if (!(await fileExists(source))) {
        throw new VivariumError(
          'NOT_FOUND',
          `Disk ${disk.id} of "${config.name}" (${source}) is missing: restore it or remove the disk, then export again.`,
        );
      }
      const chain = await imageChain(img, source, { format: disk.format });
      const size = Math.max(1, chain[0]?.virtualSize ?? (await stat(source)).size);
      if (mode === 'flatten' || chain.length === 1) {
        jobs.push({ source, sourceFormat: disk.format, target, size });
        continue;
      }
      // chain[0] is the disk itself, chain[n] its deepest base.
      const names = chain.map((_, n) =>
        n === 0 ? target : target.replace(/\.qcow2$/, `.base${chain.length - n}.qcow2`),
      );
      for (let n = chain.length - 1; n >= 0; n--) {
        const layer = chain[n];
        if (!layer) continue;
        const below = names[n + 1];
        jobs.push({
          source: layer.filename,
          sourceFormat: layer.format,
          target: names[n] ?? target,
          ...(below ? { backing: { file: basename(below), format: 'qcow2' } } : {}),
          size: Math.max(1, layer.actualSize ?? layer.virtualSize),
        });
      }
    }
    return jobs;
  }

  private assertOff(vm: Vm): void {
    if (vm.config.arch !== 'x86_64') {
      // The domain written here is a PC's (q35/i440FX, OVMF, SATA/IDE): an ARM, POWER, IBM Z or
      // RISC-V guest would be described wrongly, so it is refused rather than half-exported.
      throw new VivariumError(
        'INVALID_REQUEST',
        `"${vm.config.name}" runs on ${label('arch', vm.config.arch)}: export to libvirt covers x86-64 VMs. Copy its disks and define the domain with virt-install --import --arch ${vm.config.arch} instead.`,
      );
    }
    const state = vm.supervisor.current.state;
    if (isSaved(state)) throw new VivariumError('BAD_STATE', savedRefusalMessage('export'));
    if (isLive(state)) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${state}: shut it down to export it (a running guest's disks are not consistent).`,
      );
    }
  }

  private async machineType(binary: string, alias: string): Promise<string> {
    this.aliases ??= runProgram(binary, ['-machine', 'help'], { timeoutMs: 10_000 }).then((r) =>
      machineAliases(r.stdout),
    );
    return (await this.aliases).get(alias) ?? alias;
  }
}
