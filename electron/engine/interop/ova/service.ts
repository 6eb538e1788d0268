/**
 * Appliances in and out. Import: the package is read and checked whole (package.ts, manifest.ts)
 * before anything is written, its hardware mapped (ovf-map.ts), then the VM is made like any
 * create, under a `vm.create` intent: the OVA's disks are copied out into a folder inside the new
 * VM's own folder and converted to qcow2 there, so a failure, a cancel or a kill at any point
 * leaves nothing (the folder goes with the failed create, or with its recovery at the next open).
 * Export: a stopped VM's disks as stream-optimized VMDKs, the envelope (ovf-write.ts) and a
 * SHA-256 manifest, tarred with the descriptor first and renamed into place when complete.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { create as createTar } from 'tar';
import {
  CONFIG_VERSION,
  VmConfigSchema,
  type ApplianceExport,
  type ApplianceSummary,
  type TaskInfo,
  type VmConfig,
  type VmSummary,
} from '../../../../common/contract';
import { balloonDriver } from '../../../../common/rules/balloon';
import { isLive, isSaved } from '../../../../common/vm-state';
import type { CatalogService } from '../../catalog/service';
import { VivariumError } from '../../errors';
import type { HostService } from '../../host/host-service';
import { requireQemuImg } from '../../host/require';
import type { IntentJournal } from '../../library/intents';
import type { VmRegistry } from '../../library/registry';
import { newMac, usedMacs } from '../../network/mac';
import { diskPath } from '../../qemu/args';
import { importProblem } from '../../storage/import-checks';
import {
  convertImage,
  createNvram,
  imageChain,
  imageInfo,
  resizeImage,
} from '../../storage/qemu-img';
import type { TaskContext, TaskManager } from '../../tasks/task-manager';
import { OVMF_MISSING } from '../../vms/uefi-vars';
import { buildManifest, parseManifest, verifyManifest } from './manifest';
import { mapAppliance, type MappedAppliance } from './ovf-map';
import { parseOvf } from './ovf-parse';
import { buildOvf } from './ovf-write';
import { osTypeForEntry } from './os-types';
import { extractMembers, scanOva, scanOvfFolder, type PackageScan } from './package';
import { label } from '../../../../common/labels';

/** The folder inside a new VM's folder where an OVA's disks wait to be converted. */
export const APPLIANCE_WORK_DIR = 'appliance.tmp';

interface ReadAppliance {
  summary: ApplianceSummary;
  scan: PackageScan;
  mapped: MappedAppliance;
}

export class ApplianceService {
  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly catalog: CatalogService,
    private readonly tasks: TaskManager,
    private readonly journal: IntentJournal,
    /** Whether new VMs reach the internet (VIVARIUM_GUEST_INTERNET=0: no). */
    private readonly newVmInternet = true,
  ) {}

  async inspect(file: string): Promise<ApplianceSummary> {
    return (await this.read(file)).summary;
  }

  /** Reads and checks the whole package; writes nothing. */
  private async read(file: string, signal?: AbortSignal): Promise<ReadAppliance> {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) {
      throw new VivariumError('FILE_NOT_FOUND', `${file} does not exist (or is not a file).`, {
        file: 'No such file',
      });
    }
    const ext = extname(file).toLowerCase();
    let scan: PackageScan;
    if (ext === '.ova') scan = await scanOva(file, signal);
    else if (ext === '.ovf') {
      scan = await scanOvfFolder(file, (text) => parseOvf(text).files.map((f) => f.href), signal);
    } else {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${basename(file)} is not an appliance: import an .ova file, or an .ovf with its disks beside it.`,
      );
    }
    const env = parseOvf(scan.ovf.text);
    const referenced = env.files.map((f) => f.href);
    for (const href of referenced) {
      if (!scan.files.has(href)) {
        throw new VivariumError(
          'INVALID_REQUEST',
          `The appliance references ${href}, which ${scan.kind === 'ova' ? 'the archive does not contain' : 'is not beside the .ovf'}: it is incomplete.`,
        );
      }
    }
    const verifiedWith = scan.manifest
      ? verifyManifest(
          parseManifest(scan.manifest.text, scan.manifest.name),
          scan.manifest.name,
          scan.files,
          [scan.ovf.name, ...referenced],
        )
      : null;
    const mapped = mapAppliance(env);
    const host = await this.host.get();
    const notMapped = [...mapped.notMapped];
    if (!scan.manifest) {
      notMapped.unshift('The package has no manifest: its files could not be checked for damage.');
    }
    let { cpus, memoryMiB } = mapped;
    if (cpus > host.cpus) {
      notMapped.push(`${cpus} CPUs: this computer has ${host.cpus}, so the VM gets ${host.cpus}.`);
      cpus = host.cpus;
    }
    const memoryCap = Math.floor(host.totalMemoryMiB * 0.75);
    if (memoryMiB > memoryCap) {
      notMapped.push(
        `${memoryMiB} MiB of memory: this computer has ${host.totalMemoryMiB} MiB, so the VM gets ${memoryCap} MiB.`,
      );
      memoryMiB = memoryCap;
    }
    const entry = await this.catalog
      .resolve(mapped.os.entry)
      .then((r) => r.entry)
      .catch(() => null);
    const summary: ApplianceSummary = {
      file,
      kind: scan.kind,
      producer: mapped.producer,
      name: this.freeName(mapped.name),
      os: {
        source: mapped.os.source,
        entry: entry?.id ?? 'generic',
        entryName: entry?.name ?? 'Other',
      },
      cpus,
      memoryMiB,
      machine: mapped.machine,
      firmware: mapped.firmware,
      disks: mapped.disks,
      nics: mapped.nics,
      sound: mapped.sound,
      notMapped,
      verifiedWith,
    };
    return { summary, scan, mapped };
  }

  /** The appliance's own name, or the first "NAME (n)" no VM has. */
  private freeName(name: string): string {
    const base = name.trim().slice(0, 70) || 'Appliance';
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base : `${base} (${n})`;
      try {
        this.registry.assertNameFree(candidate);
        return candidate;
      } catch {
        // Taken: try the next.
      }
    }
  }

  import(file: string, name: string | undefined): Promise<TaskInfo> {
    if (name !== undefined) this.registry.assertNameFree(name);
    return Promise.resolve(
      this.tasks.start({
        kind: 'appliance.import',
        title: `Import ${basename(file)}`,
        cancellable: true,
        run: (ctx) => this.importRun(file, name, ctx),
      }),
    );
  }

  private async importRun(
    file: string,
    askedName: string | undefined,
    ctx: TaskContext,
  ): Promise<VmSummary> {
    ctx.report({ message: `Checking ${basename(file)}` });
    const { summary, scan } = await this.read(file, ctx.signal);
    const name = askedName ?? summary.name;
    this.registry.assertNameFree(name);
    const host = await this.host.get();
    const img = requireQemuImg(host);
    if (summary.firmware === 'uefi' && (!host.firmware.ovmfCode || !host.firmware.ovmfVars)) {
      throw new VivariumError('QEMU_MISSING', OVMF_MISSING);
    }
    const entry = await this.catalog
      .resolve(summary.os.entry)
      .then((r) => r.entry)
      .catch(() => null);
    const family = entry?.family ?? null;
    const { id, files } = this.registry.newVmFiles();
    const used = usedMacs(this.registry.list().map((vm) => vm.config));
    const nics = summary.nics.map((n) => {
      const mac = newMac(used);
      used.add(mac);
      return {
        model: n.model,
        mac,
        attach: { kind: 'nat' as const, forwards: [], internet: this.newVmInternet },
      };
    });
    const config: VmConfig = VmConfigSchema.parse({
      configVersion: CONFIG_VERSION,
      id,
      name,
      os: summary.os.entry,
      notes: `Imported from ${basename(file)}.`,
      createdAt: new Date().toISOString(),
      machine: summary.machine,
      firmware: summary.firmware,
      cpu: { model: 'max', count: summary.cpus },
      memoryMiB: summary.memoryMiB,
      disks: summary.disks.map((d, i) => ({
        id: `disk${i}`,
        file: `disk${i}.qcow2`,
        format: 'qcow2',
        bus: d.bus,
        readOnly: false,
      })),
      cdrom: null,
      bootOrder: ['disk', 'cdrom'],
      nics,
      video: entry?.profile.video ?? 'std',
      usbTablet: entry ? entry.profile.input === 'usb-tablet' : true,
      sound: summary.sound,
      guestAgent: family === 'linux' || family === 'bsd',
      balloon: balloonDriver(family) !== 'none',
      extraArgs: [],
    });

    const work = join(files.dir, APPLIANCE_WORK_DIR);
    const copyBytes =
      scan.kind === 'ova'
        ? summary.disks.reduce((n, d) => n + (scan.files.get(d.file)?.size ?? 0), 0)
        : 0;
    const convertBytes = summary.disks.reduce((n, d) => n + d.capacityBytes, 0);
    const total = copyBytes + convertBytes;
    ctx.report({ bytesTotal: total, bytesDone: 0 });
    const intent = await this.journal.begin('vm.create', {
      vmIds: [id],
      paths: [files.dir],
      data: { vmId: id, dir: files.dir, name, what: `Importing "${name}" from ${basename(file)}` },
    });
    try {
      await intent.step('folder');
      await mkdir(files.logsDir, { recursive: true, mode: 0o700 });
      await intent.step('disk');
      let sourceDir = scan.source;
      if (scan.kind === 'ova') {
        await mkdir(work, { recursive: true, mode: 0o700 });
        ctx.report({ message: 'Unpacking the disks' });
        const wanted = new Map(
          summary.disks.map((d) => [d.file, scan.files.get(d.file)?.SHA256 ?? '']),
        );
        await extractMembers(
          file,
          work,
          wanted,
          (done) => ctx.report({ bytesDone: done }),
          ctx.signal,
        );
        sourceDir = work;
      }
      let converted = 0;
      for (const [i, disk] of summary.disks.entries()) {
        const source = join(sourceDir, disk.file);
        const chain = await imageChain(img, source, { shared: scan.kind === 'ovf' });
        const problem = importProblem(chain, dirname(await realpath(source)));
        if (problem) throw new VivariumError('INVALID_REQUEST', `${disk.file}: ${problem}`);
        const top = chain[0];
        if (!top)
          throw new VivariumError('INVALID_REQUEST', `qemu-img could not read ${disk.file}.`);
        const declared = declaredFormat(disk.format);
        if (declared && top.format !== declared) {
          throw new VivariumError(
            'INVALID_REQUEST',
            `${disk.file} is declared a ${declared.toUpperCase()} disk but reads as ${top.format}: the appliance is damaged.`,
          );
        }
        ctx.report({
          message: `Converting ${disk.file} to qcow2 (${i + 1} of ${summary.disks.length})`,
        });
        const target = join(files.dir, `disk${i}.qcow2`);
        const size = Math.max(top.virtualSize, disk.capacityBytes);
        const before = copyBytes + converted;
        await convertImage(img, {
          source,
          sourceFormat: top.format,
          target,
          targetFormat: 'qcow2',
          signal: ctx.signal,
          onProgress: (f) => ctx.report({ bytesDone: before + Math.round(f * disk.capacityBytes) }),
        });
        // The envelope's capacity is what the guest was given; a smaller image is grown to it.
        if (size > top.virtualSize) await resizeImage(img, target, 'qcow2', size, false);
        converted += disk.capacityBytes;
        if (scan.kind === 'ova') await rm(source, { force: true });
      }
      await rm(work, { recursive: true, force: true });
      await intent.step('nvram');
      if (config.firmware === 'uefi' && host.firmware.ovmfVars) {
        await createNvram(img, host.firmware.ovmfVars, files.nvram);
      }
      await intent.step('config');
      const vm = (await this.registry.add(config, files)).summary();
      await intent.end();
      ctx.report({ message: `Imported as "${name}"` });
      return vm;
    } catch (err) {
      await rm(files.dir, { recursive: true, force: true });
      await intent.discard();
      throw err;
    }
  }

  async export(ref: string, file: string): Promise<TaskInfo> {
    const vm = this.registry.resolve(ref);
    const runtime = await vm.supervisor.refresh().catch(() => vm.supervisor.current);
    if (isLive(runtime.state) || isSaved(runtime.state)) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${runtime.state}: shut it down first (its disks change while it runs, and a saved VM's memory cannot go into an OVA).`,
      );
    }
    if (vm.config.disks.length === 0) {
      throw new VivariumError('INVALID_REQUEST', `"${vm.config.name}" has no disk to export.`);
    }
    if (vm.config.arch !== 'x86_64') {
      // OVF's VirtualHardwareSection as VirtualBox and VMware read it describes a PC.
      throw new VivariumError(
        'INVALID_REQUEST',
        `"${vm.config.name}" runs on ${label('arch', vm.config.arch)}: an OVA carries x86-64 VMs. Export its disks with qemu-img convert instead.`,
      );
    }
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    ) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${file} exists: choose another name or delete it first.`,
        {
          file: 'Exists',
        },
      );
    }
    const folder = await stat(dirname(file)).catch(() => null);
    if (!folder?.isDirectory()) {
      throw new VivariumError('FILE_NOT_FOUND', `The folder ${dirname(file)} does not exist.`);
    }
    const img = requireQemuImg(await this.host.get());
    return this.tasks.start({
      kind: 'appliance.export',
      title: `Export ${vm.config.name} to ${basename(file)}`,
      vmId: vm.config.id,
      cancellable: true,
      run: (ctx) =>
        vm.supervisor.serialize(() => this.exportRun(vm.config, vm.files.dir, file, img, ctx)),
    });
  }

  private async exportRun(
    config: VmConfig,
    vmDir: string,
    file: string,
    img: string,
    ctx: TaskContext,
  ): Promise<ApplianceExport> {
    const parts = `${file}.parts-${process.pid}`;
    const partial = `${file}.tmp-${process.pid}`;
    const stem = basename(file).replace(/\.ova$/i, '') || 'vm';
    try {
      await mkdir(parts, { mode: 0o700 });
      const infos = await Promise.all(
        config.disks.map((d) => imageInfo(img, diskPath(vmDir, d), { format: d.format })),
      );
      const total = infos.reduce((n, i) => n + i.virtualSize, 0);
      ctx.report({ bytesTotal: total, bytesDone: 0 });
      let done = 0;
      const disks = [];
      for (const [i, disk] of config.disks.entries()) {
        const info = infos[i];
        if (!info) continue;
        const href = `${stem}-disk${String(i + 1).padStart(3, '0')}.vmdk`;
        ctx.report({ message: `Writing ${href}` });
        const before = done;
        await convertImage(img, {
          source: diskPath(vmDir, disk),
          sourceFormat: disk.format,
          target: join(parts, href),
          targetFormat: 'vmdk',
          targetOptions: 'subformat=streamOptimized',
          signal: ctx.signal,
          onProgress: (f) => ctx.report({ bytesDone: before + Math.round(f * info.virtualSize) }),
        });
        done += info.virtualSize;
        const fileBytes = (await stat(join(parts, href))).size;
        disks.push({ href, fileBytes, capacityBytes: info.virtualSize });
      }
      const entry = await this.catalog
        .resolve(config.os)
        .then((r) => r.entry)
        .catch(() => null);
      const ovfName = `${stem}.ovf`;
      const ovf = buildOvf({
        config,
        disks,
        os: osTypeForEntry(entry?.id ?? config.os, entry?.family ?? null),
      });
      await writeFile(join(parts, ovfName), ovf, { mode: 0o600 });
      ctx.report({ message: 'Writing the manifest' });
      const hashed = [];
      for (const name of [ovfName, ...disks.map((d) => d.href)]) {
        hashed.push({ file: name, sha256: await sha256Of(join(parts, name)) });
      }
      const mfName = `${stem}.mf`;
      await writeFile(join(parts, mfName), buildManifest(hashed), { mode: 0o600 });
      ctx.report({ message: `Writing ${basename(file)}` });
      // DSP0243 §5.3: the descriptor first, then the manifest, then the files in References order.
      await createTar({ file: partial, cwd: parts, portable: true, noDirRecurse: true }, [
        ovfName,
        mfName,
        ...disks.map((d) => d.href),
      ]);
      await rename(partial, file);
      return { file, bytes: (await stat(file)).size, disks: disks.length };
    } finally {
      await rm(parts, { recursive: true, force: true });
      await rm(partial, { force: true });
    }
  }
}

/** The qemu-img format an OVF disk format URI names (vmdk.html#streamOptimized...), if any. */
function declaredFormat(uri: string): string | null {
  if (/vmdk/i.test(uri)) return 'vmdk';
  if (/vhdx/i.test(uri)) return 'vhdx';
  if (/vhd/i.test(uri)) return 'vpc';
  if (/qcow2?/i.test(uri)) return 'qcow2';
  if (/vdi/i.test(uri)) return 'vdi';
  return null;
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => hash.update(c))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
