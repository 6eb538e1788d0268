import { randomBytes } from 'node:crypto';
import {
  access,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONFIG_VERSION,
  VmConfigSchema,
  isMethod,
  methods,
  type ApiEvent,
  type ApiResults,
  type HostInfo,
  type Method,
  type Params,
  type ParsedParams,
  type VivariumApi,
  type VmConfig,
  type VmSummary,
} from '../../../common/contract';
import { VivariumError } from '../errors';
import { probeHost, resolveAccelerator } from '../host';
import {
  requireQemuBinary,
  requireQemuImg,
  requireSecureBootFirmware,
  requireSwtpm,
} from '../host/require';
import { isNodeError, readJsonFile, writeFileAtomic } from '../library/atomic-file';
import { removeLeftovers } from '../library/leftovers';
import { migrateConfig } from '../library/migrations';
import { enginePaths, vmFiles, type EnginePaths, type VmFiles } from '../paths';
import { buildQemuArgs, diskPath } from '../qemu/args';
import { openRuntimeDir } from '../host/runtime-dir';
import { readPidFile } from '../qemu/pid-file';
import { readTail } from '../qemu/process-info';
import { isLive, VmSupervisor, type EngineRole } from '../qemu/supervisor';
import {
  createNvram,
  createQcow2,
  imageInfo,
  overwriteNvram,
  parseSize,
} from '../storage/qemu-img';
import { StreamBridge } from '../streams/bridge';
import { checkReadableFile } from './file-checks';
import { pngSize } from './png';
import type { HandlerGroup, Handlers } from './handlers';
import { storageHandlers } from './storage-handlers';
import { assertNotLinkedBase } from '../storage/clones';
import { TaskManager } from '../tasks/task-manager';
import { CatalogService } from '../catalog/service';
import { realPathOf } from '../catalog/media-store';
import type { CatalogOptions } from '../catalog/catalog';
import { catalogHandlers } from './catalog-handlers';

export interface EngineOptions {
  /** Data folder; default VIVARIUM_HOME or the platform's app-data folder. */
  home?: string;
  runtimeDir?: string;
  /** 'owner' (the app, the server) watches every VM; 'oneshot' (a CLI command) attaches lazily. */
  role?: EngineRole;
  qemuDir?: string;
  /** Extra catalogue files and the osinfo-db folder (default: VIVARIUM_CATALOG_EXTRA, /usr/share/osinfo). */
  catalog?: CatalogOptions;
}

export interface VmEntry {
  config: VmConfig;
  files: VmFiles;
  supervisor: VmSupervisor;
  configMtimeMs: number;
}

const WATCH_INTERVAL_MS = 1000;

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export async function openEngine(opts: EngineOptions = {}): Promise<Engine> {
  const engine = new Engine(opts);
  await engine.init();
  return engine;
}

/**
 * Everything a user can do with Vivarium, as one object with no Electron in it: the IPC adapter,
 * the WebSocket server and the CLI all call it, and every request is validated here.
 */
export class Engine implements VivariumApi {
  readonly paths: EnginePaths;
  readonly streams = new StreamBridge();
  readonly tasks = new TaskManager((task) => this.emit({ type: 'task', task }));
  readonly catalog: CatalogService;
  readonly role: EngineRole;
  private readonly vms = new Map<string, VmEntry>();
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private hostInfo: Promise<HostInfo> | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private readonly brokenConfigs = new Map<string, string>();
  private closed = false;

  constructor(private readonly opts: EngineOptions) {
    this.paths = enginePaths(opts.home, opts.runtimeDir);
    this.role = opts.role ?? 'owner';
    this.catalog = new CatalogService(this.paths.cacheDir, opts.catalog);
    // CachedMedia.usedBy and media.delete's check: the cache asks which VMs hold which image.
    this.catalog.media.users = () => this.cdromUsers();
  }

  async init(): Promise<void> {
    await mkdir(this.paths.vmsDir, { recursive: true });
    await mkdir(this.paths.cacheDir, { recursive: true });
    await openRuntimeDir(this.paths.runtimeDir);
    await this.scanLibrary();
    if (this.role === 'owner') {
      await Promise.all([...this.vms.values()].map((vm) => removeLeftovers(vm.files.dir)));
      await Promise.all([...this.vms.values()].map((vm) => this.safeRefresh(vm)));
      this.watchTimer = setInterval(() => void this.watch(), WATCH_INTERVAL_MS);
      this.watchTimer.unref();
    }
  }

  // -------------------------------------------------------------------------------------------
  // The contract

  call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]> {
    return this.callUnknown(method, params) as Promise<ApiResults[M]>;
  }

  /** For front doors that receive untrusted input: the method name and its params are checked. */
  async callUnknown(method: string, params: unknown): Promise<unknown> {
    if (!isMethod(method)) throw new VivariumError('INVALID_REQUEST', `Unknown method ${method}`);
    const schema = methods[method];
    const parsed = schema.safeParse(params ?? {});
    if (!parsed.success) {
      const fields: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const key = issue.path.join('.') || '_';
        fields[key] ??= issue.message;
      }
      const first = parsed.error.issues[0];
      const where = first?.path.length ? `${first.path.join('.')}: ` : '';
      throw new VivariumError('INVALID_REQUEST', `${where}${first?.message ?? 'invalid'}`, fields);
    }
    const handler = this.handlers[method] as (p: unknown) => Promise<unknown>;
    return handler(parsed.data);
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The unix socket of a running VM's serial console or HMP monitor (for a local terminal). */
  async consoleSocket(ref: string, kind: 'serial' | 'monitor'): Promise<string> {
    const vm = this.resolve(ref);
    const runtime = await vm.supervisor.refresh();
    if (!isLive(runtime.state)) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${runtime.state}: start it first.`,
      );
    }
    return kind === 'serial' ? vm.files.serialSock : vm.files.monitorSock;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.watchTimer) clearInterval(this.watchTimer);
    for (const vm of this.vms.values()) vm.supervisor.detach();
    await this.streams.close();
    this.listeners.clear();
  }

  emit(event: ApiEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must not stop the others.
      }
    }
  }

  private readonly taskHandlers: HandlerGroup<'task.list' | 'task.get' | 'task.cancel'> = {
    'task.list': () => Promise.resolve(this.tasks.list()),
    'task.get': ({ id }) => Promise.resolve().then(() => this.tasks.get(id)),
    'task.cancel': ({ id }) => Promise.resolve().then(() => this.tasks.cancel(id)),
  };

  /** Feature modules (storage, snapshots, catalog...) add their groups here. */
  private readonly handlers: Handlers = {
    ...this.taskHandlers,
    ...storageHandlers(this),
    ...catalogHandlers(this),
    'host.info': async ({ refresh }) => {
      const info = await this.host(refresh);
      const broken = [...this.brokenConfigs].map(
        ([dir, reason]) => `The VM in ${dir} could not be loaded: ${reason}`,
      );
      return broken.length ? { ...info, notices: [...info.notices, ...broken] } : info;
    },
    'vm.list': async () => {
      if (this.role === 'oneshot') {
        await Promise.all([...this.vms.values()].map((vm) => this.safeRefresh(vm)));
      }
      return [...this.vms.values()]
        .map((vm) => this.summary(vm))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    'vm.get': async ({ vm }) => {
      const entry = this.resolve(vm);
      await this.safeRefresh(entry);
      return this.summary(entry);
    },
    'vm.create': (req) => this.createVm(req),
    'vm.update': ({ vm, patch }) => this.updateVm(vm, patch),
    'vm.delete': ({ vm, keepDisks }) => this.deleteVm(vm, keepDisks),
    'vm.start': async ({ vm }) => {
      const entry = this.resolve(vm);
      await entry.supervisor.start(await this.launchPlan(entry));
      return this.summary(entry);
    },
    'vm.pause': async ({ vm }) => this.after(vm, (e) => e.supervisor.pause()),
    'vm.resume': async ({ vm }) => this.after(vm, (e) => e.supervisor.resume()),
    'vm.reset': async ({ vm }) => this.after(vm, (e) => e.supervisor.reset()),
    'vm.powerOff': async ({ vm }) => this.after(vm, (e) => e.supervisor.powerOff()),
    'vm.shutdown': async ({ vm, timeoutMs }) => this.resolve(vm).supervisor.shutdown(timeoutMs),
    'vm.screenshot': ({ vm, file }) => this.screenshot(vm, file),
    'vm.sendKeys': async ({ vm, keys }) => {
      const entry = await this.live(vm);
      await entry.supervisor.command('send-key', {
        keys: keys.map((k) => ({ type: 'qcode', data: k })),
      });
      return { sent: keys.length };
    },
    'vm.openStream': async ({ vm, kind }) => {
      const entry = await this.live(vm);
      const socketPath = {
        vnc: entry.files.vncSock,
        serial: entry.files.serialSock,
        monitor: entry.files.monitorSock,
      }[kind];
      return this.streams.issue({
        vmId: entry.config.id,
        kind,
        socketPath,
        replayFile: kind === 'serial' ? entry.files.serialLog : null,
      });
    },
    'vm.log': async ({ vm, kind, maxBytes }) => {
      const entry = this.resolve(vm);
      const file = {
        serial: entry.files.serialLog,
        qemu: entry.files.qemuLog,
        events: entry.files.eventsLog,
      }[kind];
      const size = await stat(file).then(
        (s) => s.size,
        () => 0,
      );
      return { text: await readTail(file, maxBytes), truncated: size > maxBytes, file };
    },
  };

  // -------------------------------------------------------------------------------------------
  // Host

  host(refresh = false): Promise<HostInfo> {
    if (!this.hostInfo || refresh) {
      const probe = probeHost({
        cacheDir: this.paths.cacheDir,
        dataDir: this.paths.home,
        refresh,
        ...(this.opts.qemuDir ? { qemuDir: this.opts.qemuDir } : {}),
      });
      this.hostInfo = probe;
      probe.catch(() => {
        if (this.hostInfo === probe) this.hostInfo = null;
      });
    }
    return this.hostInfo;
  }

  // -------------------------------------------------------------------------------------------
  // Library

  private async scanLibrary(): Promise<void> {
    const dirs = await readdir(this.paths.vmsDir, { withFileTypes: true });
    const seen = new Set<string>();
    for (const dirent of dirs) {
      if (!dirent.isDirectory() || !/^[a-f0-9]{12}$/.test(dirent.name)) continue;
      seen.add(dirent.name);
      const files = vmFiles(this.paths, dirent.name);
      const mtime = await stat(files.config).then(
        (s) => s.mtimeMs,
        () => null,
      );
      if (mtime === null) continue;
      const known = this.vms.get(dirent.name);
      if (known && known.configMtimeMs === mtime) continue;
      try {
        const config = migrateConfig(await readJsonFile(files.config), files.config);
        this.brokenConfigs.delete(files.dir);
        if (known) {
          known.config = config;
          known.configMtimeMs = mtime;
          this.emit({ type: 'vm.state', vm: this.summary(known) });
        } else {
          const entry = this.addEntry(config, files, mtime);
          if (this.watchTimer) this.emit({ type: 'vm.added', vm: this.summary(entry) });
        }
      } catch (err) {
        this.brokenConfigs.set(files.dir, err instanceof Error ? err.message : String(err));
      }
    }
    for (const [id, entry] of this.vms) {
      if (!seen.has(id)) {
        entry.supervisor.detach();
        this.vms.delete(id);
        this.emit({ type: 'vm.removed', id });
      }
    }
  }

  addEntry(config: VmConfig, files: VmFiles, mtime: number): VmEntry {
    const entry: VmEntry = {
      config,
      files,
      configMtimeMs: mtime,
      supervisor: new VmSupervisor(config.id, files, this.role, () => {
        this.emit({ type: 'vm.state', vm: this.summary(entry) });
      }),
    };
    this.vms.set(config.id, entry);
    return entry;
  }

  /** The app notices VMs created, started or stopped by other processes (the CLI). */
  private async watch(): Promise<void> {
    if (this.closed) return;
    try {
      await this.scanLibrary();
      for (const vm of this.vms.values()) {
        if (vm.supervisor.attached) continue;
        const live = isLive(vm.supervisor.current.state);
        const pid = await readPidFile(vm.files.pidFile);
        if (pid !== null || live) await this.safeRefresh(vm);
      }
    } catch {
      // The next tick tries again.
    }
  }

  async safeRefresh(vm: VmEntry): Promise<void> {
    try {
      await vm.supervisor.refresh();
    } catch {
      // Could not reach QEMU (another client holds QMP): keep the last known state.
    }
  }

  resolve(ref: string): VmEntry {
    const byId = this.vms.get(ref);
    if (byId) return byId;
    for (const vm of this.vms.values()) if (vm.config.name === ref) return vm;
    const folded = ref.trim().toLocaleLowerCase();
    for (const vm of this.vms.values()) {
      if (vm.config.name.toLocaleLowerCase() === folded) return vm;
    }
    throw new VivariumError('NOT_FOUND', `There is no VM called "${ref}".`);
  }

  /**
   * The VMs by the real path of the image in their CD-ROM (symlinks resolved, so a link to a
   * cached image counts as that image), each list sorted by name. From the configs this engine
   * holds: the app's rescans the library every second, a CLI command's read it at start.
   */
  async cdromUsers(): Promise<Map<string, { id: string; name: string }[]>> {
    const out = new Map<string, { id: string; name: string }[]>();
    const vms = [...this.vms.values()].sort((a, b) => a.config.name.localeCompare(b.config.name));
    for (const vm of vms) {
      const cdrom = vm.config.cdrom;
      if (!cdrom) continue;
      const file = await realPathOf(cdrom);
      const user = { id: vm.config.id, name: vm.config.name };
      const list = out.get(file);
      if (list) list.push(user);
      else out.set(file, [user]);
    }
    return out;
  }

  assertNameFree(name: string, exceptId?: string): void {
    const folded = name.toLocaleLowerCase();
    for (const vm of this.vms.values()) {
      if (vm.config.id !== exceptId && vm.config.name.toLocaleLowerCase() === folded) {
        throw new VivariumError(
          'NAME_TAKEN',
          `A VM called "${vm.config.name}" already exists: pick another name.`,
          {
            name: 'This name is taken',
          },
        );
      }
    }
  }

  summary(vm: VmEntry): VmSummary {
    return {
      id: vm.config.id,
      name: vm.config.name,
      config: vm.config,
      runtime: vm.supervisor.current,
      dir: vm.files.dir,
    };
  }

  private async after(ref: string, op: (vm: VmEntry) => Promise<unknown>): Promise<VmSummary> {
    const vm = this.resolve(ref);
    await op(vm);
    return this.summary(vm);
  }

  /** The VM, which must be running or paused. */
  async live(ref: string): Promise<VmEntry> {
    const vm = this.resolve(ref);
    const runtime = await vm.supervisor.refresh();
    if (runtime.state !== 'running' && runtime.state !== 'paused') {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${runtime.state}: start it first.`,
      );
    }
    return vm;
  }

  async writeConfig(files: VmFiles, config: VmConfig): Promise<number> {
    await writeFileAtomic(files.config, `${JSON.stringify(config, null, 2)}\n`);
    return (await stat(files.config)).mtimeMs;
  }

  private async createVm(request: ParsedParams<'vm.create'>): Promise<VmSummary> {
    this.assertNameFree(request.name);
    const host = await this.host();
    // With `os`, the catalogue's profile fills what the request leaves out (issue 5).
    const req = await this.catalog.applyProfile(request, host);
    if (req.iso) await checkReadableFile(req.iso, 'ISO image');
    if (req.kernel) await checkReadableFile(req.kernel, 'kernel');
    if (req.initrd) await checkReadableFile(req.initrd, 'initrd');
    const memoryMiB =
      req.memoryMiB ?? Math.min(2048, Math.max(256, Math.floor(host.totalMemoryMiB / 4)));
    if (memoryMiB > host.totalMemoryMiB) {
      throw new VivariumError(
        'RESOURCE_LIMIT',
        `${memoryMiB} MiB is more memory than this computer has (${host.totalMemoryMiB} MiB); give the VM less.`,
        { memoryMiB: `At most ${host.totalMemoryMiB} MiB` },
      );
    }
    const cpus = req.cpus ?? Math.min(2, host.cpus);
    if (cpus > host.cpus) {
      throw new VivariumError(
        'RESOURCE_LIMIT',
        `This computer has ${host.cpus} CPUs; give the VM at most ${host.cpus}.`,
        { cpus: `At most ${host.cpus}` },
      );
    }
    const diskBytes = parseSize(req.diskSize ?? (req.kernel && !req.iso ? '0' : '20G'));
    const firmware = req.firmware ?? 'bios';
    if (firmware === 'uefi' && (!host.firmware.ovmfCode || !host.firmware.ovmfVars)) {
      throw new VivariumError(
        'QEMU_MISSING',
        'UEFI firmware (OVMF) was not found: install it (Debian/Ubuntu: sudo apt install ovmf) or use BIOS.',
      );
    }
    const tpm = req.tpm ?? false;
    const secureBoot = req.secureBoot ?? false;
    if (secureBoot && (firmware !== 'uefi' || (req.machine ?? 'q35') !== 'q35')) {
      throw new VivariumError(
        'INVALID_REQUEST',
        'Secure Boot needs UEFI firmware on the q35 machine: choose them, or turn Secure Boot off.',
      );
    }
    if (secureBoot) requireSecureBootFirmware(host);
    if (tpm) requireSwtpm(host);
    if (diskBytes > 0 || firmware === 'uefi') requireQemuImg(host);

    let id = randomBytes(6).toString('hex');
    while (this.vms.has(id)) id = randomBytes(6).toString('hex');
    const files = vmFiles(this.paths, id);
    const draft = {
      configVersion: CONFIG_VERSION,
      id,
      name: req.name,
      os: req.os,
      notes: req.notes ?? '',
      createdAt: new Date().toISOString(),
      machine: req.machine ?? 'q35',
      firmware,
      cpu: { model: 'max', count: cpus },
      memoryMiB,
      disks:
        diskBytes > 0
          ? [
              {
                id: 'disk0',
                file: 'disk0.qcow2',
                format: 'qcow2',
                bus: req.diskBus ?? 'virtio',
                readOnly: false,
              },
            ]
          : [],
      cdrom: req.iso ?? null,
      bootOrder: req.iso ? ['cdrom', 'disk'] : ['disk', 'cdrom'],
      kernelBoot: req.kernel
        ? {
            kernel: req.kernel,
            ...(req.initrd ? { initrd: req.initrd } : {}),
            append: req.append ?? '',
          }
        : null,
      network: {
        mode: req.network ?? 'user',
        model: req.nicModel ?? 'virtio-net-pci',
        portForwards: [],
      },
      video: req.video ?? 'std',
      usbTablet: req.usbTablet ?? true,
      sound: req.sound ?? 'none',
      tpm,
      secureBoot,
      accel: req.accel ?? 'auto',
      extraArgs: [],
    };
    const config = VmConfigSchema.parse(draft);
    await mkdir(files.logsDir, { recursive: true });
    try {
      if (diskBytes > 0 && host.qemu.img) {
        await createQcow2(host.qemu.img.path, join(files.dir, 'disk0.qcow2'), diskBytes);
      }
      const vars = secureBoot ? host.firmware.ovmfSecureBootVars : host.firmware.ovmfVars;
      if (firmware === 'uefi' && host.qemu.img && vars) {
        await createNvram(host.qemu.img.path, vars, files.nvram);
      }
      const mtime = await this.writeConfig(files, config);
      const entry = this.addEntry(config, files, mtime);
      const summary = this.summary(entry);
      this.emit({ type: 'vm.added', vm: summary });
      return summary;
    } catch (err) {
      // Nothing of a half-made VM stays behind.
      await rm(files.dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async updateVm(
    ref: string,
    patch: ParsedParams<'vm.update'>['patch'],
  ): Promise<VmSummary> {
    const vm = this.resolve(ref);
    // A CLI command's engine has not looked at the VM yet: find out whether QEMU runs it.
    const seen = await vm.supervisor.refresh().catch(() => vm.supervisor.current);
    return vm.supervisor.serialize(async () => {
      const runtime = vm.supervisor.current;
      const liveOnly = new Set(['name', 'notes']);
      const blocked = Object.keys(patch).filter((k) => !liveOnly.has(k));
      if ((isLive(runtime.state) || isLive(seen.state)) && blocked.length) {
        throw new VivariumError(
          'BAD_STATE',
          `Shut the VM down to change ${blocked.join(', ')}: they cannot change while it runs.`,
        );
      }
      if (patch.name !== undefined) this.assertNameFree(patch.name, vm.config.id);
      const c = vm.config;
      if (patch.memoryMiB !== undefined) {
        const host = await this.host();
        if (patch.memoryMiB > host.totalMemoryMiB) {
          throw new VivariumError(
            'RESOURCE_LIMIT',
            `${patch.memoryMiB} MiB is more memory than this computer has (${host.totalMemoryMiB} MiB).`,
            { memoryMiB: `At most ${host.totalMemoryMiB} MiB` },
          );
        }
      }
      if (patch.cdrom) await checkReadableFile(patch.cdrom, 'ISO image');
      const next = VmConfigSchema.parse({
        ...c,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.notes !== undefined ? { notes: patch.notes } : {}),
        ...(patch.memoryMiB !== undefined ? { memoryMiB: patch.memoryMiB } : {}),
        cpu: { model: patch.cpuModel ?? c.cpu.model, count: patch.cpuCount ?? c.cpu.count },
        ...(patch.machine !== undefined ? { machine: patch.machine } : {}),
        ...(patch.firmware !== undefined ? { firmware: patch.firmware } : {}),
        ...(patch.cdrom !== undefined ? { cdrom: patch.cdrom } : {}),
        ...(patch.bootOrder !== undefined ? { bootOrder: patch.bootOrder } : {}),
        network: {
          ...c.network,
          ...(patch.nicModel !== undefined ? { model: patch.nicModel } : {}),
          ...(patch.networkMode !== undefined ? { mode: patch.networkMode } : {}),
          ...(patch.portForwards !== undefined ? { portForwards: patch.portForwards } : {}),
        },
        ...(patch.video !== undefined ? { video: patch.video } : {}),
        ...(patch.sound !== undefined ? { sound: patch.sound } : {}),
        ...(patch.usbTablet !== undefined ? { usbTablet: patch.usbTablet } : {}),
        // Turning the TPM off keeps its state folder (files.tpmStateDir): BitLocker or LUKS keys
        // sealed to the TPM live there, and turning it back on brings them back. Only deleting
        // the VM removes it. QEMU and swtpm only look at it while `tpm` is on (launchPlan).
        ...(patch.tpm !== undefined ? { tpm: patch.tpm } : {}),
        ...(patch.secureBoot !== undefined ? { secureBoot: patch.secureBoot } : {}),
        ...(patch.accel !== undefined ? { accel: patch.accel } : {}),
        ...(patch.kernelBoot !== undefined ? { kernelBoot: patch.kernelBoot } : {}),
        ...(patch.extraArgs !== undefined ? { extraArgs: patch.extraArgs } : {}),
      });
      await this.checkTpmAndSecureBoot(c, next, patch);

      // The UEFI variable store must come from the template that matches Secure Boot: Microsoft's
      // keys enrolled with it, none without (OVMF's plain build enforces Secure Boot too once
      // keys are enrolled). A new one is made beside the old, and only renamed over it once the
      // config that needs it is saved. A VM switched to BIOS keeps a matching store for its way
      // back to UEFI, when this host has the template.
      const hasNvram = await exists(vm.files.nvram);
      const newNvram =
        (next.firmware === 'uefi' && !hasNvram) ||
        (hasNvram &&
          next.secureBoot !== c.secureBoot &&
          (next.firmware === 'uefi' || (await this.hasVarsTemplate(next.secureBoot))))
          ? await this.prepareNvram(vm, next.secureBoot)
          : null;
      try {
        vm.configMtimeMs = await this.writeConfig(vm.files, next);
      } catch (err) {
        if (newNvram) await rm(newNvram, { force: true });
        throw err;
      }
      if (newNvram) {
        try {
          await rename(newNvram, vm.files.nvram);
        } catch (err) {
          // Put the old config back so that it matches the variable store still in place.
          await rm(newNvram, { force: true });
          vm.configMtimeMs = await this.writeConfig(vm.files, c).catch(() => vm.configMtimeMs);
          throw err;
        }
      }
      vm.config = next;
      const summary = this.summary(vm);
      this.emit({ type: 'vm.state', vm: summary });
      return summary;
    });
  }

  /** The rules vm.create applies to tpm and secureBoot, for a config changed by `patch`. */
  private async checkTpmAndSecureBoot(
    before: VmConfig,
    next: VmConfig,
    patch: ParsedParams<'vm.update'>['patch'],
  ): Promise<void> {
    if (next.secureBoot && (next.firmware !== 'uefi' || next.machine !== 'q35')) {
      const fields: Record<string, string> = {};
      if (patch.secureBoot) {
        fields['secureBoot'] = 'Needs UEFI firmware on the q35 machine';
        throw new VivariumError(
          'INVALID_REQUEST',
          'Secure Boot needs UEFI firmware on the q35 machine: choose them too, or leave Secure Boot off.',
          fields,
        );
      }
      const wanted: string[] = [];
      if (next.firmware !== 'uefi') {
        wanted.push('BIOS firmware');
        fields['firmware'] = 'Secure Boot is on: it needs UEFI';
      }
      if (next.machine !== 'q35') {
        wanted.push('the i440FX (pc) machine');
        fields['machine'] = 'Secure Boot is on: it needs q35';
      }
      throw new VivariumError(
        'INVALID_REQUEST',
        `Secure Boot is on, and it needs UEFI firmware on the q35 machine: turn Secure Boot off in the same change to switch to ${wanted.join(' and ')}.`,
        fields,
      );
    }
    if ((next.secureBoot && !before.secureBoot) || (next.tpm && !before.tpm)) {
      const host = await this.host();
      if (next.secureBoot && !before.secureBoot) requireSecureBootFirmware(host);
      if (next.tpm && !before.tpm) requireSwtpm(host);
    }
  }

  private async hasVarsTemplate(secureBoot: boolean): Promise<boolean> {
    const { firmware, qemu } = await this.host();
    const vars = secureBoot ? firmware.ovmfSecureBootVars : firmware.ovmfVars;
    return Boolean(vars && qemu.img);
  }

  /** Makes the UEFI variable store of a UEFI VM that has none (an older VM, a deleted file). */
  private async ensureNvram(vm: VmEntry): Promise<void> {
    if (await exists(vm.files.nvram)) return;
    const made = await this.prepareNvram(vm, vm.config.secureBoot);
    await rename(made, vm.files.nvram).catch(async (err: unknown) => {
      await rm(made, { force: true });
      throw err;
    });
  }

  /**
   * A UEFI variable store for `vm` from the template that matches `secureBoot` (with Secure Boot:
   * Microsoft's keys enrolled), written to a new file beside `files.nvram` whose path it returns:
   * the caller renames it into place, or removes it. Nothing of it is left when this fails.
   * The snapshots inside the current store stay (the new file is a copy of it with its present
   * contents overwritten): a disk-less VM keeps even its saved memory there.
   */
  private async prepareNvram(vm: VmEntry, secureBoot: boolean): Promise<string> {
    const host = await this.host();
    const vars = secureBoot ? requireSecureBootFirmware(host).vars : host.firmware.ovmfVars;
    if (!host.qemu.img || !vars) {
      throw new VivariumError(
        'QEMU_MISSING',
        'UEFI firmware (OVMF) was not found: install it (Debian/Ubuntu: sudo apt install ovmf) or use BIOS.',
      );
    }
    const img = host.qemu.img.path;
    const tmp = `${vm.files.nvram}.new-${process.pid}`;
    await rm(tmp, { force: true });
    try {
      const current = (await exists(vm.files.nvram))
        ? await imageInfo(img, vm.files.nvram, { format: 'qcow2' })
        : null;
      if (current && current.virtualSize === (await stat(vars)).size) {
        await copyFile(vm.files.nvram, tmp);
        await overwriteNvram(img, vars, tmp);
      } else {
        if (current?.snapshots.length) {
          // Another firmware build (the host's OVMF changed): a fresh store would lose them.
          throw new VivariumError(
            'BAD_STATE',
            `The UEFI variable store of "${vm.config.name}" holds snapshots and does not fit ${vars}: delete its snapshots first, or leave Secure Boot as it is.`,
          );
        }
        await createNvram(img, vars, tmp);
      }
      const handle = await open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      return tmp;
    } catch (err) {
      await rm(tmp, { force: true });
      if (isNodeError(err) && (err.code === 'ENOSPC' || err.code === 'EDQUOT')) {
        throw new VivariumError(
          'DISK_FULL',
          `The disk holding ${vm.files.dir} is full: free some space and try again (nothing was changed).`,
        );
      }
      throw err;
    }
  }

  private async deleteVm(ref: string, keepDisks: boolean): Promise<ApiResults['vm.delete']> {
    const vm = this.resolve(ref);
    const runtime = await vm.supervisor.refresh().catch(() => vm.supervisor.current);
    return vm.supervisor.serialize(async () => {
      if (isLive(runtime.state) || isLive(vm.supervisor.current.state)) {
        throw new VivariumError(
          'BAD_STATE',
          `"${vm.config.name}" is ${runtime.state}: shut it down before deleting it.`,
        );
      }
      await assertNotLinkedBase(this, vm);
      const kept: string[] = [];
      if (keepDisks) {
        const diskFiles = new Set(vm.config.disks.map((d) => diskPath(vm.files.dir, d)));
        for (const name of await readdir(vm.files.dir)) {
          const full = join(vm.files.dir, name);
          // A frozen linked-clone base is part of the kept disks' backing chain.
          if (diskFiles.has(full) || /^base-.*\.qcow2$/.test(name)) kept.push(full);
          else await rm(full, { recursive: true, force: true });
        }
        // Without vm.json the folder is no longer a VM; give it a name that says what it holds.
        if (kept.length === 0) await rm(vm.files.dir, { recursive: true, force: true });
      } else {
        await rm(vm.files.dir, { recursive: true, force: true });
      }
      await rm(vm.files.run, { recursive: true, force: true });
      vm.supervisor.detach();
      this.vms.delete(vm.config.id);
      this.emit({ type: 'vm.removed', id: vm.config.id });
      return { deleted: true as const, keptFiles: kept };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Running

  async launchPlan(vm: VmEntry) {
    const host = await this.host();
    const binary = requireQemuBinary(host, vm.config.arch);
    const c = vm.config;
    if (c.cdrom)
      await checkReadableFile(c.cdrom, 'ISO image', 'change the CD-ROM in the VM settings');
    if (c.kernelBoot) {
      await checkReadableFile(
        c.kernelBoot.kernel,
        'kernel',
        'fix the kernel path in the VM settings',
      );
      if (c.kernelBoot.initrd) {
        await checkReadableFile(
          c.kernelBoot.initrd,
          'initrd',
          'fix the initrd path in the VM settings',
        );
      }
    }
    for (const disk of c.disks) {
      await checkReadableFile(diskPath(vm.files.dir, disk), `disk ${disk.id}`);
    }
    if (c.firmware === 'uefi') await this.ensureNvram(vm);
    const { accel, notice } = resolveAccelerator(host, c.accel);
    const swtpm = c.tpm ? requireSwtpm(host) : null;
    const args = buildQemuArgs(c, {
      accel,
      platform: process.platform,
      ovmfCode: host.firmware.ovmfCode,
      ovmfSecureBootCode: c.secureBoot ? requireSecureBootFirmware(host).code : null,
      tpmSocket: swtpm ? vm.files.tpmSock : null,
      vmDir: vm.files.dir,
      files: vm.files,
    });
    const tpm = swtpm
      ? {
          binary: swtpm,
          stateDir: vm.files.tpmStateDir,
          socket: vm.files.tpmSock,
          pidFile: vm.files.tpmPidFile,
          log: vm.files.tpmLog,
        }
      : undefined;
    return { binary, args, accel, accelNotice: notice, ...(tpm ? { tpm } : {}) };
  }

  private async screenshot(
    ref: string,
    file: string | undefined,
  ): Promise<ApiResults['vm.screenshot']> {
    const vm = await this.live(ref);
    await mkdir(vm.files.screenshotsDir, { recursive: true });
    const target = file ?? join(vm.files.screenshotsDir, `screen-${Date.now()}.png`);
    await vm.supervisor.command('screendump', { filename: target, format: 'png' });
    const png = await readFile(target);
    const { width, height } = pngSize(png);
    if (!file) await rm(target, { force: true });
    return { file: file ?? '', pngBase64: file ? null : png.toString('base64'), width, height };
  }
}
