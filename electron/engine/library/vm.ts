/**
 * One VM as the engine holds it (virt-manager's vmmDomain): its config, its files and its
 * supervisor. `update` is the one way a config changes: under the VM's lock (shared with every
 * other Vivarium process), applied to the config as it is on disk right now, validated, written
 * atomically, its mtime noted (so the library watch does not mistake our own write for someone
 * else's) and announced.
 */
import { stat } from 'node:fs/promises';
import {
  VmConfigSchema,
  type GuestStatus,
  type ApiEvent,
  type VmConfig,
  type VmSummary,
} from '../../../common/contract';
import { VivariumError } from '../errors';
import type { VmFiles } from '../paths';
import { VmSupervisor, type EngineRole } from '../qemu/supervisor';
import { isNodeError, readJsonFile, writeFileAtomic } from './atomic-file';
import { holdsLibraryLock, type LibraryLocks } from './locks';
import { migrateConfig } from './migrations';

/** Writes vm.json atomically; returns its new mtime. */
export async function writeVmConfig(files: VmFiles, config: VmConfig): Promise<number> {
  await writeFileAtomic(files.config, `${JSON.stringify(config, null, 2)}\n`);
  return (await stat(files.config)).mtimeMs;
}

export interface VmOptions {
  role: EngineRole;
  emit: (event: ApiEvent) => void;
  locks: LibraryLocks;
  /**
   * Refuses a name another VM has on disk (the registry's rule); called when a change renames,
   * under the library lock.
   */
  assertNameFree: (name: string, exceptId: string) => Promise<void>;
}

/**
 * A change to a VM's config, given the config as it is on disk now (another process may have
 * changed it since this engine last looked): returns the new config. It may run twice (a rename
 * is retried under the library lock), so it only computes.
 */
export type ConfigChange = (fresh: VmConfig) => VmConfig | Promise<VmConfig>;

/** A change that renames asks again, holding the library lock first. */
const NEEDS_LIBRARY_LOCK = Symbol('needs the library lock');

export class Vm {
  readonly supervisor: VmSupervisor;
  private current: VmConfig;
  private mtimeMs: number;
  private guestStatus: GuestStatus | null;

  constructor(
    config: VmConfig,
    readonly files: VmFiles,
    configMtimeMs: number,
    private readonly opts: VmOptions,
  ) {
    this.current = config;
    this.mtimeMs = configMtimeMs;
    this.guestStatus = null;
    this.supervisor = new VmSupervisor(config.id, files, opts.role, () => this.announce(), {
      startLock: (work) => opts.locks.start(files, this.current.name, work),
    });
  }

  get config(): VmConfig {
    return this.current;
  }

  get id(): string {
    return this.current.id;
  }

  /** The mtime of vm.json as this engine last wrote or read it. */
  get configMtimeMs(): number {
    return this.mtimeMs;
  }

  summary(): VmSummary {
    return {
      id: this.current.id,
      name: this.current.name,
      config: this.current,
      runtime: this.supervisor.current,
      dir: this.files.dir,
      guest: this.guestStatus,
    };
  }

  /** What the guest watch learnt (reachable over SSH, the agent's facts); announced on change. */
  setGuest(status: GuestStatus | null): void {
    if (JSON.stringify(status) === JSON.stringify(this.guestStatus)) return;
    this.guestStatus = status;
    this.announce();
  }

  /**
   * Applies `change` to the config on disk under the VM's lock, validates and writes the result,
   * and announces it. `commit` runs after the write, still under the lock (e.g. renaming a new
   * UEFI variable store into place); if it fails, the config read before the change is written
   * back, so the files on disk keep matching each other, and its error is thrown.
   */
  async update(
    change: ConfigChange,
    commit?: (next: VmConfig, previous: VmConfig) => Promise<void>,
  ): Promise<VmSummary> {
    const attempt = (): Promise<VmSummary | typeof NEEDS_LIBRARY_LOCK> =>
      this.locked(async () => {
        const fresh = await this.readFresh();
        const next = VmConfigSchema.parse(await change(fresh));
        if (next.id !== fresh.id) throw new VivariumError('INTERNAL', 'A change cannot move a VM.');
        if (next.name !== fresh.name) {
          // Lock order: the library before a VM. Let go of this one and come back.
          if (!holdsLibraryLock()) return NEEDS_LIBRARY_LOCK;
          await this.opts.assertNameFree(next.name, next.id);
        }
        this.mtimeMs = await writeVmConfig(this.files, next);
        if (commit) {
          try {
            await commit(next, fresh);
          } catch (err) {
            this.mtimeMs = await writeVmConfig(this.files, fresh).catch(() => this.mtimeMs);
            this.current = fresh;
            throw err;
          }
        }
        this.current = next;
        return this.announce();
      });
    const first = await attempt();
    if (first !== NEEDS_LIBRARY_LOCK) return first;
    const second = await this.opts.locks.library(attempt);
    if (second === NEEDS_LIBRARY_LOCK) throw new VivariumError('INTERNAL', 'Rename lock lost.');
    return second;
  }

  /**
   * Runs `work` under this VM's lock, shared with every Vivarium process: for read-modify-writes
   * of the files beside vm.json (snapshots.json, links.json). Keep it short.
   */
  locked<T>(work: () => Promise<T>): Promise<T> {
    return this.opts.locks.vm(this.files, this.current.name, work);
  }

  /** vm.json as it is on disk now. */
  private async readFresh(): Promise<VmConfig> {
    try {
      return migrateConfig(await readJsonFile(this.files.config), this.files.config);
    } catch (err) {
      if (isNodeError(err) && err.code === 'ENOENT') {
        throw new VivariumError('NOT_FOUND', `"${this.current.name}" was deleted meanwhile.`);
      }
      throw err;
    }
  }

  /** Takes a config another process wrote (seen by the library watch). */
  reload(config: VmConfig, mtimeMs: number): void {
    this.current = config;
    this.mtimeMs = mtimeMs;
    this.announce();
  }

  /** Brings the runtime state up to date, keeping the last known one when QEMU cannot be reached. */
  async safeRefresh(): Promise<void> {
    try {
      await this.supervisor.refresh();
    } catch {
      // Could not reach QEMU (another client holds QMP): keep the last known state.
    }
  }

  private announce(): VmSummary {
    const vm = this.summary();
    this.opts.emit({ type: 'vm.state', vm });
    return vm;
  }
}
