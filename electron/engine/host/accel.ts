/**
 * Accelerators, probed rather than guessed: compiled in (`-accel help`), the host interface there
 * (/dev/kvm, macOS HVF, Windows WHPX), and then a test guest that has to finish under it. KVM can
 * open fine and still hang every guest (nested or broken virtualization): only the probe tells.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Accelerator } from '../../../common/contract';
import { ACCEL_PROBE_EXIT_CODE, accelProbeImage } from './accel-probe-image';
import type { AccelProbeRecord } from './cache';
import { lastLine, runProgram } from './run';

/** Long enough for TCG on a slow, busy machine (~150 ms idle), short enough for a CLI command. */
export const ACCEL_PROBE_TIMEOUT_MS = 3000;

/**
 * A hardware accelerator must not be much slower than TCG on the same probe, run side by side:
 * a working KVM finishes in about QEMU's start-up time, well under TCG's. A broken one may not
 * hang outright but crawl: measured on a nested host, 2.8-5.2 s under KVM against 0.2-0.4 s under
 * TCG (a Linux guest there seems to hang in its decompressor). So once TCG is done in T ms, the
 * hardware probe is stopped at max(SLOW_FLOOR_MS, SLOW_FACTOR * T) and counted as hung.
 */
export const ACCEL_PROBE_SLOW_FACTOR = 4;
export const ACCEL_PROBE_SLOW_FLOOR_MS = 1000;

/** How long a hardware accelerator's probe may take, given TCG's time on the same probe. */
export function hardwareProbeBudgetMs(tcgElapsedMs: number): number {
  return Math.max(ACCEL_PROBE_SLOW_FLOOR_MS, ACCEL_PROBE_SLOW_FACTOR * tcgElapsedMs);
}

const ACCEL_NAMES: Record<Accelerator, string> = {
  kvm: 'KVM',
  hvf: 'HVF',
  whpx: 'WHPX',
  tcg: 'TCG',
};

export function accelDisplayName(accel: Accelerator): string {
  return ACCEL_NAMES[accel];
}

/** The hardware accelerator QEMU offers on a platform, if any. */
export function hardwareAccelFor(platform: NodeJS.Platform): Accelerator | null {
  switch (platform) {
    case 'linux':
      return 'kvm';
    case 'darwin':
      return 'hvf';
    case 'win32':
      return 'whpx';
    default:
      return null;
  }
}

/** Parses `qemu-system-* -accel help`: the names after the heading line. */
export function parseAccelHelp(output: string): string[] {
  return output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => /^[a-z][a-z0-9_-]*$/.test(l));
}

export interface HostInterface {
  /** The OS offers the accelerator (e.g. /dev/kvm exists). */
  exists: boolean;
  /** Why it can't be used before any probe (absent: go on and probe). */
  blocker?: string;
}

/** Whether the OS side of a hardware accelerator is there and open to this user. */
export async function hostInterface(
  accel: Accelerator,
  opts: { platform: NodeJS.Platform; arch: string; env: NodeJS.ProcessEnv },
): Promise<HostInterface> {
  switch (accel) {
    case 'tcg':
      return { exists: true };
    case 'kvm': {
      if (opts.platform !== 'linux') return { exists: false, blocker: 'KVM exists only on Linux.' };
      try {
        await stat('/dev/kvm');
      } catch {
        return {
          exists: false,
          blocker:
            '/dev/kvm does not exist: turn on virtualization (Intel VT-x or AMD-V) in the ' +
            'firmware settings and load KVM (sudo modprobe kvm_intel, or kvm_amd); inside a ' +
            'VM, the outer host has to offer nested virtualization.',
        };
      }
      try {
        await access('/dev/kvm', constants.R_OK | constants.W_OK);
      } catch {
        return {
          exists: true,
          blocker:
            '/dev/kvm is not accessible to you: add yourself to the kvm group: ' +
            'sudo usermod -aG kvm $USER (then log out and back in).',
        };
      }
      return { exists: true };
    }
    case 'hvf': {
      if (opts.platform !== 'darwin')
        return { exists: false, blocker: 'HVF exists only on macOS.' };
      const r = await runProgram('/usr/sbin/sysctl', ['-n', 'kern.hv_support'], {
        timeoutMs: 2000,
      });
      if (r.stdout.trim() !== '1') {
        return {
          exists: false,
          blocker: 'This Mac does not offer Hypervisor.framework (kern.hv_support is not 1).',
        };
      }
      if (opts.arch === 'arm64') {
        return {
          exists: true,
          blocker: "on Apple silicon it runs only arm64 guests, and Vivarium's VMs are x86_64",
        };
      }
      return { exists: true };
    }
    case 'whpx': {
      if (opts.platform !== 'win32')
        return { exists: false, blocker: 'WHPX exists only on Windows.' };
      const root =
        Object.entries(opts.env).find(([k]) => k.toUpperCase() === 'SYSTEMROOT')?.[1] ??
        'C:\\Windows';
      try {
        await stat(path.win32.join(root, 'System32', 'WinHvPlatform.dll'));
        return { exists: true };
      } catch {
        return {
          exists: false,
          blocker:
            'Windows Hypervisor Platform is off: turn it on in "Turn Windows features on or off" ' +
            '(or, as administrator: Enable-WindowsOptionalFeature -Online -FeatureName ' +
            'HypervisorPlatform), then restart Windows.',
        };
      }
    }
  }
}

export interface ProbeImage {
  path: string;
  sha256: string;
}

/** Writes the probe firmware into the cache dir once (its name carries its hash). */
export async function ensureProbeImage(cacheDir: string): Promise<ProbeImage> {
  const image = accelProbeImage();
  const sha256 = createHash('sha256').update(image).digest('hex');
  const file = path.join(cacheDir, `accel-probe-${sha256.slice(0, 16)}.bin`);
  try {
    const s = await stat(file);
    if (s.size === image.length) return { path: file, sha256 };
  } catch {
    // not written yet
  }
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, image);
  await rename(tmp, file);
  return { path: file, sha256 };
}

/** The probe's argv (after the binary). */
export function accelProbeArgs(accel: Accelerator, imagePath: string): string[] {
  return [
    '-accel',
    accel,
    '-display',
    'none',
    '-nodefaults',
    '-no-user-config',
    '-bios',
    imagePath,
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=1',
    '-m',
    '64',
  ];
}

/**
 * Runs the probe guest under one accelerator: usable only if it exits with
 * {@link ACCEL_PROBE_EXIT_CODE} before the deadline (or the abort); a hang is killed (the whole
 * process group) and reported as `hung`.
 */
export async function runAccelProbe(
  qemuPath: string,
  accel: Accelerator,
  imagePath: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<AccelProbeRecord & { transient: boolean }> {
  const r = await runProgram(qemuPath, accelProbeArgs(accel, imagePath), {
    timeoutMs: opts.timeoutMs ?? ACCEL_PROBE_TIMEOUT_MS,
    maxOutputBytes: 8192,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const at = new Date().toISOString();
  const name = accelDisplayName(accel);
  if (r.spawnError) {
    return {
      usable: false,
      hung: false,
      reason: `QEMU could not be started for a ${name} test (${r.spawnError.message}).`,
      elapsedMs: r.elapsedMs,
      at,
      transient: true,
    };
  }
  if (r.timedOut) {
    return {
      usable: false,
      hung: true,
      reason: 'a test guest hung under it (nested or broken virtualization)',
      elapsedMs: r.elapsedMs,
      at,
      transient: false,
    };
  }
  if (r.code === ACCEL_PROBE_EXIT_CODE) {
    return { usable: true, hung: false, elapsedMs: r.elapsedMs, at, transient: false };
  }
  const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
  const said = lastLine(r.stderr);
  return {
    usable: false,
    hung: false,
    reason: `a test guest failed under it (${how}${said ? `: ${said}` : ''})`,
    elapsedMs: r.elapsedMs,
    at,
    transient: false,
  };
}
