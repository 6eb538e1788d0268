/**
 * The VM library: every VM folder under `vms/`, scanned at start and watched after, each held as
 * one Vm object. Resolves a VM by id or name, keeps names unique whatever their case, adds and
 * removes VMs, and reports configs it could not load.
 */
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { nameKey } from '../../../common/rules/vm-names';
import type { VmConfig } from '../../../common/contract';
import { isLive, isSaved } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { EventBus } from '../events/event-bus';
import { vmFiles, type EnginePaths, type VmFiles } from '../paths';
import { readPidFile } from '../qemu/pid-file';
import { processAlive } from '../qemu/process-info';
import type { EngineRole } from '../qemu/supervisor';
import { hasSavedStateFiles } from '../savestate/state-file';
import { readJsonFile } from './atomic-file';
import { removeLeftovers } from './leftovers';
import { LibraryWatch } from './library-watch';
import { LibraryLocks } from './locks';
import { migrateConfig } from './migrations';
import { KEPT_DISKS_MARKER } from './orphans';
import { Vm, writeVmConfig } from './vm';

const VM_DIR = /^[a-f0-9]{12}$/;
/** While a QEMU started elsewhere could not be reached yet, look again this soon. */
const ATTACH_RETRY_MS = 1000;

export class VmRegistry {
  private readonly vms = new Map<string, Vm>();
  private readonly broken = new Map<string, string>();
  /** Ids of the VM folders seen by the last scan, vm.json or not (one may be on its way). */
  private folders = new Set<string>();
  /** VMs this engine is writing into the library right now: a scan leaves them to `add`. */
  private readonly adding = new Set<string>();
  /** Names a create or a rename is writing right now, by VM id: taken until the write ends. */
  private readonly claimed = new Map<string, string>();
  private readonly watch: LibraryWatch;
  private watching = false;
  private closed = false;
  /** Shared with every other Vivarium process on this library. */
  readonly locks: LibraryLocks;

  constructor(
    readonly paths: EnginePaths,
    readonly role: EngineRole,
    private readonly events: EventBus,
  ) {
    this.watch = new LibraryWatch(() => this.sync());
    this.locks = new LibraryLocks(paths);
  }

  /**
   * Reads the library. The owner (the app, the server) also clears what crashed writers left,
   * finds the true state of every VM and watches from then on; a oneshot engine (a CLI command)
   * attaches lazily.
   */
  async open(): Promise<void> {
    await this.scan();
    if (this.role !== 'owner') return;
    await Promise.all([...this.vms.values()].map((vm) => removeLeftovers(vm.files.dir)));
    await Promise.all([...this.vms.values()].map((vm) => vm.safeRefresh()));
    this.watching = true;
    this.watch.start();
    this.watchFolders();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch.close();
    for (const vm of this.vms.values()) vm.supervisor.detach();
  }

  list(): Vm[] {
    return [...this.vms.values()];
  }

  has(id: string): boolean {
    return this.vms.has(id);
  }

  /** By id, then exact name, then name ignoring case and surrounding spaces. */
  resolve(ref: string): Vm {
    const byId = this.vms.get(ref);
    if (byId) return byId;
    for (const vm of this.vms.values()) if (vm.config.name === ref) return vm;
    const folded = nameKey(ref);
    for (const vm of this.vms.values()) {
      if (nameKey(vm.config.name) === folded) return vm;
    }
    throw new VivariumError('NOT_FOUND', `There is no VM called "${ref}".`);
  }

  assertNameFree(name: string, exceptId?: string): void {
    const folded = nameKey(name);
    for (const vm of this.vms.values()) {
      if (vm.config.id !== exceptId && nameKey(vm.config.name) === folded) {
        throw nameTaken(vm.config.name);
      }
    }
    for (const [id, claimed] of this.claimed) {
      if (id !== exceptId && nameKey(claimed) === folded) {
        throw new VivariumError(
          'NAME_TAKEN',
          `A VM called "${claimed}" is being created or renamed: pick another name.`,
          { name: 'This name is taken' },
        );
      }
    }
  }

  /**
   * The same rule against every vm.json on disk now, not this engine's last scan: another
   * process may have just added or renamed a VM. Call it under the library lock.
   */
  async assertNameFreeOnDisk(name: string, exceptId?: string): Promise<void> {
    this.assertNameFree(name, exceptId);
    const folded = nameKey(name);
    const dirs = await readdir(this.paths.vmsDir, { withFileTypes: true });
    for (const dirent of dirs) {
      if (!dirent.isDirectory() || !VM_DIR.test(dirent.name) || dirent.name === exceptId) continue;
      const stored = await readJsonFile(vmFiles(this.paths, dirent.name).config).catch(() => null);
      const other = typeof stored === 'object' && stored !== null ? stored : {};
      const otherName = 'name' in other && typeof other.name === 'string' ? other.name : null;
      if (otherName !== null && nameKey(otherName) === folded) {
        throw nameTaken(otherName);
      }
    }
  }

  /**
   * Takes `name` for VM `id` while its config is written (the VM only holds it once the write
   * ends), so a create and a rename racing in this process cannot both get it. Returns the
   * release.
   */
  claimName(name: string, id: string): () => void {
    this.assertNameFree(name, id);
    this.claimed.set(id, name);
    return () => {
      if (this.claimed.get(id) === name) this.claimed.delete(id);
    };
  }

  /** A fresh id and its folders (nothing is created on disk). */
  newVmFiles(): { id: string; files: VmFiles } {
    let id = randomBytes(6).toString('hex');
    while (this.vms.has(id)) id = randomBytes(6).toString('hex');
    return { id, files: vmFiles(this.paths, id) };
  }

  /**
   * Writes a new VM's config into its (prepared) folder, holds it and announces it. Under the
   * library lock, so two processes adding the same name at once make one VM, not two.
   */
  async add(config: VmConfig, files: VmFiles): Promise<Vm> {
    const release = this.claimName(config.name, config.id);
    this.adding.add(config.id);
    let vm: Vm;
    try {
      vm = await this.locks.library(async () => {
        await this.assertNameFreeOnDisk(config.name, config.id);
        return this.hold(config, files, await writeVmConfig(files, config));
      });
    } finally {
      this.adding.delete(config.id);
      release();
    }
    this.events.emit({ type: 'vm.added', vm: vm.summary() });
    this.watchFolders();
    return vm;
  }

  /** Forgets a VM whose folder was deleted, and announces it. */
  remove(vm: Vm): void {
    if (this.vms.get(vm.id) !== vm) return;
    vm.supervisor.retire(`There is no VM called "${vm.config.name}" any more: it was deleted.`);
    this.vms.delete(vm.id);
    this.events.emit({ type: 'vm.removed', id: vm.id });
  }

  /** VM folders whose vm.json could not be loaded, with why. */
  brokenConfigs(): Array<[dir: string, reason: string]> {
    return [...this.broken];
  }

  private hold(config: VmConfig, files: VmFiles, mtime: number): Vm {
    const vm = new Vm(config, files, mtime, {
      role: this.role,
      emit: (event) => this.events.emit(event),
      locks: this.locks,
      assertNameFree: (name, exceptId) => this.assertNameFreeOnDisk(name, exceptId),
    });
    this.vms.set(config.id, vm);
    return vm;
  }

  /** The library as it is on disk: new, changed and removed VM folders. */
  private async scan(): Promise<void> {
    // A VM added while this scan reads may be missing from its listing: only VMs held before
    // it began can be found gone (else a fresh VM vanishes until the next scan, and its name
    // with it).
    const heldBefore = new Set(this.vms.keys());
    const dirs = await readdir(this.paths.vmsDir, { withFileTypes: true });
    const seen = new Set<string>();
    for (const dirent of dirs) {
      if (!dirent.isDirectory() || !VM_DIR.test(dirent.name)) continue;
      seen.add(dirent.name);
      if (this.adding.has(dirent.name)) continue;
      const files = vmFiles(this.paths, dirent.name);
      const mtime = await stat(files.config).then(
        (s) => s.mtimeMs,
        () => null,
      );
      if (mtime === null) {
        // Left without its config on purpose (deleted with its disks kept, or migrated away by
        // another process): no VM any more, so one held from before goes.
        const kept = await stat(join(files.dir, KEPT_DISKS_MARKER)).then(
          () => true,
          () => false,
        );
        if (kept) seen.delete(dirent.name);
        continue;
      }
      const known = this.vms.get(dirent.name);
      if (known && known.configMtimeMs === mtime) continue;
      try {
        const config = migrateConfig(await readJsonFile(files.config), files.config);
        this.broken.delete(files.dir);
        if (known) {
          known.reload(config, mtime);
        } else {
          const vm = this.hold(config, files, mtime);
          if (this.watching) this.events.emit({ type: 'vm.added', vm: vm.summary() });
        }
      } catch (err) {
        this.broken.set(files.dir, err instanceof Error ? err.message : String(err));
      }
    }
    for (const vm of this.vms.values()) {
      if (!seen.has(vm.id) && heldBefore.has(vm.id)) this.remove(vm);
    }
    this.folders = seen;
  }

  /** What the watch runs: the configs, then QEMUs started or ended by other processes. */
  private async sync(): Promise<void> {
    if (this.closed) return;
    await this.scan();
    const withPid: Vm[] = [];
    for (const vm of this.vms.values()) {
      // Closed meanwhile: attach to nothing more.
      if (this.isClosed()) return;
      if (vm.supervisor.attached) continue;
      const live = isLive(vm.supervisor.current.state);
      const pid = await readPidFile(vm.files.pidFile);
      if (pid !== null && processAlive(pid)) withPid.push(vm);
      // Saved to disk or resumed by another process: the saved-state files say which.
      const saved = isSaved(vm.supervisor.current.state) || (await hasSavedStateFiles(vm.files));
      if (pid !== null || live || saved) await vm.safeRefresh();
    }
    this.watchFolders();
    // QEMU may not listen on QMP yet when its pid file appears: look again soon. (A pid file
    // left by a killed QEMU names no live process: that VM is crashed, nothing to retry.)
    if (withPid.some((vm) => !vm.supervisor.attached)) this.watch.trigger(ATTACH_RETRY_MS);
  }

  /** A method, not the field: the answer changes while a sync awaits. */
  private isClosed(): boolean {
    return this.closed;
  }

  private watchFolders(): void {
    if (!this.watching) return;
    const ids = new Set([...this.folders, ...this.vms.keys()]);
    const files = [...ids].map((id) => vmFiles(this.paths, id));
    this.watch.watchDirs([
      { dir: this.paths.vmsDir },
      { dir: this.paths.runtimeDir },
      ...files.map((f) => ({ dir: f.dir, only: [basename(f.config), basename(f.savedStateDir)] })),
      ...files.map((f) => ({ dir: f.run, only: basename(f.pidFile) })),
      // Exists while a VM is saved (or being saved): its description appearing or going.
      ...files.map((f) => ({ dir: f.savedStateDir, only: basename(f.savedStateMeta) })),
    ]);
  }
}

function nameTaken(existing: string): VivariumError {
  return new VivariumError(
    'NAME_TAKEN',
    `A VM called "${existing}" already exists: pick another name.`,
    {
      name: 'This name is taken',
    },
  );
}
