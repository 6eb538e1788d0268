/**
 * The engine's one statistics sampler: every STATS_INTERVAL_MS, every running VM on the same
 * tick (never a timer per view).
 *
 * What runs when nobody listens: the app's engine (role 'owner') keeps the last hour of each
 * running VM, because a chart opened later must show the past, and a sample is cheap (a few small
 * /proc files per VM plus query-blockstats and the balloon's cached report over QMP, ~1 ms).
 * What only runs while someone subscribes: the PSS (smaps_rollup walks every page table of the
 * process: its cost grows with guest memory), the host figures and the `stats.sample` events
 * themselves. A CLI command's engine keeps no history: it lives for one command.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import {
  STATS_HISTORY_SECONDS,
  STATS_INTERVAL_MS,
  STATS_LEASE_MS,
  type GuestMemory,
  type HostStats,
  type StatsResults,
  type StatsSubscription,
  type Unavailable,
  type VmCommandLine,
  type VmStatsHistory,
  type VmStatsSample,
} from '../../../common/contract';
import { isLive } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { EventBus } from '../events/event-bus';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { BALLOON_ID } from '../qemu/args';
import type { EngineRole } from '../qemu/supervisor';
import { shellCommand } from './cmdline';
import { StatsRing } from './history';
import { historyPoint } from '../../../common/stats-history';
import { cpuBetween, hostCpuTimes, readHostMemory, readKsm, readThp } from './host-stats';
import {
  CLOCK_TICKS_PER_SEC,
  processAgeSeconds,
  readCmdline,
  readNetCounter,
  readPss,
  readRss,
  readStat,
  tapInterfaces,
} from './proc';

const BALLOON_PATH = `/machine/peripheral/${BALLOON_ID}`;
/** A sample's QMP questions give up after this: a VM busy in a snapshot save is skipped. */
const QMP_TIMEOUT_MS = 1500;
const MiB = 1024 * 1024;
/** PSS is read every this many samples (10 s), and the last value shown in between. */
const PSS_EVERY = 5;

interface Counters {
  /** performance.now() of the reading. */
  at: number;
  cpuTicks: number;
  threadTicks: (number | null)[];
  diskRead: number;
  diskWrite: number;
  netRx: number | null;
  netTx: number | null;
}

/** What the sampler knows of one VM; its ring outlives restarts (gaps stay gaps). */
interface Track {
  ring: StatsRing | null;
  pid: number | null;
  /** vCPU thread ids from query-cpus-fast, asked once per QEMU process. */
  vcpuThreads: number[] | null;
  /** Whether this QEMU has the balloon; null: not asked yet. */
  balloon: boolean | null;
  taps: string[];
  prev: Counters | null;
  busy: boolean;
  /** The last PSS read, and how many samples ago. */
  pss: number | null;
  pssAge: number;
}

interface BlockStats {
  stats?: {
    rd_bytes?: number;
    wr_bytes?: number;
    rd_operations?: number;
    wr_operations?: number;
  };
}

interface GuestStatsReply {
  stats?: Record<string, number>;
  'last-update'?: number;
}

export interface StatsOptions {
  /** Keep each running VM's last hour even when nobody subscribes (default: the owner does). */
  history?: boolean;
}

const rate = (delta: number, seconds: number): number | null =>
  seconds > 0 && delta >= 0 ? delta / seconds : null;

function unavailable(reason: string): Unavailable {
  return { available: false, reason };
}

export class StatsService {
  private readonly tracks = new Map<string, Track>();
  /** Subscription id -> when its lease ends (epoch ms). */
  private readonly leases = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private hostCpu: { at: number; times: { busy: number; total: number } } | null = null;
  private keepHistory: boolean;
  private readonly offEvents: () => void;
  private closed = false;

  constructor(
    private readonly registry: VmRegistry,
    private readonly events: EventBus,
    role: EngineRole,
    opts: StatsOptions = {},
  ) {
    this.keepHistory = opts.history ?? role === 'owner';
    this.offEvents = events.on((event) => {
      if (event.type === 'vm.removed') this.tracks.delete(event.id);
      if (event.type === 'vm.state' && isLive(event.vm.runtime.state)) this.wake();
    });
  }

  /** Starts the tick when there is something to sample (a running VM kept in history, a view). */
  wake(): void {
    if (this.closed || this.timer) return;
    if (!this.keepHistory && this.leases.size === 0) return;
    this.timer = setInterval(() => void this.tick(), STATS_INTERVAL_MS);
    // The sampler alone never keeps a process alive.
    this.timer.unref();
  }

  /** Keeps (or stops keeping) the unwatched history; the benchmark compares both. */
  setHistory(on: boolean): void {
    this.keepHistory = on;
    if (on) this.wake();
  }

  private sleep(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  subscribe(renew?: string): StatsSubscription {
    const id = renew && this.leases.has(renew) ? renew : randomBytes(9).toString('base64url');
    this.leases.set(id, Date.now() + STATS_LEASE_MS);
    this.wake();
    return { subscription: id, intervalMs: STATS_INTERVAL_MS, leaseMs: STATS_LEASE_MS };
  }

  /** Whether a view holds a subscription (samples are pushed, PSS is read). */
  get watching(): boolean {
    return this.leases.size > 0;
  }

  unsubscribe(id: string): boolean {
    return this.leases.delete(id);
  }

  /** Bytes the history rings hold (for the benchmark). */
  get historyBytes(): number {
    let bytes = 0;
    for (const t of this.tracks.values()) bytes += t.ring?.bytes ?? 0;
    return bytes;
  }

  history(ref: string, seconds = STATS_HISTORY_SECONDS): VmStatsHistory {
    const vm = this.registry.resolve(ref);
    const ring = this.tracks.get(vm.id)?.ring;
    const since = Date.now() - seconds * 1000;
    return ring
      ? ring.window(vm.id, since)
      : new StatsRing(1).window(vm.id, Number.POSITIVE_INFINITY);
  }

  /**
   * One tick: every live VM, then (for subscribers) the host and the event. Ticks may overlap
   * when a QEMU answers slowly: each VM is in one tick at a time (its busy flag), so a slow VM
   * misses samples without holding the others back.
   */
  async tick(): Promise<VmStatsSample[]> {
    if (this.closed) return [];
    const now = Date.now();
    for (const [id, until] of this.leases) if (until < now) this.leases.delete(id);
    const watched = this.leases.size > 0;
    await this.lookIfOneshot();
    const vms = this.registry
      .list()
      .filter((vm) => isLive(vm.supervisor.current.state) && vm.supervisor.current.pid);
    if (!watched && (!this.keepHistory || vms.length === 0)) {
      this.sleep();
      return [];
    }
    const samples = (await Promise.all(vms.map((vm) => this.sampleVm(vm, watched)))).filter(
      (s): s is VmStatsSample => s !== null,
    );
    if (watched) {
      this.events.emit({ type: 'stats.sample', host: await this.host(), vms: samples });
    }
    return samples;
  }

  /** A CLI engine does not watch the library: it looks at each VM now. */
  private async lookIfOneshot(): Promise<void> {
    if (this.registry.role === 'oneshot') {
      await Promise.all(this.registry.list().map((vm) => vm.safeRefresh()));
    }
  }

  private track(id: string): Track {
    let t = this.tracks.get(id);
    if (!t) {
      t = {
        ring: null,
        pid: null,
        vcpuThreads: null,
        balloon: null,
        taps: [],
        prev: null,
        busy: false,
        pss: null,
        pssAge: 0,
      };
      this.tracks.set(id, t);
    }
    return t;
  }

  private async sampleVm(vm: Vm, watched: boolean): Promise<VmStatsSample | null> {
    const pid = vm.supervisor.current.pid;
    if (!pid || !vm.supervisor.attached) return null;
    const track = this.track(vm.id);
    // A VM whose last sample is still waiting (QEMU busy saving) is skipped, not piled up.
    if (track.busy) return null;
    track.busy = true;
    try {
      return await this.sampleTrack(vm, pid, track, watched);
    } catch {
      // The VM stopped between the list and the sample, or QMP timed out: next tick.
      return null;
    } finally {
      track.busy = false;
    }
  }

  private async sampleTrack(
    vm: Vm,
    pid: number,
    track: Track,
    watched: boolean,
  ): Promise<VmStatsSample | null> {
    const sup = vm.supervisor;
    if (track.pid !== pid) {
      track.pid = pid;
      track.prev = null;
      track.vcpuThreads = null;
      track.balloon = null;
      track.pss = null;
      track.taps = await tapInterfaces(pid);
    }
    if (track.vcpuThreads === null) {
      const cpusFast = await sup.command<{ 'thread-id': number }[]>(
        'query-cpus-fast',
        undefined,
        QMP_TIMEOUT_MS,
      );
      track.vcpuThreads = cpusFast.map((c) => c['thread-id']);
    }
    if (track.balloon === null) track.balloon = await this.startGuestStats(vm);

    const [stat, threadStats, rss, pss, blocks, balloonInfo, guestStats] = await Promise.all([
      readStat(pid),
      Promise.all(track.vcpuThreads.map((tid) => readStat(pid, tid))),
      readRss(pid),
      watched ? this.pss(pid, track) : Promise.resolve(null),
      sup.command<BlockStats[]>('query-blockstats', undefined, QMP_TIMEOUT_MS),
      track.balloon
        ? sup.command<{ actual: number }>('query-balloon', undefined, QMP_TIMEOUT_MS)
        : Promise.resolve(null),
      track.balloon
        ? sup.command<GuestStatsReply>(
            'qom-get',
            { path: BALLOON_PATH, property: 'guest-stats' },
            QMP_TIMEOUT_MS,
          )
        : Promise.resolve(null),
    ]);
    if (!stat) return null;
    const at = performance.now();
    const t = Date.now();

    let diskRead = 0;
    let diskWrite = 0;
    let readOps = 0;
    let writeOps = 0;
    for (const b of blocks) {
      diskRead += b.stats?.rd_bytes ?? 0;
      diskWrite += b.stats?.wr_bytes ?? 0;
      readOps += b.stats?.rd_operations ?? 0;
      writeOps += b.stats?.wr_operations ?? 0;
    }
    let netRx: number | null = null;
    let netTx: number | null = null;
    if (track.taps.length) {
      // The tap's receive is what the guest sent, and the other way round.
      const counters = await Promise.all(
        track.taps.map(async (ifname) => ({
          fromGuest: await readNetCounter(ifname, 'rx_bytes'),
          toGuest: await readNetCounter(ifname, 'tx_bytes'),
        })),
      );
      netRx = counters.reduce((sum, c) => sum + (c.toGuest ?? 0), 0);
      netTx = counters.reduce((sum, c) => sum + (c.fromGuest ?? 0), 0);
    }

    const now: Counters = {
      at,
      cpuTicks: stat.cpuTicks,
      threadTicks: threadStats.map((s) => s?.cpuTicks ?? null),
      diskRead,
      diskWrite,
      netRx,
      netTx,
    };
    const prev = track.prev;
    track.prev = now;
    const seconds = prev ? (at - prev.at) / 1000 : 0;
    const percent = (ticks: number): number | null =>
      seconds > 0 ? Math.max(0, (ticks / CLOCK_TICKS_PER_SEC / seconds) * 100) : null;
    const cpuPercent = prev ? percent(now.cpuTicks - prev.cpuTicks) : null;
    const vcpuPercent = prev
      ? now.threadTicks.map((ticks, i) => {
          const before = prev.threadTicks[i];
          return ticks === null || before === null || before === undefined
            ? 0
            : (percent(ticks - before) ?? 0);
        })
      : [];

    const maxBytes = vm.config.memoryMiB * MiB;
    const balloon: VmStatsSample['balloon'] = balloonInfo
      ? { actualBytes: balloonInfo.actual, maxBytes }
      : unavailable(
          vm.config.balloon
            ? 'This VM was started before its balloon was turned on: shut it down and start it again.'
            : 'This VM has no memory balloon: turn it on in its settings (from its next start).',
        );
    const guest = this.guestMemory(track.balloon, guestStats);
    const net: VmStatsSample['net'] =
      netRx !== null && netTx !== null
        ? {
            rxBytes: netRx,
            txBytes: netTx,
            rxBytesPerSec: prev?.netRx != null ? rate(netRx - prev.netRx, seconds) : null,
            txBytesPerSec: prev?.netTx != null ? rate(netTx - prev.netTx, seconds) : null,
          }
        : unavailable(
            'Only bridged cards (a tap device on the host) keep byte counters QEMU 7.2 lets the host read; NAT (user-mode) and private-network (VDE) cards do not.',
          );
    const sample: VmStatsSample = {
      vmId: vm.id,
      name: vm.config.name,
      t,
      pid,
      cpuPercent,
      vcpuPercent,
      threads: stat.threads,
      uptimeSeconds: watched ? await processAgeSeconds(stat) : null,
      rssBytes: rss,
      pssBytes: pss,
      guest,
      balloon,
      disk: {
        readBytes: diskRead,
        writeBytes: diskWrite,
        readOps,
        writeOps,
        readBytesPerSec: prev ? rate(diskRead - prev.diskRead, seconds) : null,
        writeBytesPerSec: prev ? rate(diskWrite - prev.diskWrite, seconds) : null,
      },
      net,
    };
    const point = this.keepHistory ? historyPoint(sample) : null;
    if (point) (track.ring ??= new StatsRing()).push(t, point);
    return sample;
  }

  /**
   * PSS costs the kernel a walk of every page table of QEMU (it shows as this process's system
   * time, and grows with guest memory), and it moves slowly: read it every PSS_EVERY samples.
   */
  private async pss(pid: number, track: Track): Promise<number | null> {
    if (track.pss !== null && track.pid === pid && ++track.pssAge < PSS_EVERY) return track.pss;
    track.pssAge = 0;
    track.pss = await readPss(pid);
    return track.pss;
  }

  /**
   * Asks the guest's balloon driver to report its memory every sampling interval (a QEMU
   * property: it stays set for the life of the process, whoever set it). False: no balloon.
   */
  private async startGuestStats(vm: Vm): Promise<boolean> {
    try {
      await vm.supervisor.command(
        'qom-set',
        {
          path: BALLOON_PATH,
          property: 'guest-stats-polling-interval',
          value: STATS_INTERVAL_MS / 1000,
        },
        QMP_TIMEOUT_MS,
      );
      return true;
    } catch {
      return false;
    }
  }

  private guestMemory(
    hasBalloon: boolean | null,
    reply: GuestStatsReply | null,
  ): GuestMemory | Unavailable {
    if (!hasBalloon) {
      return unavailable(
        'The guest reports its memory through the balloon, which this VM has not.',
      );
    }
    const updated = reply?.['last-update'] ?? 0;
    if (!reply?.stats || updated <= 0) {
      return unavailable(
        'The guest has not reported its memory yet: its balloon driver reports every few seconds once loaded (Linux and the BSDs have one; Windows needs the virtio-win drivers; DOS has none).',
      );
    }
    const figure = (key: string): number | null => {
      const v = reply.stats?.[key];
      return typeof v === 'number' && v >= 0 ? v : null;
    };
    return {
      totalBytes: figure('stat-total-memory'),
      availableBytes: figure('stat-available-memory'),
      freeBytes: figure('stat-free-memory'),
      cacheBytes: figure('stat-disk-caches'),
      reportedAt: updated * 1000,
    };
  }

  async host(): Promise<HostStats> {
    const times = hostCpuTimes();
    let cpuPercent: number | null = null;
    const last = this.hostCpu;
    if (last && Date.now() - last.at < 10 * STATS_INTERVAL_MS) {
      cpuPercent = cpuBetween(last.times, times);
    } else {
      // No recent reading to compare with: measure over a short while.
      await new Promise((r) => setTimeout(r, 250));
      const later = hostCpuTimes();
      cpuPercent = cpuBetween(times, later);
    }
    this.hostCpu = { at: Date.now(), times: hostCpuTimes() };
    const memory = await readHostMemory();
    await this.lookIfOneshot();
    const running = this.registry.list().filter((vm) => isLive(vm.supervisor.current.state));
    const promisedBytes = running.reduce((sum, vm) => sum + vm.config.memoryMiB * MiB, 0);
    const [ksm, thp] = await Promise.all([readKsm(), readThp()]);
    return {
      t: Date.now(),
      cpus: cpus().length,
      cpuPercent,
      memory,
      promisedBytes,
      overcommitRatio: memory.totalBytes > 0 ? promisedBytes / memory.totalBytes : 0,
      runningVms: running.length,
      ksm,
      thp,
    };
  }

  /** Sets the guest's memory through its balloon; the guest gets there over the next seconds. */
  async balloon(ref: string, targetMiB: number): Promise<StatsResults['vm.balloon']> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    const name = vm.config.name;
    if (!vm.config.balloon) {
      throw new VivariumError(
        'BAD_STATE',
        `"${name}" has no memory balloon: turn it on (vivarium set "${name}" --balloon, or its settings), then shut it down and start it again.`,
      );
    }
    const { state } = vm.supervisor.current;
    if (state !== 'running' && state !== 'paused') {
      throw new VivariumError(
        'BAD_STATE',
        `"${name}" is ${state}: its memory is set in its settings while it is shut down, or through the balloon once it runs.`,
      );
    }
    if (targetMiB > vm.config.memoryMiB) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `"${name}" can have at most ${vm.config.memoryMiB} MiB, its configured memory: to give it more, shut it down and raise its memory.`,
        { targetMiB: `At most ${vm.config.memoryMiB}` },
      );
    }
    try {
      await vm.supervisor.command('balloon', { value: targetMiB * MiB }, QMP_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof VivariumError && /balloon/i.test(err.message)) {
        throw new VivariumError(
          'BAD_STATE',
          `"${name}" was started without its balloon: shut it down and start it again to use it.`,
        );
      }
      throw err;
    }
    const { actual } = await vm.supervisor.command<{ actual: number }>(
      'query-balloon',
      undefined,
      QMP_TIMEOUT_MS,
    );
    return { targetBytes: targetMiB * MiB, actualBytes: actual };
  }

  async cmdline(ref: string): Promise<VmCommandLine> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    const { pid, state } = vm.supervisor.current;
    const argv = pid ? await readCmdline(pid) : null;
    if (!pid || !argv) {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.config.name}" is ${state}: start it first (the command line is read from the running QEMU).`,
      );
    }
    const stat = await readStat(pid);
    return {
      pid,
      argv,
      command: shellCommand(argv),
      threads: stat?.threads ?? null,
      uptimeSeconds: stat ? await processAgeSeconds(stat) : null,
      note: 'To run it by hand, shut the VM down first: the command uses its disks, sockets and pid file. It starts paused (-S): type "cont" in its monitor, or remove -S.',
    };
  }

  close(): void {
    this.closed = true;
    this.sleep();
    this.offEvents();
    this.leases.clear();
  }
}
