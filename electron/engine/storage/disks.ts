/**
 * A VM's disks: list, add (new thin qcow2 or an existing image in place), detach/delete, resize
 * (VM off), import (a copy converted to qcow2, as a task with progress and cancel), and
 * integrity checks.
 */
import { access, realpath, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import {
  type DiskCheckReport,
  type DiskConfig,
  type DiskInfo,
  type TaskInfo,
  type VmConfig,
  type VmStorage,
  type VmSummary,
} from '../../../common/contract';
import {
  canAddDisk,
  canChangeDisk,
  canDetachDisk,
  canResizeDisk,
  freeHotplugPort,
  hotplugProblem,
  MAX_DISKS,
  type DiskVerdict,
} from '../../../common/rules/disks';
import { savedRefusalMessage } from '../../../common/rules/vm-settings';
import { isLive, isSaved } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { HostService } from '../host/host-service';
import { requireQemuImg } from '../host/require';
import type { Intent, IntentJournal } from '../library/intents';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { diskPath } from '../qemu/args';
import { plugDisk, unplugDisk } from './hotplug';
import { describeLinks } from '../library/clone-links';
import type { DiskResizeData, NewDiskData } from './disk-recovery';
import { importProblem, IMPORT_FORMATS } from './import-checks';
import {
  checkImage,
  convertImage,
  createQcow2,
  imageChain,
  imageInfo,
  parseSize,
  resizeImage,
  type ImageInfo,
} from './qemu-img';
import type { TaskContext, TaskManager } from '../tasks/task-manager';

export class DiskService {
  /** Target files of imports under way (two imports at once must not pick the same name). */
  private readonly reserved = new Set<string>();

  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly tasks: TaskManager,
    private readonly journal: IntentJournal,
  ) {}

  async list(ref: string): Promise<VmStorage> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    const live = isLive(vm.supervisor.current.state);
    const img = await this.img().catch(() => null);
    const disks = await Promise.all(vm.config.disks.map((d) => this.diskInfo(vm, d, img, live)));
    const links = await describeLinks(this.registry, vm);
    return {
      vmId: vm.config.id,
      disks,
      nvram: vm.config.firmware === 'uefi' ? vm.files.nvram : null,
      ...links,
    };
  }

  async add(
    ref: string,
    req: {
      size?: string | undefined;
      file?: string | undefined;
      bus?: DiskConfig['bus'] | undefined;
      cache?: DiskConfig['cache'] | undefined;
      readOnly: boolean;
    },
  ): Promise<VmSummary> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      const bus = req.bus ?? defaultBus(vm);
      this.assertAllowed(canAddDisk(this.ruleVm(vm), bus));
      const img = await this.img();
      const id = nextDiskId(vm.config);
      const cache = req.cache ?? 'writeback';
      if (req.file) {
        const chain = await imageChain(img, req.file, { shared: true });
        const format = chain[0]?.format ?? '';
        if (format !== 'qcow2' && format !== 'raw') {
          throw new VivariumError(
            'INVALID_REQUEST',
            `${req.file} is a ${IMPORT_FORMATS.get(format) ?? format} image: import it instead (it is converted to qcow2).`,
          );
        }
        const problem = importProblem(chain, dirname(await realpath(req.file)));
        if (problem) throw new VivariumError('INVALID_REQUEST', problem);
        const disk: DiskConfig = { id, file: req.file, format, bus, cache, readOnly: req.readOnly };
        return this.attach(vm, disk);
      }
      const bytes = parseSize(req.size ?? '0');
      if (bytes < 1024 * 1024)
        throw new VivariumError('INVALID_REQUEST', 'A disk needs at least 1 MiB.', {
          size: 'At least 1M',
        });
      const file = await freeFileName(vm.files.dir, id, 'qcow2');
      const intent = await this.newFileIntent('disk.add', vm, file);
      const disk: DiskConfig = { id, file, format: 'qcow2', bus, cache, readOnly: req.readOnly };
      try {
        await intent.step('file');
        await createQcow2(img, join(vm.files.dir, file), bytes);
        await intent.step('config');
        const summary = await this.attach(vm, disk);
        await intent.end();
        return summary;
      } catch (err) {
        await rm(join(vm.files.dir, file), { force: true });
        await intent.discard();
        throw err;
      }
    });
  }

  async detach(ref: string, diskId: string, deleteFile: boolean): Promise<VmSummary> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      let disk = findDisk(vm.config, diskId);
      this.assertAllowed(canDetachDisk(this.ruleVm(vm), disk));
      // Unplugging waits for the guest (seconds): outside the config lock, which is for file work.
      if (isLive(vm.supervisor.current.state)) await unplugDisk(vm.supervisor, disk);
      const summary = await vm.update((c) => {
        disk = findDisk(c, diskId);
        return { ...c, disks: c.disks.filter((d) => d.id !== diskId) };
      });
      // Only images in the VM's folder are ours to delete; the user's own files stay.
      if (deleteFile && !isAbsolute(disk.file))
        await rm(diskPath(vm.files.dir, disk), { force: true });
      return summary;
    });
  }

  async resize(
    ref: string,
    diskId: string | undefined,
    size: string,
    shrink: boolean,
  ): Promise<DiskInfo> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      this.assertAllowed(canResizeDisk(this.ruleVm(vm), false));
      const live = isLive(vm.supervisor.current.state);
      const disk = diskId ? findDisk(vm.config, diskId) : vm.config.disks[0];
      if (!disk)
        throw new VivariumError('NOT_FOUND', `"${vm.config.name}" has no disk to resize: add one.`);
      const img = await this.img();
      const file = diskPath(vm.files.dir, disk);
      const info = await imageInfo(img, file, { format: disk.format, shared: live });
      const growth = size.trim().startsWith('+');
      const target = growth ? info.virtualSize + parseSize(size.trim().slice(1)) : parseSize(size);
      if (target < info.virtualSize && !shrink) {
        throw new VivariumError(
          'INVALID_REQUEST',
          `${size} is smaller than disk ${disk.id} (${mib(info.virtualSize)}): shrinking cuts off whatever the guest ` +
            'keeps at the end. Shrink its filesystems and partitions first, then resize with shrinking allowed (--shrink).',
          { size: 'Smaller than the disk' },
        );
      }
      if (target < info.virtualSize) this.assertAllowed(canResizeDisk(this.ruleVm(vm), true));
      if (target !== info.virtualSize && live) {
        if (disk.readOnly) {
          throw new VivariumError(
            'INVALID_REQUEST',
            `Disk ${disk.id} is read-only: shut the VM down to resize it.`,
          );
        }
        // QEMU grows the image and tells the guest's driver, which sees the new size at once.
        await vm.supervisor.command('block_resize', { 'node-name': disk.id, size: target });
      } else if (target !== info.virtualSize) {
        if (target <= 0)
          throw new VivariumError('INVALID_REQUEST', 'A disk cannot be resized to nothing.');
        const data: DiskResizeData = {
          vmName: vm.config.name,
          diskId: disk.id,
          file,
          format: disk.format,
          from: info.virtualSize,
          to: target,
        };
        const intent = await this.journal.begin('disk.resize', {
          vmIds: [vm.config.id],
          paths: [file],
          data,
        });
        await intent.step('resize');
        await resizeImage(img, file, disk.format, target, target < info.virtualSize);
        await intent.end();
      }
      return this.diskInfo(vm, disk, img, live);
    });
  }

  /** A disk's bus or cache mode (VM off). */
  async change(
    ref: string,
    diskId: string,
    req: { bus?: DiskConfig['bus'] | undefined; cache?: DiskConfig['cache'] | undefined },
  ): Promise<VmSummary> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      this.assertAllowed(canChangeDisk(this.ruleVm(vm)));
      return vm.update((c) => {
        const disk = findDisk(c, diskId);
        const others = c.disks.filter((d) => d.id !== diskId);
        const bus = req.bus ?? disk.bus;
        const { port: _old, ...rest } = disk;
        const changed: DiskConfig = {
          ...rest,
          bus,
          cache: req.cache ?? disk.cache,
          // The same bus keeps its place (a snapshot's devices load into the same layout).
          ...(bus === disk.bus
            ? disk.port === undefined
              ? {}
              : { port: disk.port }
            : placement(c.machine, others, bus, undefined)),
        };
        return { ...c, disks: c.disks.map((d) => (d.id === diskId ? changed : d)) };
      });
    });
  }

  async check(
    ref: string,
    diskId: string | undefined,
    repair: 'none' | 'leaks' | 'all',
  ): Promise<DiskCheckReport[]> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    const disks = diskId ? [findDisk(vm.config, diskId)] : vm.config.disks;
    const img = await this.img();
    const work = async (): Promise<DiskCheckReport[]> => {
      const live = isLive(vm.supervisor.current.state);
      if (isSaved(vm.supervisor.current.state) && repair !== 'none') {
        throw new VivariumError('BAD_STATE', savedRefusalMessage('disks'));
      }
      if (live && repair !== 'none') {
        throw new VivariumError(
          'BAD_STATE',
          `Shut "${vm.config.name}" down to repair its disks: QEMU is writing them.`,
        );
      }
      const reports: DiskCheckReport[] = [];
      for (const disk of disks) {
        const file = diskPath(vm.files.dir, disk);
        const result = await checkImage(img, file, disk.format, {
          shared: live,
          ...(repair !== 'none' ? { repair } : {}),
        });
        reports.push({
          disk: disk.id,
          file,
          status: result.status,
          corruptions: result.corruptions,
          leaks: result.leaks,
          checkErrors: result.checkErrors,
          repaired: result.corruptionsFixed + result.leaksFixed > 0,
          message: live
            ? `${result.message} (checked while the VM runs: a moment's view, may show changes in flight.)`
            : result.message,
        });
      }
      return reports;
    };
    // A repair writes the images: no start in between. A read-only check need not wait in line.
    return repair === 'none' ? work() : vm.supervisor.serialize(work);
  }

  async import(
    ref: string,
    file: string,
    bus: DiskConfig['bus'] | undefined,
    cache: DiskConfig['cache'] | undefined,
  ): Promise<TaskInfo> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    this.assertAllowed(canAddDisk(this.ruleVm(vm), bus ?? defaultBus(vm)));
    const img = await this.img();
    let chain;
    try {
      chain = await imageChain(img, file, { shared: true });
    } catch (err) {
      await access(file).catch(() => {
        throw new VivariumError('FILE_NOT_FOUND', `${file} does not exist.`, {
          file: 'No such file',
        });
      });
      throw err;
    }
    const problem = importProblem(chain, dirname(await realpath(file)));
    if (problem) throw new VivariumError('INVALID_REQUEST', problem, { file: problem });
    const source = chain[0];
    if (!source) throw new VivariumError('INVALID_REQUEST', `qemu-img could not read ${file}.`);
    const what = IMPORT_FORMATS.get(source.format) ?? source.format;
    return this.tasks.start({
      kind: 'disk.import',
      title: `Import ${what} disk into ${vm.config.name}`,
      vmId: vm.config.id,
      cancellable: true,
      run: async (ctx) => {
        let name = await freeFileName(vm.files.dir, nextDiskId(vm.config), 'qcow2');
        for (let n = 2; this.reserved.has(join(vm.files.dir, name)); n++) {
          name = await freeFileName(vm.files.dir, `import${n}`, 'qcow2');
        }
        const target = join(vm.files.dir, name);
        this.reserved.add(target);
        try {
          return await this.importInto(
            vm,
            { file, source, what, target, name, bus, cache, img },
            ctx,
          );
        } finally {
          this.reserved.delete(target);
        }
      },
    });
  }

  private async importInto(
    vm: Vm,
    job: {
      file: string;
      source: ImageInfo;
      what: string;
      target: string;
      name: string;
      bus: DiskConfig['bus'] | undefined;
      cache: DiskConfig['cache'] | undefined;
      img: string;
    },
    ctx: TaskContext,
  ): Promise<VmSummary> {
    const { file, source, what, target, name, bus, cache, img } = job;
    ctx.report({
      bytesTotal: source.virtualSize,
      bytesDone: 0,
      message: `Converting ${what} to qcow2`,
    });
    const intent = await this.newFileIntent('disk.import', vm, name);
    try {
      await intent.step('convert');
      await convertImage(img, {
        source: file,
        sourceFormat: source.format,
        target,
        targetFormat: 'qcow2',
        signal: ctx.signal,
        onProgress: (fraction) =>
          ctx.report({ bytesDone: Math.round(fraction * source.virtualSize) }),
      });
      await intent.step('config');
      const summary = await vm.supervisor.serialize(async () => {
        // The VM may have started or stopped during the conversion: the rule is asked again.
        const useBus = bus ?? defaultBus(vm);
        this.assertAllowed(canAddDisk(this.ruleVm(vm), useBus));
        const disk: DiskConfig = {
          id: nextDiskId(vm.config),
          file: name,
          format: 'qcow2',
          bus: useBus,
          cache: cache ?? 'writeback',
          readOnly: false,
        };
        return this.attach(vm, disk);
      });
      await intent.end();
      return summary;
    } catch (err) {
      await rm(target, { force: true });
      await intent.discard();
      throw err;
    }
  }

  /** The intent of an operation that makes a new disk file in the VM's folder, then attaches it. */
  private newFileIntent(
    op: 'disk.add' | 'disk.import',
    vm: Vm,
    file: string,
  ): Promise<Intent<'disk.add' | 'disk.import'>> {
    const data: NewDiskData = {
      vmId: vm.config.id,
      vmName: vm.config.name,
      dir: vm.files.dir,
      file,
    };
    return this.journal.begin(op, {
      vmIds: [vm.config.id],
      paths: [join(vm.files.dir, file)],
      data,
    });
  }

  // -------------------------------------------------------------------------------------------

  private async diskInfo(
    vm: Vm,
    disk: DiskConfig,
    img: string | null,
    live: boolean,
  ): Promise<DiskInfo> {
    const file = diskPath(vm.files.dir, disk);
    const base: DiskInfo = {
      id: disk.id,
      file,
      format: disk.format,
      bus: disk.bus,
      cache: disk.cache,
      readOnly: disk.readOnly,
      exists: await access(file).then(
        () => true,
        () => false,
      ),
      virtualSize: null,
      actualSize: null,
      backingFile: null,
      snapshotCount: 0,
    };
    if (!base.exists || !img) return base;
    try {
      const info = await imageInfo(img, file, { format: disk.format, shared: live });
      return {
        ...base,
        virtualSize: info.virtualSize,
        actualSize: info.actualSize,
        backingFile:
          info.fullBackingFilename ??
          (info.backingFilename ? resolve(dirname(file), info.backingFilename) : null),
        snapshotCount: info.snapshots.length,
      };
    } catch {
      return base;
    }
  }

  /**
   * Adds `disk` to the config as it is on disk now (its id and place are picked there: another
   * process may have added a disk since this engine looked). On a running VM it is plugged in
   * first, under the config lock, and written only once QEMU took it; a config that then cannot
   * be written unplugs it again.
   */
  private attach(vm: Vm, disk: DiskConfig): Promise<VmSummary> {
    let plugged: DiskConfig | null = null;
    return vm
      .update(async (c) => {
        const next = withDisk(disk)(c);
        if (isLive(vm.supervisor.current.state)) {
          const added = next.disks[next.disks.length - 1] as DiskConfig;
          const problem = hotplugProblem(c, added.bus);
          if (problem) throw new VivariumError('BAD_STATE', problem);
          if (added.bus === 'virtio' && added.port === undefined) {
            throw new VivariumError(
              'RESOURCE_LIMIT',
              'Every spare slot of this VM holds a disk: shut it down to add another.',
            );
          }
          await plugDisk(vm.supervisor, vm.files.dir, added);
          plugged = added;
        }
        return next;
      })
      .catch(async (err: unknown) => {
        if (plugged) await unplugDisk(vm.supervisor, plugged).catch(() => undefined);
        throw err;
      });
  }

  private ruleVm(vm: Vm) {
    return {
      machine: vm.config.machine,
      layout: vm.config.layout,
      disks: vm.config.disks,
      state: vm.supervisor.current.state,
    };
  }

  private assertAllowed(verdict: DiskVerdict): void {
    if (verdict.ok) return;
    const full = verdict.reason.startsWith('A VM has at most');
    throw new VivariumError(full ? 'RESOURCE_LIMIT' : 'BAD_STATE', verdict.reason);
  }

  private async img(): Promise<string> {
    return requireQemuImg(await this.host.get());
  }
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;
}

/**
 * Adds `disk` to the config as it is on disk now: its id is the next free one there (another
 * process may have added a disk since this engine looked), and the limit is checked there too.
 */
function withDisk(disk: DiskConfig): (c: VmConfig) => VmConfig {
  return (c) => {
    if (c.disks.length >= MAX_DISKS) {
      throw new VivariumError(
        'RESOURCE_LIMIT',
        `A VM has at most ${MAX_DISKS} disks: detach one first.`,
      );
    }
    const placed = { ...disk, ...placement(c.machine, c.disks, disk.bus, undefined) };
    return { ...c, disks: [...c.disks, { ...placed, id: nextDiskId(c) }] };
  };
}

/**
 * Where a disk of `bus` sits: a spare root port for virtio on q35 (so it can be unplugged while
 * the VM runs), a fixed target for SCSI (the same at every start); `keep` when it has one.
 */
function placement(
  machine: VmConfig['machine'],
  others: readonly DiskConfig[],
  bus: DiskConfig['bus'],
  keep: number | undefined,
): { port?: number } {
  if (keep !== undefined) return { port: keep };
  if (bus === 'scsi' || (bus === 'virtio' && machine === 'q35')) {
    const port = freeHotplugPort(others, bus);
    if (port !== null) return { port };
  }
  return {};
}

function findDisk(config: VmConfig, id: string): DiskConfig {
  const disk = config.disks.find((d) => d.id === id);
  if (!disk) {
    const known = config.disks.map((d) => d.id).join(', ') || 'none';
    throw new VivariumError(
      'NOT_FOUND',
      `"${config.name}" has no disk ${id} (its disks: ${known}).`,
    );
  }
  return disk;
}

/** The lowest free diskN id. */
export function nextDiskId(config: VmConfig): string {
  const taken = new Set(config.disks.map((d) => d.id));
  for (let n = 0; ; n++) if (!taken.has(`disk${n}`)) return `disk${n}`;
}

/**
 * The bus of the VM's first disk (its guest has the driver), or virtio; on a running VM one that
 * can be plugged in live.
 */
function defaultBus(vm: Vm): DiskConfig['bus'] {
  const bus = vm.config.disks[0]?.bus ?? 'virtio';
  if (isLive(vm.supervisor.current.state) && hotplugProblem(vm.config, bus)) return 'virtio';
  return bus;
}

/** `<id>.<ext>` in the VM's folder, or `<id>-2.<ext>`... when a leftover file has the name. */
async function freeFileName(dir: string, id: string, ext: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = n === 1 ? `${id}.${ext}` : `${id}-${n}.${ext}`;
    const used = await access(join(dir, name)).then(
      () => true,
      () => false,
    );
    if (!used) return name;
  }
}
