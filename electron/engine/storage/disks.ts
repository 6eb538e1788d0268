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
import { savedRefusalMessage } from '../../../common/rules/vm-settings';
import { isLive, isSaved } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { HostService } from '../host/host-service';
import { requireQemuImg } from '../host/require';
import type { Intent, IntentJournal } from '../library/intents';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { diskPath } from '../qemu/args';
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

const MAX_DISKS = 8;

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
      readOnly: boolean;
    },
  ): Promise<VmSummary> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    return vm.supervisor.serialize(async () => {
      this.assertOff(vm, 'add a disk');
      this.assertRoom(vm);
      const img = await this.img();
      const id = nextDiskId(vm.config);
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
        const disk = {
          id,
          file: req.file,
          format,
          bus: req.bus ?? defaultBus(vm.config),
          readOnly: req.readOnly,
        } as const;
        return vm.update(withDisk(disk));
      }
      const bytes = parseSize(req.size ?? '0');
      if (bytes < 1024 * 1024)
        throw new VivariumError('INVALID_REQUEST', 'A disk needs at least 1 MiB.', {
          size: 'At least 1M',
        });
      const file = await freeFileName(vm.files.dir, id, 'qcow2');
      const intent = await this.newFileIntent('disk.add', vm, file);
      const disk: DiskConfig = {
        id,
        file,
        format: 'qcow2',
        bus: req.bus ?? defaultBus(vm.config),
        readOnly: req.readOnly,
      };
      try {
        await intent.step('file');
        await createQcow2(img, join(vm.files.dir, file), bytes);
        await intent.step('config');
        const summary = await vm.update(withDisk(disk));
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
      this.assertOff(vm, 'detach a disk');
      let disk = findDisk(vm.config, diskId);
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
      this.assertOff(vm, 'resize a disk');
      const disk = diskId ? findDisk(vm.config, diskId) : vm.config.disks[0];
      if (!disk)
        throw new VivariumError('NOT_FOUND', `"${vm.config.name}" has no disk to resize: add one.`);
      const img = await this.img();
      const file = diskPath(vm.files.dir, disk);
      const info = await imageInfo(img, file, { format: disk.format });
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
      if (target !== info.virtualSize) {
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
      return this.diskInfo(vm, disk, img, false);
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

  async import(ref: string, file: string, bus: DiskConfig['bus'] | undefined): Promise<TaskInfo> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    this.assertOff(vm, 'import a disk into it');
    this.assertRoom(vm);
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
          return await this.importInto(vm, { file, source, what, target, name, bus, img }, ctx);
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
      img: string;
    },
    ctx: TaskContext,
  ): Promise<VmSummary> {
    const { file, source, what, target, name, bus, img } = job;
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
        this.assertOff(vm, 'attach the imported disk');
        this.assertRoom(vm);
        const disk: DiskConfig = {
          id: nextDiskId(vm.config),
          file: name,
          format: 'qcow2',
          bus: bus ?? defaultBus(vm.config),
          readOnly: false,
        };
        return vm.update(withDisk(disk));
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

  private assertOff(vm: Vm, what: string): void {
    const state = vm.supervisor.current.state;
    if (isSaved(state)) throw new VivariumError('BAD_STATE', savedRefusalMessage('disks'));
    if (isLive(state)) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${state}: shut it down to ${what}.`,
      );
    }
  }

  private assertRoom(vm: Vm): void {
    if (vm.config.disks.length >= MAX_DISKS) {
      throw new VivariumError(
        'RESOURCE_LIMIT',
        `A VM has at most ${MAX_DISKS} disks: detach one first.`,
      );
    }
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
    return { ...c, disks: [...c.disks, { ...disk, id: nextDiskId(c) }] };
  };
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

function defaultBus(config: VmConfig): DiskConfig['bus'] {
  return config.disks[0]?.bus ?? 'virtio';
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
