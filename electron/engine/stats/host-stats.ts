/**
 * The host's side of the bill: CPU, memory, what the running VMs were promised, KSM and
 * transparent huge pages. A file that is not there (a container without /sys, macOS) makes its
 * figure unavailable with the reason, never an error.
 */
import { cpus, freemem, totalmem } from 'node:os';
import type { HostStats, KsmStats, Unavailable } from '../../../common/contract';
import { kbField, readText, systemPageSize } from './proc';

const KSM_DIR = '/sys/kernel/mm/ksm';
const THP_FILE = '/sys/kernel/mm/transparent_hugepage/enabled';

export const KSM_ENABLE_COMMAND = 'echo 1 | sudo tee /sys/kernel/mm/ksm/run';

function missing(what: string): Unavailable {
  return process.platform === 'linux'
    ? {
        available: false,
        reason: `${what} is not readable here (a container or a kernel without it).`,
      }
    : { available: false, reason: `${what} exists on Linux hosts only.` };
}

export async function readKsm(): Promise<KsmStats | Unavailable> {
  const read = async (name: string): Promise<number | null> => {
    const text = await readText(`${KSM_DIR}/${name}`);
    const value = text === null ? NaN : Number(text.trim());
    return Number.isFinite(value) ? value : null;
  };
  const [run, shared, sharing, unshared, volatile, scans] = await Promise.all(
    ['run', 'pages_shared', 'pages_sharing', 'pages_unshared', 'pages_volatile', 'full_scans'].map(
      read,
    ),
  );
  if (run === null || (run !== 0 && run !== 1 && run !== 2)) return missing(KSM_DIR);
  const pageSize = await systemPageSize();
  return {
    available: true,
    run,
    pagesShared: shared ?? 0,
    pagesSharing: sharing ?? 0,
    pagesUnshared: unshared ?? 0,
    pagesVolatile: volatile ?? 0,
    fullScans: scans ?? 0,
    savedBytes: (sharing ?? 0) * pageSize,
    enableCommand: KSM_ENABLE_COMMAND,
  };
}

/** The bracketed word of `always [madvise] never`. */
export function parseThpMode(text: string): string | null {
  return /\[(\w+)\]/.exec(text)?.[1] ?? null;
}

export async function readThp(): Promise<HostStats['thp']> {
  const text = await readText(THP_FILE);
  const mode = text === null ? null : parseThpMode(text);
  return mode ? { available: true, mode } : missing(THP_FILE);
}

/** Total, used and available memory: MemAvailable where Linux says it, Node's figures elsewhere. */
export async function readHostMemory(): Promise<HostStats['memory']> {
  const text = await readText('/proc/meminfo');
  const total = (text === null ? null : kbField(text, 'MemTotal')) ?? totalmem();
  const available = (text === null ? null : kbField(text, 'MemAvailable')) ?? freemem();
  return {
    totalBytes: total,
    availableBytes: available,
    usedBytes: Math.max(0, total - available),
  };
}

/** Busy and total CPU time of every core, in ms (os.cpus() works on every platform). */
export function hostCpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

/** Percent of all cores busy between two readings; null when no time passed. */
export function cpuBetween(
  before: { busy: number; total: number },
  after: { busy: number; total: number },
): number | null {
  const total = after.total - before.total;
  if (total <= 0) return null;
  return Math.min(100, Math.max(0, ((after.busy - before.busy) / total) * 100));
}
