/**
 * What the VMs cost the host: live samples of every running VM and of the host (pushed as
 * `stats.sample` events while a view holds a subscription), the last hour of each VM kept by the
 * engine (`stats.history`, columnar for charts), the balloon and the QEMU command line.
 */
import { z } from 'zod';
import { MemoryMiBSchema, VmRefSchema } from './vm-config';

/** One engine sampler, every VM on the same tick. */
export const STATS_INTERVAL_MS = 2000;
/** How much history the engine keeps per VM. */
export const STATS_HISTORY_SECONDS = 3600;
/** A subscription that is not renewed within this ends by itself (a view that vanished). */
export const STATS_LEASE_MS = 30_000;

/** A figure that this host or VM cannot give, and why (a container, macOS, no driver...). */
export interface Unavailable {
  available: false;
  reason: string;
}

export interface GuestMemory {
  /** What the guest's balloon driver last reported (bytes); null: it does not report that one. */
  totalBytes: number | null;
  availableBytes: number | null;
  freeBytes: number | null;
  cacheBytes: number | null;
  /** Epoch ms of the guest's report. */
  reportedAt: number;
}

/** One sample of one running VM. Counters are totals since QEMU started; rates are per second. */
export interface VmStatsSample {
  vmId: string;
  name: string;
  /** Epoch ms. */
  t: number;
  pid: number;
  /** The whole QEMU process; 100 = one host core (like top). Null on the first sample. */
  cpuPercent: number | null;
  /** Each vCPU thread (from query-cpus-fast), in vCPU order; empty on the first sample. */
  vcpuPercent: number[];
  threads: number | null;
  uptimeSeconds: number | null;
  /** Host memory the process holds. */
  rssBytes: number | null;
  /** Proportional share (shared pages divided among their users); only while subscribed. */
  pssBytes: number | null;
  /** What the guest says about its memory, through the balloon driver. */
  guest: GuestMemory | Unavailable;
  /** The balloon: the memory the guest has now, and the most it may have (its configured memory). */
  balloon: { actualBytes: number; maxBytes: number } | Unavailable;
  disk: {
    readBytes: number;
    writeBytes: number;
    readOps: number;
    writeOps: number;
    readBytesPerSec: number | null;
    writeBytesPerSec: number | null;
  };
  /** Only cards whose host side keeps counters (a tap device: bridged cards). */
  net:
    | {
        rxBytes: number;
        txBytes: number;
        rxBytesPerSec: number | null;
        txBytesPerSec: number | null;
      }
    | Unavailable;
}

export interface KsmStats {
  available: true;
  /** 0 stopped, 1 merging, 2 stopped and unmerged. */
  run: 0 | 1 | 2;
  pagesShared: number;
  pagesSharing: number;
  pagesUnshared: number;
  pagesVolatile: number;
  fullScans: number;
  /** Host memory KSM saves now: pages_sharing times the page size. */
  savedBytes: number;
  /** What turning it on takes (root). QEMU marks guest memory mergeable by default. */
  enableCommand: string;
}

export interface HostStats {
  t: number;
  cpus: number;
  /** All cores together: 100 = every core busy. Null until two samples exist. */
  cpuPercent: number | null;
  memory: { totalBytes: number; usedBytes: number; availableBytes: number };
  /** The configured memory of every running VM together. */
  promisedBytes: number;
  /** promised / total: above 1, the VMs could together ask for more than the host has. */
  overcommitRatio: number;
  runningVms: number;
  ksm: KsmStats | Unavailable;
  /** Transparent huge pages: the mode in force ('always', 'madvise', 'never'). */
  thp: { available: true; mode: string } | Unavailable;
}

/** The last hour of one VM, columnar (one array per series, same length as `t`); null: no data. */
export interface VmStatsHistory {
  vmId: string;
  intervalMs: number;
  t: number[];
  series: {
    cpuPercent: (number | null)[];
    /** All vCPU threads together; 100 = one host core. */
    vcpuPercent: (number | null)[];
    rssBytes: (number | null)[];
    guestAvailableBytes: (number | null)[];
    balloonBytes: (number | null)[];
    diskReadBytesPerSec: (number | null)[];
    diskWriteBytesPerSec: (number | null)[];
    netRxBytesPerSec: (number | null)[];
    netTxBytesPerSec: (number | null)[];
  };
  /** Each vCPU thread (100 = one host core), in vCPU order, same length as `t`. */
  perVcpu: (number | null)[][];
}

export type StatsSeries = keyof VmStatsHistory['series'];

export interface StatsSubscription {
  subscription: string;
  intervalMs: number;
  /** Renew (subscribe again with this id) within this, or the samples stop. */
  leaseMs: number;
}

export interface VmCommandLine {
  pid: number;
  argv: string[];
  /** The whole command, shell-quoted, to paste into a terminal. */
  command: string;
  threads: number | null;
  uptimeSeconds: number | null;
  /** What running it by hand needs first. */
  note: string;
}

export const statsMethods = {
  /**
   * Start (or renew, with `subscription`) the live samples: a `stats.sample` event every
   * STATS_INTERVAL_MS while at least one subscription is held. Unrenewed ones lapse.
   */
  'stats.subscribe': z.object({ subscription: z.string().min(1).max(64).optional() }),
  'stats.unsubscribe': z.object({ subscription: z.string().min(1).max(64) }),
  'stats.history': z.object({
    vm: VmRefSchema,
    seconds: z.number().int().min(1).max(STATS_HISTORY_SECONDS).default(STATS_HISTORY_SECONDS),
  }),
  'stats.host': z.object({}),
  /** Sets the guest's memory while it runs, through its balloon (at most its configured memory). */
  'vm.balloon': z.object({ vm: VmRefSchema, targetMiB: MemoryMiBSchema }),
  /** The running QEMU's pid, threads, uptime and its full command line. */
  'vm.cmdline': z.object({ vm: VmRefSchema }),
} as const;

export interface StatsResults {
  'stats.subscribe': StatsSubscription;
  'stats.unsubscribe': { unsubscribed: boolean };
  'stats.history': VmStatsHistory;
  'stats.host': HostStats;
  'vm.balloon': { targetBytes: number; actualBytes: number };
  'vm.cmdline': VmCommandLine;
}
