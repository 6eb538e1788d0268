/**
 * The host probe: QEMU binaries and versions, accelerators (compiled in, host interface, and a test
 * guest that must finish), firmware, CPUs, memory and free disk, assembled into a HostInfo.
 * Independent steps run in parallel; versions, `-accel help`/`-L help` and probe verdicts are cached
 * in `cacheDir`, so a cached probe costs a few stats and one file read.
 */
import { access, constants, readFile, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {
  Accelerator,
  AcceleratorReport,
  HostInfo,
  NodePlatform,
  QemuBinary,
} from '../../../common/contract';
import {
  ACCEL_PROBE_TIMEOUT_MS,
  accelDisplayName,
  ensureProbeImage,
  hardwareAccelFor,
  hardwareProbeBudgetMs,
  hostInterface,
  parseAccelHelp,
  runAccelProbe,
  type ProbeImage,
} from './accel';
import { accelProbeCacheKey, fileStamp, HostCache, type AccelProbeRecord } from './cache';
import { findQemu, qemuSearchDirs } from './find-qemu';
import { probeArchSupport } from './arch-support';
import { findFirmware } from './firmware';
import { readOsRelease } from './install-hint';
import { fallbackNotice } from './resolve';
import { runProgram } from './run';

export interface ProbeHostOptions {
  /** Where the probe image and the cache file live. */
  cacheDir: string;
  /** The data folder whose free space is reported. */
  dataDir: string;
  /** Ignore cached versions and probe verdicts (they are rewritten). */
  refresh?: boolean;
  /** A configured QEMU folder, searched before VIVARIUM_QEMU_DIR and PATH. */
  qemuDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Deadline for each accelerator's test guest. */
  probeTimeoutMs?: number;
}

export function nodePlatform(p: NodeJS.Platform): NodePlatform {
  return p === 'linux' || p === 'darwin' || p === 'win32' || p === 'freebsd' || p === 'openbsd'
    ? p
    : 'other';
}

/** Node's arch names in QEMU's words (x64 -> x86_64, arm64 -> aarch64, ia32 -> i386). */
export function qemuArchName(nodeArch: string): string {
  switch (nodeArch) {
    case 'x64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case 'ia32':
      return 'i386';
    default:
      return nodeArch;
  }
}

/** swtpm (a VM's TPM 2.0) on PATH (or /usr/bin, /usr/local/bin); null when not installed. */
export async function findSwtpm(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): Promise<string | null> {
  if (platform === 'win32') return null;
  const dirs = [...qemuSearchDirs({ env, platform }), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const file = path.join(dir, 'swtpm');
    try {
      if (!(await stat(file)).isFile()) continue;
      await access(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** Free bytes for an unprivileged user on the file system holding `dir` (or its nearest parent). */
export async function freeDiskBytes(dir: string): Promise<number | null> {
  let d = path.resolve(dir);
  for (;;) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch (err) {
      const parent = path.dirname(d);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === d) return null;
      d = parent;
    }
  }
}

async function readBootId(): Promise<string | null> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim() || null;
  } catch {
    return null;
  }
}

interface BinaryDetails {
  accels: string[];
  dataDirs: string[];
}

/** `-accel help` and `-L help` of a system emulator, cached by its stamp. */
async function binaryDetails(bin: QemuBinary, cache: HostCache): Promise<BinaryDetails> {
  const stamp = await fileStamp(bin.path);
  const hit = stamp ? cache.getBinary(stamp) : undefined;
  if (hit?.accels && hit.dataDirs) return { accels: hit.accels, dataDirs: hit.dataDirs };
  const [accelHelp, dirHelp] = await Promise.all([
    runProgram(bin.path, ['-accel', 'help'], { timeoutMs: 5000 }),
    runProgram(bin.path, ['-L', 'help'], { timeoutMs: 5000 }),
  ]);
  const accels = accelHelp.code === 0 ? parseAccelHelp(accelHelp.stdout) : [];
  const dataDirs =
    dirHelp.code === 0
      ? dirHelp.stdout
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter((l) => path.isAbsolute(l))
          .map((l) => path.normalize(l))
      : [];
  // Only cache a clean answer: a failed run is tried again next time.
  if (stamp && accelHelp.code === 0 && dirHelp.code === 0) {
    cache.setBinary(stamp, { version: bin.version, accels, dataDirs });
  }
  return { accels, dataDirs };
}

interface AccelOutcome {
  report: AcceleratorReport;
  notice: string | null;
}

interface ProbeContext {
  bin: QemuBinary;
  compiled: readonly string[];
  image: Promise<ProbeImage>;
  cache: HostCache;
  bootId: string | null;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** Decided without a probe, answered by the cache, or a probe to run (and cache under `key`). */
type Prepared =
  | { kind: 'decided'; outcome: AccelOutcome }
  | { kind: 'known'; record: AccelProbeRecord }
  | { kind: 'run'; image: ProbeImage; key: string | null };

async function prepare(accel: Accelerator, ctx: ProbeContext): Promise<Prepared> {
  const name = accelDisplayName(accel);
  // An empty list means `-accel help` did not answer: let the probe decide.
  if (ctx.compiled.length > 0 && !ctx.compiled.includes(accel)) {
    const report: AcceleratorReport = {
      name: accel,
      present: false,
      usable: false,
      reason: `this QEMU (${ctx.bin.path}) was built without ${name} support; install your system's QEMU package`,
    };
    const notice =
      accel === 'tcg'
        ? `This QEMU (${ctx.bin.path}) was built without TCG, so VMs can run only under a working hardware accelerator.`
        : fallbackNotice(report);
    return { kind: 'decided', outcome: { report, notice } };
  }
  const iface = await hostInterface(accel, {
    platform: ctx.platform,
    arch: os.arch(),
    env: ctx.env,
  });
  if (iface.blocker || !iface.exists) {
    const report: AcceleratorReport = {
      name: accel,
      present: iface.exists,
      usable: false,
      reason: iface.blocker ?? `the host does not offer ${name}`,
    };
    return {
      kind: 'decided',
      outcome: { report, notice: iface.exists ? fallbackNotice(report) : null },
    };
  }
  let image: ProbeImage;
  try {
    image = await ctx.image;
  } catch (err) {
    const record: AccelProbeRecord = {
      usable: false,
      hung: false,
      reason: `the test guest could not be written (${(err as Error).message})`,
      elapsedMs: 0,
      at: new Date().toISOString(),
    };
    return { kind: 'known', record };
  }
  const stamp = await fileStamp(ctx.bin.path);
  if (!stamp) return { kind: 'run', image, key: null };
  const key = accelProbeCacheKey({
    accel,
    qemu: stamp,
    qemuVersion: ctx.bin.version,
    osRelease: os.release(),
    bootId: ctx.bootId,
    probeImageSha256: image.sha256,
  });
  const record = ctx.cache.getProbe(key);
  return record ? { kind: 'known', record } : { kind: 'run', image, key };
}

async function runAndRemember(
  accel: Accelerator,
  prep: Extract<Prepared, { kind: 'run' }>,
  ctx: ProbeContext,
  signal?: AbortSignal,
): Promise<AccelProbeRecord> {
  const { transient, ...record } = await runAccelProbe(ctx.bin.path, accel, prep.image.path, {
    timeoutMs: ctx.timeoutMs,
    ...(signal ? { signal } : {}),
  });
  if (prep.key && !transient) ctx.cache.setProbe(prep.key, record);
  return record;
}

function outcomeOf(accel: Accelerator, record: AccelProbeRecord): AccelOutcome {
  if (accel === 'tcg') {
    // TCG is the fallback: usable whenever the binary exists; a failure is worth a notice.
    const notice = record.usable
      ? null
      : `A test guest also failed under TCG (${record.reason ?? 'unknown'}): QEMU itself may ` +
        'be broken, and VMs may not start. Try reinstalling QEMU.';
    return { report: { name: 'tcg', present: true, usable: true }, notice };
  }
  const report: AcceleratorReport = {
    name: accel,
    present: true,
    usable: record.usable,
    ...(record.usable ? {} : { reason: record.reason ?? 'a test guest did not finish under it' }),
  };
  return { report, notice: fallbackNotice(report) };
}

/**
 * Probes TCG and the hardware accelerator side by side. TCG's time sets the hardware probe's
 * budget ({@link hardwareProbeBudgetMs}): a crawling KVM is stopped then rather than at the
 * deadline, and counted as hung.
 */
async function probeAccelerators(
  wanted: readonly Accelerator[],
  ctx: ProbeContext,
): Promise<AccelOutcome[]> {
  const prepared = await Promise.all(wanted.map((a) => prepare(a, ctx)));
  const tcgIndex = wanted.indexOf('tcg');
  const tcgPrep = prepared[tcgIndex];
  const tcgRecord: Promise<AccelProbeRecord | null> =
    tcgPrep?.kind === 'run'
      ? runAndRemember('tcg', tcgPrep, ctx)
      : Promise.resolve(tcgPrep?.kind === 'known' ? tcgPrep.record : null);

  return Promise.all(
    wanted.map(async (accel, i): Promise<AccelOutcome> => {
      const prep = prepared[i]!;
      if (prep.kind === 'decided') return prep.outcome;
      if (prep.kind === 'known') return outcomeOf(accel, prep.record);
      if (accel === 'tcg') return outcomeOf(accel, (await tcgRecord)!);
      const ac = new AbortController();
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      void tcgRecord.then((tcg) => {
        if (!tcg?.usable || stopped) return;
        const left = hardwareProbeBudgetMs(tcg.elapsedMs) - (performance.now() - started);
        timer = setTimeout(() => ac.abort(), Math.max(0, left));
      });
      try {
        return outcomeOf(accel, await runAndRemember(accel, prep, ctx, ac.signal));
      } finally {
        stopped = true;
        clearTimeout(timer);
      }
    }),
  );
}

export async function probeHost(opts: ProbeHostOptions): Promise<HostInfo> {
  const platform = process.platform;
  const env = opts.env ?? process.env;
  const [cache, osRelease, bootId, freeDisk, swtpm] = await Promise.all([
    HostCache.load(opts.cacheDir, opts.refresh ?? false),
    platform === 'linux' ? readOsRelease() : Promise.resolve(null),
    readBootId(),
    freeDiskBytes(opts.dataDir),
    findSwtpm(env, platform),
  ]);
  const found = await findQemu({
    ...(opts.qemuDir ? { qemuDir: opts.qemuDir } : {}),
    env,
    platform,
    cache,
    osRelease,
  });
  const notices = [...found.notices];
  const x86 = found.binaries.find((b) => b.arch === 'x86_64') ?? null;
  const hw = hardwareAccelFor(platform);
  const wanted: Accelerator[] = hw ? [hw, 'tcg'] : ['tcg'];

  let accelerators: AcceleratorReport[];
  let firmware: HostInfo['firmware'];
  let dataDirs: string[] = [];
  if (!x86) {
    const reason = 'QEMU is not installed';
    accelerators = wanted.map((name) => ({ name, present: false, usable: false, reason }));
    firmware = await findFirmware({ platform, qemuPath: null });
  } else {
    const details = await binaryDetails(x86, cache);
    dataDirs = details.dataDirs;
    const image = ensureProbeImage(opts.cacheDir);
    image.catch(() => undefined);
    const ctx: ProbeContext = {
      bin: x86,
      compiled: details.accels,
      image,
      cache,
      bootId,
      platform,
      env,
      timeoutMs: opts.probeTimeoutMs ?? ACCEL_PROBE_TIMEOUT_MS,
    };
    const [outcomes, fw] = await Promise.all([
      probeAccelerators(wanted, ctx),
      findFirmware({ platform, qemuPath: x86.path, qemuDataDirs: details.dataDirs }),
    ]);
    accelerators = outcomes.map((o) => o.report);
    for (const o of outcomes) if (o.notice) notices.push(o.notice);
    firmware = fw;
  }
  await cache.save();

  const best = accelerators.find((a) => a.name !== 'tcg' && a.usable)?.name ?? 'tcg';
  const arches = await probeArchSupport({
    platform,
    hostArch: qemuArchName(os.arch()),
    hostNodeArch: os.arch(),
    binaries: found.binaries,
    x86Firmware: firmware,
    best,
    dataDirs,
  });
  return {
    platform: nodePlatform(platform),
    arch: qemuArchName(os.arch()),
    cpus: os.availableParallelism(),
    totalMemoryMiB: Math.floor(os.totalmem() / (1024 * 1024)),
    freeDiskBytes: freeDisk,
    dataDir: opts.dataDir,
    qemu: { binaries: found.binaries, img: found.img },
    qemuMissing: found.qemuMissing,
    accelerators,
    bestAccelerator: best,
    notices,
    firmware,
    swtpm,
    arches,
  };
}
