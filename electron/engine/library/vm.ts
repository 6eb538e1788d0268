/**
 * One VM as the engine holds it (virt-manager's vmmDomain): its config, its files and its
 * supervisor. `update` is the one way a config changes: validated, written atomically, its mtime
 * noted (so the library watch does not mistake our own write for someone else's) and announced.
 */
import { stat } from 'node:fs/promises';
import {
  VmConfigSchema,
  type ApiEvent,
  type VmConfig,
  type VmSummary,
} from '../../../common/contract';
import type { VmFiles } from '../paths';
import { VmSupervisor, type EngineRole } from '../qemu/supervisor';
import { writeFileAtomic } from './atomic-file';

/** Writes vm.json atomically; returns its new mtime. */
export async function writeVmConfig(files: VmFiles, config: VmConfig): Promise<number> {
  await writeFileAtomic(files.config, `${JSON.stringify(config, null, 2)}\n`);
  return (await stat(files.config)).mtimeMs;
}

export interface VmOptions {
  role: EngineRole;
  emit: (event: ApiEvent) => void;
  /** Takes a name no other VM has or is taking (the registry's rule) until the release runs;
   * called when a change renames. */
  claimName: (name: string, id: string) => () => void;
}

export class Vm {
  readonly supervisor: VmSupervisor;
  private current: VmConfig;
  private mtimeMs: number;

  constructor(
    config: VmConfig,
    readonly files: VmFiles,
    configMtimeMs: number,
    private readonly opts: VmOptions,
  ) {
    this.current = config;
    this.mtimeMs = configMtimeMs;
    this.supervisor = new VmSupervisor(config.id, files, opts.role, () => this.announce());
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
    };
  }

  /**
   * Validates `next`, writes it and announces it. `commit` runs after the write (e.g. renaming a
   * new UEFI variable store into place); if it fails, the previous config is written back, so
   * the files on disk keep matching each other, and its error is thrown.
   */
  async update(next: VmConfig, commit?: () => Promise<void>): Promise<VmSummary> {
    const config = VmConfigSchema.parse(next);
    const release =
      config.name !== this.current.name
        ? this.opts.claimName(config.name, config.id)
        : () => undefined;
    try {
      this.mtimeMs = await writeVmConfig(this.files, config);
      if (commit) {
        try {
          await commit();
        } catch (err) {
          this.mtimeMs = await writeVmConfig(this.files, this.current).catch(() => this.mtimeMs);
          throw err;
        }
      }
      this.current = config;
    } finally {
      release();
    }
    return this.announce();
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
