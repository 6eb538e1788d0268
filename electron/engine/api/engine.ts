/**
 * The composition root: builds the engine's services, each with what it needs (the registry,
 * the host, tasks, events), and dispatches the contract to the handler groups of each domain.
 * Every request is validated here, once.
 */
import { chmod, mkdir } from 'node:fs/promises';
import {
  isMethod,
  methods,
  type ApiEvent,
  type ApiResults,
  type Method,
  type Params,
  type VivariumApi,
} from '../../../common/contract';
import { formatBytes, plural } from '../../../common/format';
import { fieldErrors, firstIssueMessage } from '../../../common/validation';
import { isLive } from '../../../common/vm-state';
import type { CatalogOptions } from '../catalog/catalog';
import { mediaUsers } from '../catalog/cdrom-users';
import { CatalogService } from '../catalog/service';
import { VivariumError } from '../errors';
import { EventBus } from '../events/event-bus';
import { HostService } from '../host/host-service';
import { openRuntimeDir } from '../host/runtime-dir';
import { IntentJournal, journalDir, type Recoveries } from '../library/intents';
import { orphansNotice } from '../library/orphans';
import { pendingNotice, recoverInterrupted } from '../library/recovery';
import { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { enginePaths, type EnginePaths } from '../paths';
import type { EngineRole, LaunchPlan } from '../qemu/supervisor';
import { SaveStateService } from '../savestate/service';
import { AppSettingsStore, appSettingsFile } from '../settings/app-settings';
import { SnapshotService } from '../snapshots/service';
import { StatsService } from '../stats/service';
import { CloneService } from '../storage/clones';
import { DiskService } from '../storage/disks';
import { StreamBridge } from '../streams/bridge';
import { TaskManager } from '../tasks/task-manager';
import { NetworkService } from '../network/service';
import { LaunchPlanner } from '../vms/launch-plan';
import { ForwardService } from '../network/forwards';
import { NicService } from '../network/nics';
import { CdromService } from '../devices/cdrom';
import { UsbService } from '../devices/usb';
import { HostUsbScanner } from '../host/usb-devices';
import { VmLifecycle } from '../vms/lifecycle';
import { VmScreen } from '../vms/screen';
import { UefiVarsStore } from '../vms/uefi-vars';
import { ApplianceService } from '../interop/ova/service';
import { applianceHandlers } from './appliance-handlers';
import { catalogHandlers } from './catalog-handlers';
import { diskHandlers } from './disk-handlers';
import type { Handlers } from './handlers';
import { promisedPorts } from '../guest/auto-forwards';
import { guestDefaults } from '../guest/guest-defaults';
import { GuestWatcher } from '../guest/watcher';
import { hostHandlers } from './host-handlers';
import { libvirtHandlers } from './libvirt-handlers';
import { LibvirtExporter } from '../interop/libvirt/export';
import { LibvirtImporter } from '../interop/libvirt/import';
import { mediaHandlers } from './media-handlers';
import { migrationHandlers } from './migration-handlers';
import { IncomingMigrations } from '../migration/incoming';
import { OutgoingMigrations } from '../migration/outgoing';
import { networkHandlers } from './network-handlers';
import { nicHandlers } from './nic-handlers';
import { shareHandlers } from './share-handlers';
import { ShareService } from '../shares/service';
import { recoveries } from './recoveries';
import { removableHandlers } from './removable-handlers';
import { saveStateHandlers, settingsHandlers } from './savestate-handlers';
import { snapshotHandlers } from './snapshot-handlers';
import { statsHandlers } from './stats-handlers';
import { streamHandlers } from './stream-handlers';
import { taskHandlers } from './task-handlers';
import { vmHandlers } from './vm-handlers';

export interface EngineOptions {
  /** Data folder; default VIVARIUM_HOME or the platform's app-data folder. */
  home?: string;
  runtimeDir?: string;
  /** 'owner' (the app, the server) watches every VM; 'oneshot' (a CLI command) attaches lazily. */
  role?: EngineRole;
  qemuDir?: string;
  /** Whether new VMs reach the internet by default (else only this computer, via forwards). */
  guestInternet?: boolean;
  /** Extra catalogue files and the osinfo-db folder (default: VIVARIUM_CATALOG_EXTRA, /usr/share/osinfo). */
  catalog?: CatalogOptions;
  /**
   * The bridge.conf bridge-check reads (default: VIVARIUM_BRIDGE_CONF or /etc/qemu/bridge.conf).
   * qemu-bridge-helper itself always reads /etc/qemu/bridge.conf: this is for tests.
   */
  bridgeConf?: string;
  /** The host's USB device folder in sysfs (default /sys/bus/usb/devices): for tests. */
  usbSysfs?: string;
  /** Keep each running VM's last hour of statistics (default: the owner does). */
  statsHistory?: boolean;
}

export async function openEngine(opts: EngineOptions = {}): Promise<Engine> {
  const engine = new Engine(opts);
  await engine.init();
  return engine;
}

/**
 * Everything a user can do with Vivarium, as one object with no Electron in it: the IPC adapter,
 * the WebSocket server and the CLI all call it.
 */
export class Engine implements VivariumApi {
  readonly paths: EnginePaths;
  readonly role: EngineRole;
  readonly streams = new StreamBridge();
  readonly tasks: TaskManager;
  readonly catalog: CatalogService;
  /** Private networks (the card and forward handlers use it too). */
  readonly networks: NetworkService;
  private readonly events = new EventBus();
  private readonly registry: VmRegistry;
  private readonly launcher: LaunchPlanner;
  private readonly guests: GuestWatcher;
  private readonly saves: SaveStateService;
  /** App settings (settings.json in the home folder): what to do with running VMs at quit. */
  readonly settings: AppSettingsStore;
  private readonly handlers: Handlers;
  private readonly journal: IntentJournal;
  private readonly recoveries: Recoveries;
  private readonly incoming: IncomingMigrations;
  private readonly outgoing: OutgoingMigrations;
  /** The one statistics sampler (benchmarks read its history's size). */
  readonly stats: StatsService;
  /** What this engine's open recovered from operations a killed process left half done. */
  private recovered: string[] = [];
  private closed = false;

  constructor(opts: EngineOptions) {
    this.paths = enginePaths(opts.home, opts.runtimeDir);
    this.role = opts.role ?? 'owner';
    const { events, paths, role, streams } = this;
    this.tasks = new TaskManager((task) => events.emit({ type: 'task', task }));
    const tasks = this.tasks;
    const host = new HostService(paths, opts.qemuDir);
    const registry = new VmRegistry(paths, role, events);
    this.registry = registry;
    const catalog = new CatalogService(paths.cacheDir, opts.catalog);
    this.catalog = catalog;
    // CachedMedia.usedBy and media.delete's check: the cache asks which VMs hold which image
    // (in their CD-ROM, or under their disk).
    catalog.media.users = () => mediaUsers(registry.list());

    const uefiVars = new UefiVarsStore(host);
    const networks = new NetworkService(paths, registry, events, host, {
      bridge: { conf: opts.bridgeConf ?? process.env.VIVARIUM_BRIDGE_CONF },
    });
    this.networks = networks;
    const launcher = new LaunchPlanner(
      host,
      uefiVars,
      (exceptVm) => promisedPorts(registry.list(), exceptVm),
      networks,
    );
    this.launcher = launcher;
    const journal = new IntentJournal(journalDir(paths));
    this.journal = journal;
    const guestInternet = opts.guestInternet ?? process.env.VIVARIUM_GUEST_INTERNET !== '0';
    const lifecycle = new VmLifecycle(registry, host, catalog, uefiVars, journal, guestInternet);
    const screen = new VmScreen(registry);
    const disks = new DiskService(registry, host, tasks, journal);
    const clones = new CloneService(registry, host, tasks, journal);
    const snapshots = new SnapshotService(registry, host, tasks, launcher, role, journal);
    this.recoveries = recoveries(paths, host, registry);

    const guests = new GuestWatcher(role);
    this.guests = guests;
    // Every change the engine announces keeps the VM's guest watch in step (started, stopped,
    // forwards changed); the watch's own announcements find it in step already.
    events.on((event) => {
      if (event.type !== 'vm.state' && event.type !== 'vm.added') return;
      if (registry.has(event.vm.id)) guests.track(registry.resolve(event.vm.id));
    });
    // A network's switch and router serve running VMs only: the last one on it stopping ends them.
    events.on((event) => {
      if (event.type !== 'vm.state' || isLive(event.vm.runtime.state)) return;
      if (!event.vm.config.nics.some((n) => n.attach.kind === 'network')) return;
      networks.releaseUnused().catch(() => undefined);
    });

    const saves = new SaveStateService(registry, host, tasks);
    this.saves = saves;
    this.settings = new AppSettingsStore(appSettingsFile(paths.home));
    const vms = vmHandlers({ registry, lifecycle, launcher, screen, guests, saves, snapshots });
    const forwards = new ForwardService(registry, networks);
    const nics = new NicService(registry, networks, forwards, guestInternet);

    this.incoming = new IncomingMigrations(registry, host, launcher);
    const outgoing = new OutgoingMigrations(registry, tasks, (id) => lifecycle.delete(id, false));
    this.outgoing = outgoing;
    if (role === 'owner') {
      events.on((event) => {
        if (event.type !== 'vm.state' || event.vm.runtime.state !== 'paused') return;
        if (registry.has(event.vm.id)) outgoing.watchPaused(registry.resolve(event.vm.id));
      });
    }

    this.stats = new StatsService(registry, events, role, { history: opts.statsHistory });

    this.handlers = {
      ...taskHandlers(tasks),
      ...hostHandlers(host, registry, () => this.notices(), guestDefaults),
      ...vms,
      // A card on a network that does not exist would only fail at its first start.
      'vm.create': async (req) => {
        if (req.network?.kind === 'network') await networks.requireNetwork(req.network.network);
        return vms['vm.create'](req);
      },
      ...streamHandlers(registry, streams),
      ...diskHandlers(disks, clones),
      ...snapshotHandlers(snapshots),
      ...catalogHandlers(catalog, host, tasks),
      ...mediaHandlers({ catalog, tasks, registry, lifecycle }),
      ...networkHandlers(networks),
      ...nicHandlers(nics, forwards),
      ...saveStateHandlers(saves),
      ...settingsHandlers(this.settings, (event) => events.emit(event)),
      ...migrationHandlers(outgoing, this.incoming),
      ...removableHandlers(
        new CdromService(registry),
        new UsbService(registry, new HostUsbScanner(opts.usbSysfs)),
      ),
      ...shareHandlers(new ShareService(registry)),
      ...statsHandlers(this.stats),
      ...libvirtHandlers(
        new LibvirtExporter(registry, host, tasks),
        new LibvirtImporter(registry, host, tasks, journal),
      ),
      ...applianceHandlers(
        new ApplianceService(registry, host, catalog, tasks, journal, guestInternet),
      ),
    };
  }

  async init(): Promise<void> {
    await mkdir(this.paths.vmsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.paths.cacheDir, { recursive: true, mode: 0o700 });
    await openRuntimeDir(this.paths.runtimeDir);
    await this.registry.open();
    for (const vm of this.registry.list()) this.guests.track(vm);
    // VMs found running when the app opens have their history kept from now on.
    this.stats.wake();
    // Like the leftovers, only the owner repairs: a CLI command reports what is pending.
    if (this.role !== 'owner') return;
    // Made world-readable by older versions: the VM folders (set aside below) and cached media.
    await Promise.all(
      [this.paths.vmsDir, this.paths.cacheDir].map((dir) => chmod(dir, 0o700).catch(() => {})),
    );
    this.recovered = await recoverInterrupted(this.paths, this.journal, this.recoveries);
    for (const name of await this.incoming.sweep()) {
      this.recovered.push(
        `Removed "${name}", a VM whose migration to this computer was interrupted (its disks were incomplete); it still runs on the computer it came from: migrate it again.`,
      );
    }
    const freed = await this.catalog.media.removeUnrecorded();
    if (freed.length) {
      const bytes = freed.reduce((a, b) => a + b, 0);
      this.recovered.push(
        `Removed ${plural(freed.length, 'install image')} that an interrupted download or upload left unrecorded (${formatBytes(bytes)} freed): download or upload again to use them.`,
      );
    }
    for (const message of this.recovered) this.events.emit({ type: 'host.notice', message });
    // A guest found paused may be waiting at the switch-over of a migration whose process died.
    for (const vm of this.registry.list()) {
      if (vm.supervisor.current.state === 'paused') this.outgoing.watchPaused(vm);
    }
    // VMs that stopped while no app ran leave their networks' switches behind.
    await this.networks.releaseUnused().catch(() => undefined);
  }

  /** host.info's notices about the library: recovered work, pending work, folders set aside. */
  private async notices(): Promise<string[]> {
    const pending = await pendingNotice(this.journal);
    const orphans = await orphansNotice(this.paths);
    return [...this.recovered, ...(pending ? [pending] : []), ...(orphans ? [orphans] : [])];
  }

  call<M extends Method>(method: M, params: Params<M>): Promise<ApiResults[M]> {
    return this.callUnknown(method, params) as Promise<ApiResults[M]>;
  }

  /** For front doors that receive untrusted input: the method name and its params are checked. */
  async callUnknown(method: string, params: unknown): Promise<unknown> {
    if (!isMethod(method)) throw new VivariumError('INVALID_REQUEST', `Unknown method ${method}`);
    const parsed = methods[method].safeParse(params ?? {});
    if (!parsed.success) {
      const { issues } = parsed.error;
      throw new VivariumError('INVALID_REQUEST', firstIssueMessage(issues), fieldErrors(issues));
    }
    const handler = this.handlers[method] as (p: unknown) => Promise<unknown>;
    return handler(parsed.data);
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    return this.events.on(listener);
  }

  /** The unix socket of a running VM's serial console or HMP monitor (for a local terminal). */
  async consoleSocket(ref: string, kind: 'serial' | 'monitor'): Promise<string> {
    const vm = this.registry.resolve(ref);
    const runtime = await vm.supervisor.refresh();
    if (!isLive(runtime.state)) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${runtime.state}: start it first.`,
      );
    }
    return kind === 'serial' ? vm.files.serialSock : vm.files.monitorSock;
  }

  /** A VM by id or name, for tests and benchmarks that look at its files and supervisor. */
  resolve(ref: string): Vm {
    return this.registry.resolve(ref);
  }

  /** How `vm` would be started now (benchmarks time QEMU from this plan). */
  launchPlan(vm: Vm): Promise<LaunchPlan> {
    return this.launcher.plan(vm);
  }

  /**
   * The app or `vivarium serve` is quitting: with the onQuit setting 'suspend', every running
   * or paused VM is saved to disk first (one after another); with 'keep', nothing happens.
   * Returns what was saved and what could not be (those keep running).
   */
  async quitting(): Promise<{ saved: string[]; failed: { name: string; reason: string }[] }> {
    const { onQuit } = await this.settings.get();
    if (onQuit !== 'suspend') return { saved: [], failed: [] };
    return this.saves.suspendAll();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A VM half come in is of no use without its source: it goes.
    await this.incoming.close().catch(() => undefined);
    this.stats.close();
    this.guests.close();
    this.networks.close();
    this.registry.close();
    await this.streams.close();
    this.events.clear();
  }
}
