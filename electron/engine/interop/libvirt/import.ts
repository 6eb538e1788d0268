/**
 * A libvirt domain in as a Vivarium VM: its XML read (domain-import.ts), every file it names
 * checked before anything is made, the disks copied into the VM's folder (or referenced where
 * they are, as the user chooses), its UEFI variables carried, and the VM added to the library.
 * A refusal or a failure leaves nothing behind.
 */
import { access, constants, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONFIG_VERSION,
  VmConfigSchema,
  VmNameSchema,
  type LibvirtImportDiskMode,
  type LibvirtImportResult,
  type TaskInfo,
  type VmConfig,
} from '../../../../common/contract';
import { libvirtNameProblem } from '../../../../common/rules/libvirt';
import { firstIssueMessage } from '../../../../common/validation';
import { VivariumError } from '../../errors';
import type { HostService } from '../../host/host-service';
import { requireQemuImg } from '../../host/require';
import type { IntentJournal } from '../../library/intents';
import type { VmRegistry } from '../../library/registry';
import { newMac, usedMacs } from '../../network/mac';
import { convertImage, imageInfo } from '../../storage/qemu-img';
import type { TaskContext, TaskManager } from '../../tasks/task-manager';
import { readDomainXml, type DomainImport } from './domain-import';

export interface ImportRequest {
  xml: string;
  disks: LibvirtImportDiskMode;
  name?: string | undefined;
}

export class LibvirtImporter {
  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly tasks: TaskManager,
    private readonly journal: IntentJournal,
  ) {}

  /** Reads and checks the domain at once (a refusal is the call's error), then imports as a task. */
  async start(req: ImportRequest): Promise<TaskInfo> {
    const domain = readDomainXml(req.xml);
    const given = req.name ?? domain.name;
    // The same checks as vm.create's, and libvirt's own (the name goes back out on export).
    const named = VmNameSchema.safeParse(given);
    const problem = libvirtNameProblem(given);
    if (!named.success || problem) {
      const why = problem ?? `cannot be used (${firstIssueMessage(named.error?.issues ?? [])})`;
      throw new VivariumError(
        'INVALID_REQUEST',
        `The domain's name "${given}" ${why}: import it with another name (--name).`,
      );
    }
    const name = named.data;
    this.registry.assertNameFree(name);
    await this.checkFiles(domain);
    const img = requireQemuImg(await this.host.get());
    return this.tasks.start({
      kind: 'vm.importLibvirt',
      title: `Import ${name} from libvirt`,
      cancellable: true,
      run: (ctx) => this.importNow(domain, name, req.disks, img, ctx),
    });
  }

  private async checkFiles(domain: DomainImport): Promise<void> {
    const files = [
      ...domain.disks.map((d, i) => [`Disk ${i + 1}`, d.source] as const),
      ...(domain.nvram ? [['The UEFI variable store', domain.nvram] as const] : []),
    ];
    for (const [what, file] of files) {
      try {
        await access(file, constants.R_OK);
      } catch {
        throw new VivariumError(
          'NOT_FOUND',
          `${what} of the domain, ${file}, is missing or unreadable: copy it to that path (or fix the path in the XML) and import again.`,
        );
      }
    }
  }

  private async importNow(
    domain: DomainImport,
    name: string,
    mode: LibvirtImportDiskMode,
    img: string,
    ctx: TaskContext,
  ): Promise<LibvirtImportResult> {
    this.registry.assertNameFree(name);
    const { id, files } = this.registry.newVmFiles();
    const intent = await this.journal.begin('vm.clone', {
      vmIds: [id],
      paths: [files.dir],
      data: { vmId: id, dir: files.dir, name, what: `Importing "${name}" from libvirt` },
    });
    try {
      await intent.step('folder');
      await mkdir(files.logsDir, { recursive: true, mode: 0o700 });
      await intent.step('copy');
      const sizes = await Promise.all(
        domain.disks.map(async (d) =>
          Math.max(1, (await imageInfo(img, d.source, { format: d.format })).virtualSize),
        ),
      );
      const total = mode === 'copy' ? sizes.reduce((a, b) => a + b, 0) : 0;
      ctx.report({ bytesTotal: total, bytesDone: 0, message: 'Copying the disks' });
      let done = 0;
      const disks: VmConfig['disks'] = [];
      for (const [i, d] of domain.disks.entries()) {
        const diskId = `disk${i}`;
        if (mode === 'reference') {
          disks.push({
            id: diskId,
            file: d.source,
            format: d.format,
            bus: d.bus,
            cache: d.cache,
            readOnly: d.readOnly,
          });
          continue;
        }
        // A copy is a qcow2 (thin, and snapshots work), whatever the domain's disk was.
        const file = `${diskId}.qcow2`;
        const size = sizes[i] ?? 1;
        await convertImage(img, {
          source: d.source,
          sourceFormat: d.format,
          target: join(files.dir, file),
          targetFormat: 'qcow2',
          signal: ctx.signal,
          onProgress: (f) => ctx.report({ bytesDone: done + Math.round(f * size) }),
        });
        done += size;
        disks.push({
          id: diskId,
          file,
          format: 'qcow2',
          bus: d.bus,
          cache: d.cache,
          readOnly: d.readOnly,
        });
      }
      await intent.step('nvram');
      if (domain.firmware === 'uefi' && domain.nvram) {
        // Vivarium keeps the variables as qcow2 so that snapshots include them.
        await convertImage(img, {
          source: domain.nvram,
          sourceFormat: 'raw',
          target: files.nvram,
          targetFormat: 'qcow2',
          signal: ctx.signal,
        });
      }
      await intent.step('config');
      const config = this.configOf(domain, id, name, disks);
      const summary = (await this.registry.add(config, files)).summary();
      await intent.end();
      return { vm: summary, unmapped: domain.unmapped };
    } catch (err) {
      await rm(files.dir, { recursive: true, force: true });
      await intent.discard();
      throw err;
    }
  }

  private configOf(
    domain: DomainImport,
    id: string,
    name: string,
    disks: VmConfig['disks'],
  ): VmConfig {
    const macs = usedMacs(this.registry.list().map((vm) => vm.config));
    // A MAC already used by a VM here (the domain still runs elsewhere, say) gets a new one.
    const nics = domain.nics.map((n) => {
      const mac = n.mac && !macs.has(n.mac.toLowerCase()) ? n.mac : newMac(macs);
      macs.add(mac.toLowerCase());
      return { ...n, mac };
    });
    const parsed = VmConfigSchema.safeParse({
      configVersion: CONFIG_VERSION,
      id,
      name,
      os: domain.os ?? 'generic',
      notes: domain.notes,
      createdAt: new Date().toISOString(),
      machine: domain.machine,
      firmware: domain.firmware,
      secureBoot: domain.secureBoot,
      cpu: domain.cpu,
      memoryMiB: domain.memoryMiB,
      accel: domain.accel,
      disks,
      cdrom: domain.cdrom,
      bootOrder: domain.bootOrder,
      kernelBoot: domain.kernelBoot,
      nics,
      video: domain.video,
      sound: domain.sound,
      usbTablet: domain.usbTablet,
      usb: domain.usb,
      tpm: domain.tpm,
      balloon: domain.balloon,
      guestAgent: domain.guestAgent,
      clipboard: domain.clipboard,
      shares: domain.shares,
    });
    if (!parsed.success) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The domain does not make a valid VM: ${firstIssueMessage(parsed.error.issues)}.`,
      );
    }
    return parsed.data;
  }
}
