/**
 * Clones: full (an independent copy of every disk, a task with progress) and linked (qcow2
 * overlays on a read-only base: instant, whatever the disk's size).
 *
 * Why linked clones work like VirtualBox's: a linked clone's overlay must sit on a base that
 * nobody writes again, but the source VM keeps running and writing its disk. So cloning freezes
 * the source's disk: the file is renamed to `base-<disk>-<random>.qcow2` (read-only from then on)
 * and the source VM gets a fresh overlay on it under its old file name, exactly like the clone.
 * Both then write only their own overlay; the base changes never again. Renaming is instant, so
 * clone creation costs two `qemu-img create` (a few ms) however big the disk is.
 *   - The base stays in the source VM's folder and belongs to it: the source records its clones
 *     in links.json (library/clone-links.ts) and refuses to be deleted while any exists.
 *   - Bases sit beside the overlays and are referenced by relative paths, so the library can move
 *     as a whole (another disk, another home folder) without breaking the chains.
 *   - A disk holding internal snapshots is not frozen: its snapshots would be locked inside the
 *     base, and reverting to them would write the base. Such VMs get a full clone (or the
 *     snapshots are deleted first). Cloning again while the source's overlay is still empty reuses
 *     the same base, so chains only grow when there is something new to keep.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import {
  VmConfigSchema,
  type TaskInfo,
  type VmConfig,
  type VmSummary,
} from '../../../common/contract';
import { savedRefusalMessage } from '../../../common/rules/vm-settings';
import { isLive, isSaved } from '../../../common/vm-state';
import { hostnameFromName, SSH_HOST_PORT_FIRST } from '../../../common/rules/cloud-guest';
import { VivariumError } from '../errors';
import { promisedPorts } from '../guest/auto-forwards';
import { pickFreePort } from '../guest/host-ports';
import { readSeedInputs, writeCloudSeed } from '../vms/cloud-seeds';
import type { HostService } from '../host/host-service';
import { requireQemuImg } from '../host/require';
import { fileExists } from '../library/atomic-file';
import type { IntentJournal } from '../library/intents';
import { liveClones, loadLinks, LinksSchema, saveLinks } from '../library/clone-links';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import type { VmFiles } from '../paths';
import { diskPath } from '../qemu/args';
import { newMac, usedMacs } from '../network/mac';
import { liveQemuPid } from '../qemu/pid-file';
import type { TaskContext, TaskManager } from '../tasks/task-manager';
import type { LinkedCloneData } from './clone-recovery';
import { readQcow2Facts } from './qcow2-header';
import { convertImage, createOverlay, imageChain } from './qemu-img';

/** Why `vm` cannot be linked-cloned (pure checks on the config), or null. */
export function linkedCloneProblem(config: VmConfig): string | null {
  if (config.disks.length === 0)
    return `"${config.name}" has no disk: a full clone copies it just as fast.`;
  for (const d of config.disks) {
    if (d.format !== 'qcow2') {
      return `Disk ${d.id} is a raw image: linked clones need qcow2 disks. Make a full clone instead.`;
    }
    if (isAbsolute(d.file)) {
      return `Disk ${d.id} is a file outside the VM's folder (${d.file}), which Vivarium does not freeze: make a full clone instead.`;
    }
  }
  return null;
}

export class CloneService {
  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly tasks: TaskManager,
    private readonly journal: IntentJournal,
  ) {}

  async clone(ref: string, name: string, linked: boolean): Promise<TaskInfo> {
    const src = this.registry.resolve(ref);
    this.registry.assertNameFree(name);
    await src.safeRefresh();
    this.assertOff(src);
    if (linked) {
      const problem = linkedCloneProblem(src.config);
      if (problem) throw new VivariumError('INVALID_REQUEST', problem);
    }
    const img = await this.img();
    return this.tasks.start({
      kind: 'vm.clone',
      title: `${linked ? 'Linked' : 'Full'} clone of ${src.config.name} as ${name}`,
      vmId: src.config.id,
      cancellable: !linked,
      run: (ctx) =>
        src.supervisor.serialize(async () => {
          this.assertOff(src);
          this.registry.assertNameFree(name);
          if (!linked) return this.fullNow(src, name, img, ctx);
          // Freezing renames the source's disks and rewrites its links.json: under the library
          // lock (the clone's name), the source's lock and its start lock (no other process
          // starts it meanwhile), in that order. A few file renames and qemu-img creates.
          const { locks } = this.registry;
          return locks.library(() =>
            src.locked(() =>
              locks.start(src.files, src.config.name, async () => {
                const qemu = await liveQemuPid(src.files.pidFile, src.id);
                if (qemu !== null) this.assertOff(src, 'running');
                return this.linkedNow(src, name, img);
              }),
            ),
          );
        }),
    });
  }

  private async linkedNow(src: Vm, name: string, img: string): Promise<VmSummary> {
    const { id, files } = this.registry.newVmFiles();
    const srcLinks = await loadLinks(src.files);
    const overlays = { ...srcLinks.overlays };
    // First decide every disk (read-only), so a refusal changes nothing.
    const plans = await Promise.all(
      src.config.disks.map(async (disk) => {
        const active = diskPath(src.files.dir, disk);
        const reuse = overlays[disk.id];
        if (reuse && (await this.reusable(active, src.files.dir, reuse))) {
          return { id: disk.id, disk, active, base: reuse, freeze: false };
        }
        const facts = await readQcow2Facts(active);
        if (!facts) {
          throw new VivariumError(
            'BAD_STATE',
            `Disk ${disk.id} of "${src.config.name}" is not a readable qcow2 image: check it (vivarium disk check).`,
          );
        }
        if (facts.snapshotCount > 0) {
          throw new VivariumError(
            'BAD_STATE',
            `Disk ${disk.id} of "${src.config.name}" holds ${facts.snapshotCount} snapshot(s), which a linked clone ` +
              'would lock inside its read-only base. Make a full clone, or delete the snapshots first.',
          );
        }
        const base = `base-${disk.id}-${randomBytes(4).toString('hex')}.qcow2`;
        return { id: disk.id, disk, active, base, freeze: true };
      }),
    );
    const data: LinkedCloneData = {
      cloneId: id,
      cloneDir: files.dir,
      name,
      sourceId: src.config.id,
      sourceName: src.config.name,
      sourceDir: src.files.dir,
      disks: plans.map(({ id: diskId, active, base, freeze }) => ({
        id: diskId,
        active,
        base,
        freeze,
      })),
    };
    // Renaming the source's disk into a base is the step a kill must never leave half done.
    const intent = await this.journal.begin('vm.clone-linked', {
      vmIds: [id, src.config.id],
      paths: [
        files.dir,
        ...plans.flatMap((p) => [
          p.active,
          join(src.files.dir, p.base),
          diskPath(files.dir, p.disk),
        ]),
      ],
      data,
    });
    const undo: Array<() => Promise<unknown>> = [];
    try {
      await intent.step('folder');
      await mkdir(files.logsDir, { recursive: true, mode: 0o700 });
      // One disk, one step at a time: each recorded before it is done.
      for (const { disk, active, base, freeze } of plans) {
        const frozen = join(src.files.dir, base);
        if (freeze) {
          // Durable: after a power cut, the record must be there to put the disk back.
          await intent.step('freeze', { durable: true });
          await rename(active, frozen);
          // Undone in reverse: the new overlay goes, the base is renamed back and writable.
          undo.push(() => chmod(active, 0o600));
          undo.push(() => rename(frozen, active));
          undo.push(() => rm(active, { force: true }));
          overlays[disk.id] = base;
          await chmod(frozen, 0o400);
          await intent.step('source-overlay');
          await createOverlay(img, active, base);
        }
        await intent.step('clone-overlay');
        await createOverlay(
          img,
          diskPath(files.dir, disk),
          relative(files.dir, join(src.files.dir, base)),
        );
      }
      const bases = plans.map((p) => p.base);
      await intent.step('nvram');
      if (src.config.firmware === 'uefi' && (await fileExists(src.files.nvram))) {
        // A fresh copy of the variables, without the source's snapshots in it.
        await convertImage(img, {
          source: src.files.nvram,
          sourceFormat: 'qcow2',
          target: files.nvram,
          targetFormat: 'qcow2',
        });
      }
      await intent.step('links');
      const clones = [...(await liveClones(this.registry, srcLinks)), { id, name, bases }];
      undo.push(() => saveLinks(src.files, srcLinks));
      await Promise.all([
        saveLinks(
          files,
          LinksSchema.parse({ linkedTo: { id: src.config.id, name: src.config.name } }),
        ),
        saveLinks(src.files, { ...srcLinks, clones, overlays }),
      ]);
      await intent.step('config');
      const summary = await this.register(src, id, files, name);
      await intent.end();
      return summary;
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      await rm(files.dir, { recursive: true, force: true });
      await intent.discard();
      throw err;
    }
  }

  /** The source's disk is still the overlay we made on `base`, with nothing written to it. */
  private async reusable(active: string, dir: string, base: string): Promise<boolean> {
    try {
      if (!(await fileExists(join(dir, base)))) return false;
      const facts = await readQcow2Facts(active);
      return facts !== null && facts.backingFile === base && facts.empty;
    } catch {
      return false;
    }
  }

  private async fullNow(src: Vm, name: string, img: string, ctx: TaskContext): Promise<VmSummary> {
    const { id, files } = this.registry.newVmFiles();
    const intent = await this.journal.begin('vm.clone', {
      vmIds: [id],
      paths: [files.dir],
      data: { vmId: id, dir: files.dir, name, what: `Cloning "${src.config.name}" as "${name}"` },
    });
    try {
      await intent.step('folder');
      await mkdir(files.logsDir, { recursive: true, mode: 0o700 });
      await intent.step('copy');
      const disks = await Promise.all(
        src.config.disks.map(async (d) => {
          const chain = await imageChain(img, diskPath(src.files.dir, d), { format: d.format });
          return { disk: d, size: Math.max(1, chain[0]?.virtualSize ?? 1) };
        }),
      );
      const total = disks.reduce((n, d) => n + d.size, 0);
      ctx.report({ bytesTotal: total, bytesDone: 0, message: 'Copying the disks' });
      let done = 0;
      const copied: VmConfig['disks'] = [];
      for (const { disk, size } of disks) {
        // Files outside the source's folder are copied in: the clone owns all its disks.
        const file = `${disk.id}.${disk.format}`;
        await convertImage(img, {
          source: diskPath(src.files.dir, disk),
          sourceFormat: disk.format,
          target: join(files.dir, file),
          targetFormat: disk.format,
          signal: ctx.signal,
          onProgress: (f) => ctx.report({ bytesDone: done + Math.round(f * size) }),
        });
        done += size;
        copied.push({ ...disk, file });
      }
      await intent.step('nvram');
      if (src.config.firmware === 'uefi' && (await fileExists(src.files.nvram))) {
        await convertImage(img, {
          source: src.files.nvram,
          sourceFormat: 'qcow2',
          target: files.nvram,
          targetFormat: 'qcow2',
          signal: ctx.signal,
        });
      }
      await intent.step('config');
      const summary = await this.register(src, id, files, name, copied, true);
      await intent.end();
      return summary;
    } catch (err) {
      await rm(files.dir, { recursive: true, force: true });
      await intent.discard();
      throw err;
    }
  }

  /**
   * Writes the clone's vm.json (a new id, name and MAC) and adds it to the library. A cloud
   * guest's clone gets its own seed (see cloud-seeds.ts) and its own SSH port; `flattened` says
   * its disks were copied whole (no longer overlays on the cloud image).
   */
  private async register(
    src: Vm,
    id: string,
    files: VmFiles,
    name: string,
    disks: VmConfig['disks'] = src.config.disks,
    flattened = false,
  ): Promise<VmSummary> {
    const cloud = src.config.cloudInit;
    const promised = promisedPorts(this.registry.list());
    const macs = usedMacs(this.registry.list().map((vm) => vm.config));
    // Each card gets its own MAC; Vivarium's own SSH forward moves to a free port, the user's
    // forwards are copied as they are (they clash only if both VMs run at once, said at start).
    const nics = [];
    for (const nic of src.config.nics) {
      const mac = newMac(macs);
      if (nic.attach.kind !== 'nat') {
        nics.push({ ...nic, mac });
        continue;
      }
      const forwards = [];
      for (const f of nic.attach.forwards) {
        if (!f.auto) {
          forwards.push(f);
          continue;
        }
        const hostPort = await pickFreePort(f.hostAddress, SSH_HOST_PORT_FIRST, promised);
        promised.add(hostPort);
        forwards.push({ ...f, hostPort });
      }
      nics.push({ ...nic, mac, attach: { ...nic.attach, forwards } });
    }
    const config = VmConfigSchema.parse({
      ...src.config,
      id,
      name,
      createdAt: new Date().toISOString(),
      disks,
      nics,
      cloudInit: cloud
        ? {
            ...cloud,
            hostname: hostnameFromName(name),
            image: { ...cloud.image, mode: flattened ? 'copy' : cloud.image.mode },
          }
        : null,
    });
    if (cloud && config.cloudInit) {
      const inputs = await readSeedInputs(src.files);
      await writeCloudSeed(files, config, { ...inputs, hostname: config.cloudInit.hostname });
    }
    return (await this.registry.add(config, files)).summary();
  }

  private assertOff(vm: Vm, seen?: 'running'): void {
    const state = seen ?? vm.supervisor.current.state;
    if (isSaved(state)) throw new VivariumError('BAD_STATE', savedRefusalMessage('clone'));
    if (isLive(state)) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${state}: shut it down to clone it (the copy of a running disk would not be consistent).`,
      );
    }
  }

  private async img(): Promise<string> {
    return requireQemuImg(await this.host.get());
  }
}
