/**
 * What Linux's /proc says about a process and its threads. Parsers are pure (tested on text);
 * readers return null when the file is not there (the process ended, or no /proc: macOS).
 */
import { readFileSync } from 'node:fs';
import { open, readFile, readdir, readlink } from 'node:fs/promises';

/**
 * Clock ticks per second of /proc's CPU times: USER_HZ, which Linux fixes at 100 for user space
 * on every architecture it runs QEMU on (sysconf(_SC_CLK_TCK) is not reachable from Node).
 */
export const CLOCK_TICKS_PER_SEC = 100;

export interface ProcStat {
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  threads: number;
  /** Ticks after boot at which the process started. */
  startTicks: number;
}

/** /proc/PID/stat or /proc/PID/task/TID/stat; the name in parentheses may hold anything. */
export function parseStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // Fields after the name, from field 3 (state) on: utime is field 14, num_threads 20.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const threads = Number(f[17]);
  const start = Number(f[19]);
  if (![utime, stime, threads, start].every(Number.isFinite)) return null;
  return { cpuTicks: utime + stime, threads, startTicks: start };
}

/** A `Key:   1234 kB` line of /proc/PID/status, smaps_rollup or /proc/meminfo, in bytes. */
export function kbField(text: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/**
 * Read synchronously: /proc and /sys files are made by the kernel in memory when read and never
 * block on a disk, and a synchronous read costs a fraction of an asynchronous one (four round
 * trips through libuv's thread pool), which is most of what a sample costs.
 */
export function readText(path: string): Promise<string | null> {
  try {
    return Promise.resolve(readFileSync(path, 'utf8'));
  } catch {
    return Promise.resolve(null);
  }
}

export async function readStat(pid: number, tid?: number): Promise<ProcStat | null> {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const text = await readText(path);
  return text === null ? null : parseStat(text);
}

/** Resident memory from /proc/PID/status: cheap (no page-table walk). */
export async function readRss(pid: number): Promise<number | null> {
  const text = await readText(`/proc/${pid}/status`);
  return text === null ? null : kbField(text, 'VmRSS');
}

/**
 * Proportional set size: each shared page divided among the processes that map it. The kernel
 * walks every page table of the process to compute it (time grows with guest memory), so it is
 * read only while someone watches.
 */
export async function readPss(pid: number): Promise<number | null> {
  const text = await readText(`/proc/${pid}/smaps_rollup`);
  return text === null ? null : kbField(text, 'Pss');
}

export async function readCmdline(pid: number): Promise<string[] | null> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`);
    const parts = raw.toString('utf8').split('\0');
    if (parts.at(-1) === '') parts.pop();
    return parts;
  } catch {
    return null;
  }
}

/** Seconds since boot (/proc/uptime), for a process's age from its start ticks. */
export async function readUptimeSeconds(): Promise<number | null> {
  const text = await readText('/proc/uptime');
  const value = text === null ? NaN : Number(text.split(/\s+/)[0]);
  return Number.isFinite(value) ? value : null;
}

/** How long the process has run, from its stat and the host's uptime. */
export async function processAgeSeconds(stat: ProcStat): Promise<number | null> {
  const uptime = await readUptimeSeconds();
  return uptime === null ? null : Math.max(0, uptime - stat.startTicks / CLOCK_TICKS_PER_SEC);
}

/** The tap interfaces a process holds open (`iff:` in the fdinfo of its /dev/net/tun fds). */
export async function tapInterfaces(pid: number): Promise<string[]> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target !== '/dev/net/tun') continue;
    const info = await readText(`/proc/${pid}/fdinfo/${fd}`);
    const m = info ? /^iff:\s*(\S+)/m.exec(info) : null;
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}

/** A counter in /sys/class/net/IF/statistics; null when it cannot be read. */
export async function readNetCounter(ifname: string, counter: string): Promise<number | null> {
  const text = await readText(`/sys/class/net/${ifname}/statistics/${counter}`);
  const value = text === null ? NaN : Number(text.trim());
  return Number.isFinite(value) ? value : null;
}

/** The page size (KSM counts pages), from the kernel's own report about this process. */
let pageSize: number | null = null;
export async function systemPageSize(): Promise<number> {
  if (pageSize !== null) return pageSize;
  let found = 4096;
  try {
    const handle = await open('/proc/self/smaps', 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      const kb = kbField(buffer.toString('utf8', 0, bytesRead), 'KernelPageSize');
      if (kb) found = kb;
    } finally {
      await handle.close();
    }
  } catch {
    // No /proc: the common 4 KiB.
  }
  pageSize = found;
  return found;
}
