/**
 * The host probe's cache: one JSON file in the cache dir. Facts about a binary are keyed by its
 * path, mtime and size (an upgrade changes them); an accelerator probe's verdict is keyed by
 * everything that could change it (see {@link accelProbeCacheKey}), so a CLI command does not
 * pay the probe's seconds each time. Entries not used by a run are dropped when it saves.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const HOST_CACHE_FILE = 'host-probe.json';
const FORMAT = 1;

export interface FileStamp {
  path: string;
  mtimeMs: number;
  size: number;
}

export interface BinaryFacts {
  /** `major.minor.micro`, or null when `--version` printed none. */
  version: string | null;
  /** Accelerators listed by `-accel help` (system emulators only). */
  accels?: string[];
  /** Data folders listed by `-L help` (system emulators only). */
  dataDirs?: string[];
}

export interface AccelProbeRecord {
  usable: boolean;
  /** The probe guest did not finish before the deadline. */
  hung: boolean;
  /** Why it is not usable (absent when usable). */
  reason?: string;
  elapsedMs: number;
  /** ISO time of the probe. */
  at: string;
}

interface CacheFile {
  format: number;
  binaries: Record<string, BinaryFacts>;
  probes: Record<string, AccelProbeRecord>;
}

export async function fileStamp(path: string): Promise<FileStamp | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? { path, mtimeMs: s.mtimeMs, size: s.size } : null;
  } catch {
    return null;
  }
}

export function binaryCacheKey(stamp: FileStamp): string {
  return `${stamp.path}|${stamp.mtimeMs}|${stamp.size}`;
}

export interface AccelProbeKeyParts {
  accel: string;
  qemu: FileStamp;
  qemuVersion: string;
  /** `os.release()`: a kernel update can fix or break KVM. */
  osRelease: string;
  /** /proc/sys/kernel/random/boot_id when present: a reboot can too (modules, BIOS settings). */
  bootId: string | null;
  /** sha256 of the probe image, so a fixed probe re-runs. */
  probeImageSha256: string;
}

/** A stable key for one accelerator probe verdict; any part changing gives a new key. */
export function accelProbeCacheKey(p: AccelProbeKeyParts): string {
  const parts = [
    p.accel,
    p.qemu.path,
    p.qemu.mtimeMs,
    p.qemu.size,
    p.qemuVersion,
    p.osRelease,
    p.bootId,
    p.probeImageSha256,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class HostCache {
  private readonly used: CacheFile = { format: FORMAT, binaries: {}, probes: {} };
  private dirty = false;

  private constructor(
    readonly file: string | null,
    private readonly old: CacheFile,
  ) {}

  /** An in-memory cache that never touches disk. */
  static memory(): HostCache {
    return new HostCache(null, { format: FORMAT, binaries: {}, probes: {} });
  }

  /** Loads `cacheDir/host-probe.json`; `refresh` ignores what is there (it is rewritten on save). */
  static async load(cacheDir: string, refresh = false): Promise<HostCache> {
    const file = join(cacheDir, HOST_CACHE_FILE);
    let old: CacheFile = { format: FORMAT, binaries: {}, probes: {} };
    if (!refresh) {
      try {
        // An older or hand-edited file can hold anything.
        const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
        if (
          parsed.format === FORMAT &&
          typeof parsed.binaries === 'object' &&
          parsed.binaries !== null &&
          typeof parsed.probes === 'object' &&
          parsed.probes !== null
        ) {
          old = parsed as unknown as CacheFile;
        }
      } catch {
        // missing or unreadable: start empty
      }
    }
    const cache = new HostCache(file, old);
    cache.dirty = refresh;
    return cache;
  }

  getBinary(stamp: FileStamp): BinaryFacts | undefined {
    const key = binaryCacheKey(stamp);
    const hit = this.used.binaries[key] ?? this.old.binaries[key];
    if (hit) this.used.binaries[key] = hit;
    return hit;
  }

  setBinary(stamp: FileStamp, facts: Partial<BinaryFacts>): void {
    const key = binaryCacheKey(stamp);
    const prev = this.getBinary(stamp);
    this.used.binaries[key] = { version: null, ...prev, ...facts };
    this.dirty = true;
  }

  getProbe(key: string): AccelProbeRecord | undefined {
    const hit = this.used.probes[key] ?? this.old.probes[key];
    if (hit) this.used.probes[key] = hit;
    return hit;
  }

  setProbe(key: string, record: AccelProbeRecord): void {
    this.used.probes[key] = record;
    this.dirty = true;
  }

  /** Writes what this run used or learnt, atomically; a cache that can't be written is skipped. */
  async save(): Promise<void> {
    const unusedOld =
      Object.keys(this.old.binaries).some((k) => !(k in this.used.binaries)) ||
      Object.keys(this.old.probes).some((k) => !(k in this.used.probes));
    if (!this.file || (!this.dirty && !unusedOld)) return;
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      await writeFile(tmp, JSON.stringify(this.used, null, 2) + '\n', { mode: 0o600 });
      await rename(tmp, this.file);
      this.dirty = false;
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
