/**
 * Snapshots of one VM: live (memory + devices + disks) through QMP snapshot-save / -load /
 * -delete jobs while QEMU runs, disk-only through `qemu-img snapshot` while it is off; the tree
 * in snapshots.json; thumbnails from `screendump` at the moment of a live snapshot.
 *
 * Every operation on a VM runs in its supervisor's queue (no start/stop in between), and every
 * read-modify-write of snapshots.json under the VM's lock (shared with other processes), so a
 * list that reconciles with the images never undoes a snapshot that was being added.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type {
  SnapshotDeleteResult,
  SnapshotList,
  SnapshotNode,
  SnapshotRevertResult,
  SnapshotThumbnail,
  TaskInfo,
} from '../../../common/contract';
import { isGuestUp, isTransitional } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { HostService } from '../host/host-service';
import { requireQemuImg } from '../host/require';
import type { IntentJournal } from '../library/intents';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import type { EngineRole } from '../qemu/supervisor';
import { imageInfo, imageSnapshot } from '../storage/qemu-img';
import type { TaskContext, TaskManager } from '../tasks/task-manager';
import type { LaunchPlanner } from '../vms/launch-plan';
import { pngSize } from '../vms/png';
import type { SnapshotCreateData, SnapshotDeleteData } from './recovery';
import { thaw, withFrozenFilesystems } from '../guest/agent-facts';
import { agentAnswered } from '../guest/guest-state';
import { canSnapshot, snapshotDevices, type SnapshotDevice } from './rules';
import { VDAGENT_BLOCKER, blockedReasons, describeBlocker } from '../migration/blockers';
import { attachVdagent, detachVdagent, vdagentAttached, type VdagentHost } from '../qemu/vdagent';
import { blockerContext } from '../../../common/rules/shares';
import { loadIndex, saveIndex } from './store';
import { ThumbnailJobs } from './thumbnail-jobs';
import {
  addSnapshot,
  assertSnapshotNameFree,
  findById,
  presentTree,
  reconcile,
  revertVerdict,
  removeSnapshot,
  resolveSnapshot,
  type DeviceSnapshots,
  type SnapshotIndex,
  type StoredSnapshot,
} from './tree';

export class SnapshotService {
  /** VMs with a snapshot operation under way: lists do not reconcile with half-written images. */
  private readonly busy = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly thumbnails = new ThumbnailJobs();

  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly tasks: TaskManager,
    private readonly launcher: LaunchPlanner,
    private readonly role: EngineRole,
    private readonly journal: IntentJournal,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Reading

  async list(ref: string): Promise<SnapshotList> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    const state = vm.supervisor.current.state;
    const { devices } = await this.devices(vm);
    const index = await this.withIndex(vm, async (current) => {
      if (this.busy.has(vm.config.id) || isTransitional(state)) return current;
      const seen = await this.readDevices(devices, isGuestUp(state));
      return reconcile(current, seen).index;
    });
    return presentTree(
      vm.config.id,
      index,
      vm.config,
      state,
      devices.map((d) => d.node),
      await freeBytes(vm.files.dir),
    );
  }

  async thumbnail(ref: string, snapshotRef: string): Promise<SnapshotThumbnail> {
    const vm = this.registry.resolve(ref);
    const snap = resolveSnapshot(await loadIndex(vm.files.snapshotsIndex), snapshotRef);
    if (!snap.thumbnail) return { pngBase64: null, width: 0, height: 0 };
    await this.thumbnails.ready(vm, snap.id);
    const png = await readFile(join(vm.files.screenshotsDir, snap.thumbnail)).catch(() => null);
    if (!png) return { pngBase64: null, width: 0, height: 0 };
    return { pngBase64: png.toString('base64'), ...pngSize(png) };
  }

  async update(
    ref: string,
    snapshotRef: string,
    patch: { name?: string | undefined; description?: string | undefined },
  ): Promise<SnapshotNode> {
    const vm = this.registry.resolve(ref);
    let id = '';
    await this.withIndex(vm, (index) => {
      const snap = resolveSnapshot(index, snapshotRef);
      id = snap.id;
      if (patch.name !== undefined) assertSnapshotNameFree(index, patch.name, snap.id);
      return Promise.resolve({
        ...index,
        snapshots: index.snapshots.map((s) =>
          s.id === snap.id
            ? {
                ...s,
                ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
                ...(patch.description !== undefined ? { description: patch.description } : {}),
              }
            : s,
        ),
      });
    });
    return this.present(vm, id);
  }

  // -------------------------------------------------------------------------------------------
  // Tasks

  async create(ref: string, name: string, description: string): Promise<TaskInfo> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    const state = vm.supervisor.current.state;
    const verdict = canSnapshot({
      config: vm.config,
      state,
      freeBytes: await freeBytes(vm.files.dir),
    });
    if (!verdict.ok) throw new VivariumError('BAD_STATE', verdict.reason);
    // A mounted 9p share (or another device QEMU cannot save) refuses at once, before any task.
    if (verdict.kind === 'live') await this.liveBlockers(vm);
    assertSnapshotNameFree(await loadIndex(vm.files.snapshotsIndex), name);
    const id = randomBytes(6).toString('hex');
    return this.tasks.start({
      kind: 'snapshot.create',
      title: `Snapshot "${name}" of ${vm.config.name}`,
      vmId: vm.config.id,
      cancellable: false,
      run: (ctx) => this.createNow(vm, { id, name: name.trim(), description }, ctx),
    });
  }

  async revert(ref: string, snapshotRef: string): Promise<TaskInfo> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    // The verdict from the tree as last reconciled: reading every image here would slow each
    // revert, and QEMU refuses a snapshot that vanished since with its own clear error.
    const snap = resolveSnapshot(await loadIndex(vm.files.snapshotsIndex), snapshotRef);
    const { devices } = snapshotDevices(vm.config, vm.files.dir, vm.files.nvram);
    const verdict = revertVerdict(
      snap,
      vm.supervisor.current.state,
      vm.config,
      devices.map((d) => d.node),
    );
    if (!verdict.ok) throw new VivariumError('BAD_STATE', verdict.reason);
    return this.tasks.start({
      kind: 'snapshot.revert',
      title: `Revert ${vm.config.name} to "${snap.name}"`,
      vmId: vm.config.id,
      cancellable: false,
      run: (ctx) => this.revertNow(vm, snap, ctx),
    });
  }

  async delete(ref: string, snapshotRef: string): Promise<TaskInfo> {
    const vm = this.registry.resolve(ref);
    const snap = resolveSnapshot(await loadIndex(vm.files.snapshotsIndex), snapshotRef);
    return this.tasks.start({
      kind: 'snapshot.delete',
      title: `Delete snapshot "${snap.name}" of ${vm.config.name}`,
      vmId: vm.config.id,
      cancellable: false,
      run: (ctx) => this.deleteNow(vm, snap.id, ctx),
    });
  }

  // -------------------------------------------------------------------------------------------
  // The work

  private async createNow(
    vm: Vm,
    want: { id: string; name: string; description: string },
    ctx: TaskContext,
  ): Promise<SnapshotNode> {
    const tag = `viv-${want.id}`;
    return this.whileBusy(vm, () =>
      vm.supervisor.serialize(async () => {
        const state = vm.supervisor.current.state;
        const verdict = canSnapshot({ config: vm.config, state });
        if (!verdict.ok) throw new VivariumError('BAD_STATE', verdict.reason);
        // Refused before anything is written: a device QEMU cannot save and Vivarium cannot
        // take off the running VM (a mounted 9p share, virtiofs) is named with what to do.
        const vdagent = verdict.kind === 'live' ? await this.liveBlockers(vm) : false;
        const { devices, vmstate } = await this.devices(vm);
        const data: SnapshotCreateData = {
          vmId: vm.config.id,
          vmName: vm.config.name,
          snapshot: {
            id: want.id,
            tag,
            name: want.name,
            description: want.description,
            createdAt: new Date().toISOString(),
            kind: verdict.kind,
            vmstate: verdict.kind === 'live' ? vmstate : null,
          },
          devices: devices.map((d) => ({ node: d.node, file: d.file })),
        };
        const intent = await this.journal.begin('snapshot.create', {
          vmIds: [vm.config.id],
          paths: [vm.files.snapshotsIndex],
          data,
        });
        await intent.step('images');
        let shot: Promise<string | null> = Promise.resolve(null);
        let quiesced = false;
        if (verdict.kind === 'live') {
          if (!vmstate) {
            throw new VivariumError('BAD_STATE', 'The VM has no disk to hold the memory.');
          }
          ctx.report({ message: 'Saving memory and disks' });
          const folder = mkdir(vm.files.screenshotsDir, { recursive: true }).then(
            () => true,
            () => false,
          );
          const save = () =>
            vm.supervisor.during('saving', () =>
              vm.supervisor.runJob('snapshot-save', {
                'job-id': `viv-save-${want.id}`,
                tag,
                vmstate,
                devices: devices.map((d) => d.node),
              }),
            );
          try {
            // The clipboard channel blocks the save; it goes for the save and comes back after,
            // whatever the save's outcome.
            const saveDetached = vdagent ? () => withoutVdagent(vm.supervisor, ctx, save) : save;
            // Frozen filesystems (flushed, held still) make the disks of the snapshot consistent
            // on their own, for a clone or an export; a guest without an agent is saved as is.
            const agent = await agentAnswered(vm.files, vm.config, vm.supervisor.current.startedAt);
            if (agent && state === 'running') {
              ctx.report({ message: 'Freezing the guest filesystems' });
              quiesced = (await withFrozenFilesystems(vm.files.qgaSock, saveDetached)).frozen;
            } else {
              await saveDetached();
            }
          } catch (err) {
            await this.discardPartial(vm, tag, devices);
            await intent.discard();
            throw explain(err, `take the snapshot "${want.name}"`, 'save');
          }
          // The screen as the save ended: the guest was stopped throughout the save and has run
          // for a few ms at most. (Dumped before the save, it made the save itself slower.) The
          // snapshot is complete now; the thumbnail follows (snapshot.thumbnail waits for it).
          shot = (await folder) ? this.thumbnails.grab(vm, want.id) : Promise.resolve(null);
        } else {
          ctx.report({ message: 'Saving the disks' });
          await this.diskSnapshotAll(devices, tag, want.name).catch(async (err: unknown) => {
            await intent.discard();
            throw err;
          });
        }
        const stored: Omit<StoredSnapshot, 'parent'> = {
          id: want.id,
          tag,
          name: want.name,
          description: want.description,
          createdAt: data.snapshot.createdAt,
          kind: verdict.kind,
          // Filled in from the image by the next list (reading it here would slow every save).
          vmStateSize: verdict.kind === 'live' ? null : 0,
          vmstate: verdict.kind === 'live' ? vmstate : null,
          devices: devices.map((d) => d.node),
          thumbnail:
            verdict.kind === 'live' && vm.config.video !== 'none' ? `${want.id}.png` : null,
          external: false,
          status: 'ok',
          quiesced,
        };
        await intent.step('index');
        const index = await this.withIndex(vm, (current) =>
          // A list may have met the new tag in the images first and added it as external.
          Promise.resolve(
            addSnapshot(
              { ...current, snapshots: current.snapshots.filter((s) => s.tag !== tag) },
              stored,
            ),
          ),
        );
        await intent.end();
        if (stored.thumbnail) {
          // A dump that failed leaves the snapshot without a thumbnail.
          this.thumbnails.encodeWhenDumped(vm, want.id, shot, () =>
            this.withIndex(vm, (current) =>
              Promise.resolve({
                ...current,
                snapshots: current.snapshots.map((s) =>
                  s.id === want.id ? { ...s, thumbnail: null } : s,
                ),
              }),
            ),
          );
        }
        // A one-shot engine (a CLI command) ends its process next: let the dump land first.
        if (this.role === 'oneshot') await shot;
        return this.present(vm, want.id, { index, devices });
      }),
    );
  }

  private async revertNow(
    vm: Vm,
    snap: StoredSnapshot,
    ctx: TaskContext,
  ): Promise<SnapshotRevertResult> {
    return this.whileBusy(vm, async () => {
      let started = false;
      let reverted: SnapshotDevice[] = [];
      if (snap.kind === 'live' && !isGuestUp(vm.supervisor.current.state)) {
        // Off: launch QEMU paused, load the snapshot, then let it run (the same QEMU process).
        ctx.report({ message: 'Starting the VM' });
        await vm.supervisor.start({ ...(await this.launcher.plan(vm)), paused: true });
        started = true;
      }
      try {
        await vm.supervisor.serialize(async () => {
          const state = vm.supervisor.current.state;
          const { devices } = await this.devices(vm);
          reverted = devices;
          const nodes = snap.devices.filter((n) => devices.some((d) => d.node === n));
          if (snap.kind === 'live') {
            if (!isGuestUp(state)) throw new VivariumError('BAD_STATE', `The VM is ${state}.`);
            if (!snap.vmstate || !nodes.includes(snap.vmstate)) {
              throw new VivariumError(
                'BAD_STATE',
                `The disk holding the memory of "${snap.name}" is no longer attached.`,
              );
            }
            ctx.report({ message: 'Loading memory and disks' });
            const load = () =>
              vm.supervisor.during('restoring', () =>
                vm.supervisor.runJob('snapshot-load', {
                  'job-id': `viv-load-${randomBytes(4).toString('hex')}`,
                  tag: snap.tag,
                  vmstate: snap.vmstate,
                  devices: nodes,
                }),
              );
            try {
              // Snapshots hold no clipboard channel (it is off for every save): the running VM
              // loads one without it too, and gets it back after.
              if (await vdagentAttached(vm.supervisor)) {
                await withoutVdagent(vm.supervisor, ctx, load);
              } else {
                await load();
              }
            } catch (err) {
              throw explain(err, `revert to "${snap.name}"`, started ? 'boot-load' : 'load');
            }
            if (started) await vm.supervisor.command('cont');
            // Taken with the filesystems frozen: the guest wakes up frozen, its agent thaws it.
            if (snap.quiesced) await thaw(vm.files.qgaSock);
          } else {
            if (isGuestUp(state) || isTransitional(state)) {
              throw new VivariumError(
                'BAD_STATE',
                `"${snap.name}" holds the disks only: shut the VM down to revert to it.`,
              );
            }
            ctx.report({ message: 'Restoring the disks' });
            const img = await this.img();
            for (const d of devices.filter((x) => nodes.includes(x.node))) {
              await imageSnapshot(img, d.file, 'apply', snap.tag);
            }
          }
        });
      } catch (err) {
        if (started) await vm.supervisor.powerOff().catch(() => undefined);
        throw err;
      }
      const index = await this.withIndex(vm, (current) =>
        Promise.resolve({ ...current, current: snap.id }),
      );
      const runtime = vm.supervisor.current;
      return {
        snapshot: await this.present(vm, snap.id, { index, devices: reverted }),
        state: runtime.state,
        pid: runtime.pid,
        started,
      };
    });
  }

  private async deleteNow(vm: Vm, id: string, ctx: TaskContext): Promise<SnapshotDeleteResult> {
    return this.whileBusy(vm, async () => {
      await vm.safeRefresh();
      return vm.supervisor.serialize(async () => {
        const snap = this.mustFind(await loadIndex(vm.files.snapshotsIndex), id);
        const state = vm.supervisor.current.state;
        if (isTransitional(state))
          throw new VivariumError('BAD_STATE', `The VM is ${state}: wait a moment.`);
        const { devices } = await this.devices(vm);
        const holders = devices.filter((d) => snap.devices.includes(d.node));
        const data: SnapshotDeleteData = {
          vmId: vm.config.id,
          vmName: vm.config.name,
          id: snap.id,
          tag: snap.tag,
          name: snap.name,
          devices: holders.map((d) => ({ node: d.node, file: d.file })),
          screenshotsDir: vm.files.screenshotsDir,
        };
        const intent = await this.journal.begin('snapshot.delete', {
          vmIds: [vm.config.id],
          paths: [vm.files.snapshotsIndex],
          data,
        });
        await intent.step('images');
        if (snap.status !== 'missing' && holders.length) {
          ctx.report({ message: 'Deleting from the disk images' });
          if (isGuestUp(state)) {
            try {
              await vm.supervisor.runJob('snapshot-delete', {
                'job-id': `viv-del-${randomBytes(4).toString('hex')}`,
                tag: snap.tag,
                devices: holders.map((d) => d.node),
              });
            } catch (err) {
              await intent.discard();
              throw explain(err, `delete "${snap.name}"`, 'delete');
            }
          } else {
            try {
              const img = await this.img();
              for (const d of holders) {
                const info = await imageInfo(img, d.file, { format: 'qcow2' });
                if (info.snapshots.some((s) => s.name === snap.tag))
                  await imageSnapshot(img, d.file, 'delete', snap.tag);
              }
            } catch (err) {
              // Not undone: the snapshot stays listed (and deletable again) as it was.
              await intent.discard();
              throw err;
            }
          }
        }
        await intent.step('index');
        let result: SnapshotDeleteResult = { deleted: id, reparented: [], current: null };
        await this.withIndex(vm, (index) => {
          const removed = removeSnapshot(index, id);
          result = { deleted: id, reparented: removed.reparented, current: removed.index.current };
          return Promise.resolve(removed.index);
        });
        await intent.step('thumbnail');
        await this.thumbnails.remove(vm, snap.id);
        await intent.end();
        return result;
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  /** Disk-only snapshot of every device; on failure the ones already made are removed again. */
  private async diskSnapshotAll(
    devices: SnapshotDevice[],
    tag: string,
    name: string,
  ): Promise<void> {
    const img = await this.img();
    // Refused before any image is touched: qemu-img stopped by ENOSPC half-way leaves a cluster
    // counted but past the image's end, which the next snapshot of that image leaks.
    for (const d of devices) {
      const free = await freeBytes(dirname(d.file));
      if (free !== null && free < DISK_SNAPSHOT_ROOM) {
        throw new VivariumError(
          'DISK_FULL',
          `The disk holding ${d.file} is full: free some space and try again (nothing was changed).`,
        );
      }
    }
    const done: SnapshotDevice[] = [];
    try {
      for (const d of devices) {
        await imageSnapshot(img, d.file, 'create', tag);
        done.push(d);
      }
    } catch (err) {
      for (const d of done) await imageSnapshot(img, d.file, 'delete', tag).catch(() => undefined);
      throw explain(err, `take the snapshot "${name}"`, 'save');
    }
  }

  /**
   * QEMU's own reasons why the running VM cannot be saved now (query-migrate's blocked-reasons):
   * the clipboard channel is taken off for the save (true: it is there), anything else refuses
   * the snapshot before it starts, in the words of common/rules.
   */
  private async liveBlockers(vm: Vm): Promise<boolean> {
    const reasons = await blockedReasons({
      execute: (command, args) => vm.supervisor.command(command, args),
    });
    // Only Vivarium's own channel is taken off: one from the extra arguments has other ids.
    const detachable = (r: string) => vm.config.clipboard && VDAGENT_BLOCKER.test(r);
    const vdagent = reasons.some(detachable);
    const refusals = [
      ...new Set(
        reasons
          .filter((r) => !detachable(r))
          .map((r) => describeBlocker(r, 'snapshot', blockerContext(vm.config))),
      ),
    ];
    if (refusals.length) throw new VivariumError('BAD_STATE', refusals.join(' '));
    return vdagent;
  }

  /** After a failed live save, QEMU may have written the tag into some images: remove it. */
  private async discardPartial(vm: Vm, tag: string, devices: SnapshotDevice[]): Promise<void> {
    if (!vm.supervisor.attached) return;
    await vm.supervisor
      .runJob(
        'snapshot-delete',
        {
          'job-id': `viv-undo-${randomBytes(4).toString('hex')}`,
          tag,
          devices: devices.map((d) => d.node),
        },
        { timeoutMs: 30_000 },
      )
      .catch(() => undefined);
  }

  private async devices(vm: Vm): Promise<{ devices: SnapshotDevice[]; vmstate: string | null }> {
    const all = snapshotDevices(vm.config, vm.files.dir, vm.files.nvram);
    const exists = await Promise.all(
      all.devices.map((d) =>
        access(d.file).then(
          () => true,
          () => false,
        ),
      ),
    );
    const devices = all.devices.filter((_, i) => exists[i]);
    const vmstate =
      all.vmstate && devices.some((d) => d.node === all.vmstate)
        ? all.vmstate
        : (devices[0]?.node ?? null);
    return { devices, vmstate };
  }

  private async readDevices(
    devices: SnapshotDevice[],
    shared: boolean,
  ): Promise<DeviceSnapshots[]> {
    const img = await this.img().catch(() => null);
    return Promise.all(
      devices.map(async (d) => {
        if (!img) return { node: d.node, snapshots: null };
        try {
          const info = await imageInfo(img, d.file, { shared, format: 'qcow2' });
          return { node: d.node, snapshots: info.snapshots };
        } catch {
          return { node: d.node, snapshots: null };
        }
      }),
    );
  }

  private async img(): Promise<string> {
    return requireQemuImg(await this.host.get());
  }

  private mustFind(index: SnapshotIndex, id: string): StoredSnapshot {
    const snap = findById(index, id);
    if (!snap) throw new VivariumError('NOT_FOUND', 'The snapshot was deleted meanwhile.');
    return snap;
  }

  /** One snapshot as the contract shows it (with its verdicts for the VM's present state). */
  private async present(
    vm: Vm,
    id: string,
    known?: { index: SnapshotIndex; devices: SnapshotDevice[] },
  ): Promise<SnapshotNode> {
    const index = known?.index ?? (await loadIndex(vm.files.snapshotsIndex));
    const devices = known?.devices ?? (await this.devices(vm)).devices;
    const tree = presentTree(
      vm.config.id,
      index,
      vm.config,
      vm.supervisor.current.state,
      devices.map((d) => d.node),
      null,
    );
    const node = tree.snapshots.find((s) => s.id === id);
    if (!node) throw new VivariumError('NOT_FOUND', 'The snapshot was deleted meanwhile.');
    return node;
  }

  /**
   * Read-modify-write of snapshots.json under the VM's lock, which every Vivarium process shares
   * (two renames from two processes both land); written only when it changed.
   */
  private withIndex(
    vm: Vm,
    change: (index: SnapshotIndex) => Promise<SnapshotIndex>,
  ): Promise<SnapshotIndex> {
    const key = vm.config.id;
    const work = (): Promise<SnapshotIndex> =>
      vm.locked(async () => {
        const before = await loadIndex(vm.files.snapshotsIndex);
        const after = await change(before);
        if (after !== before) await saveIndex(vm.files.snapshotsIndex, after);
        return after;
      });
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  private async whileBusy<T>(vm: Vm, work: () => Promise<T>): Promise<T> {
    const key = vm.config.id;
    this.busy.set(key, (this.busy.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.busy.get(key) ?? 1) - 1;
      if (left > 0) this.busy.set(key, left);
      else this.busy.delete(key);
    }
  }
}

/**
 * `work` with the clipboard channel off the running VM, and on again after, also when `work`
 * failed. A channel that does not come back is said plainly: the VM runs on without it.
 */
async function withoutVdagent<T>(
  q: VdagentHost,
  ctx: TaskContext,
  work: () => Promise<T>,
): Promise<T> {
  ctx.report({ message: 'Detaching the clipboard channel' });
  try {
    await detachVdagent(q);
  } catch (err) {
    // Half off (the port gone, the chardev still there): put back what went.
    await attachVdagent(q).catch(() => undefined);
    throw new VivariumError(
      'QMP_ERROR',
      `Could not take the clipboard channel off for the snapshot: ${err instanceof Error ? err.message : String(err)}. Nothing was saved; turn clipboard sharing off (with the VM shut down) to take snapshots.`,
    );
  }
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await attachVdagent(q).catch(() => undefined);
    throw err;
  }
  ctx.report({ message: 'Attaching the clipboard channel again' });
  // The work is done and stays done: a channel that does not come back is told, not thrown.
  await attachVdagent(q).catch((err: unknown) =>
    ctx.report({
      message: `The clipboard channel did not come back (${err instanceof Error ? err.message : String(err)}): clipboard sharing returns when the VM restarts.`,
    }),
  );
  return result;
}

/** Free space a disk-only snapshot wants beside each image (an L1 table copy, refcounts). */
const DISK_SNAPSHOT_ROOM = 16 * 2 ** 20;

async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** A snapshot failure in words that say what happened and what to do next. */
function explain(
  err: unknown,
  what: string,
  op: 'save' | 'load' | 'boot-load' | 'delete',
): VivariumError {
  const e =
    err instanceof VivariumError
      ? err
      : new VivariumError('INTERNAL', err instanceof Error ? err.message : String(err));
  if (e.code === 'QEMU_FAILED' && /QEMU ended/.test(e.message)) {
    return new VivariumError(
      'QEMU_FAILED',
      `QEMU ended while trying to ${what}. Earlier snapshots are kept; check the disks (vivarium disk check) and start the VM again.`,
    );
  }
  if (e.code === 'QMP_ERROR' || e.code === 'QEMU_FAILED') {
    const next = {
      save: 'Nothing was saved and the VM carries on as before.',
      load: 'The VM was put back to running (or paused) as it was; if the guest misbehaves, revert again or restart it.',
      'boot-load':
        'The VM, started for the revert, was powered off again; its disks are as they were.',
      delete: 'The snapshot is still there; try again.',
    }[op];
    return new VivariumError(e.code, `Could not ${what}: ${e.message.replace(/\.$/, '')}. ${next}`);
  }
  return e;
}
