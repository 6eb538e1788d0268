/**
 * Finds QEMU's system emulators (one per guest architecture) and qemu-img, and reads their
 * versions. Search order: the configured folder, VIVARIUM_QEMU_DIR, PATH, then where the usual
 * installers put QEMU on macOS (Homebrew, MacPorts), Windows (C:\Program Files\qemu, Scoop) and
 * the BSDs; on Linux PATH is it (desktop sessions always have /usr/bin on it).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { QemuBinary } from '../../../common/contract';
import { fileStamp, HostCache, type FileStamp } from './cache';
import {
  qemuBrokenMessage,
  qemuImgMissingNotice,
  qemuMissingMessage,
  qemuTooOldMessage,
  readOsRelease,
  type OsRelease,
} from './install-hint';
import { lastLine, runProgram } from './run';
import { isSupportedVersion, MIN_QEMU_VERSION, parseQemuVersion } from './version';

/**
 * Emulators looked for, by QEMU's architecture name (common/arch.ts's presets name them);
 * x86_64 is the one Vivarium needs, the others run guests of other architectures.
 */
export const QEMU_ARCHES = ['x86_64', 'i386', 'aarch64', 'ppc64', 's390x', 'riscv64'] as const;
export type QemuArch = (typeof QEMU_ARCHES)[number];

const VERSION_TIMEOUT_MS = 5000;

export interface FindQemuOptions {
  /** A folder configured by the user (preferences or a CLI flag); searched first. */
  qemuDir?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Versions are cached by path, mtime and size. */
  cache?: HostCache;
  /** Parsed /etc/os-release for install hints; read from disk when undefined (Linux). */
  osRelease?: OsRelease | null;
}

export interface FoundQemu {
  /** Usable system emulators, x86_64 first. */
  binaries: QemuBinary[];
  img: { path: string; version: string } | null;
  /** Non-null when QEMU can't be used: says how to install or update it. */
  qemuMissing: string | null;
  notices: string[];
  /** Folders searched, in order. */
  searched: string[];
}

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** Environment lookup that is case-insensitive on Windows (`Path`, `ProgramFiles`). */
export function envValue(
  env: NodeJS.ProcessEnv,
  name: string,
  platform: NodeJS.Platform,
): string | undefined {
  if (platform !== 'win32') return env[name];
  const key = Object.keys(env).find((k) => k.toUpperCase() === name.toUpperCase());
  return key === undefined ? undefined : env[key];
}

/** The folders to search, in order, without duplicates. Pure. */
export function qemuSearchDirs(opts: {
  qemuDir?: string | undefined;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
}): string[] {
  const { env, platform } = opts;
  const p = pathApi(platform);
  const dirs: string[] = [];
  if (opts.qemuDir) dirs.push(opts.qemuDir);
  const fromEnv = envValue(env, 'VIVARIUM_QEMU_DIR', platform);
  if (fromEnv) dirs.push(fromEnv);
  const pathVar = envValue(env, 'PATH', platform) ?? '';
  dirs.push(...pathVar.split(platform === 'win32' ? ';' : ':'));
  switch (platform) {
    case 'darwin':
      dirs.push('/opt/homebrew/bin', '/usr/local/bin', '/opt/local/bin');
      break;
    case 'win32': {
      for (const v of ['ProgramFiles', 'ProgramW6432']) {
        const pf = envValue(env, v, platform);
        if (pf) dirs.push(p.join(pf, 'qemu'));
      }
      dirs.push('C:\\Program Files\\qemu');
      const profile = envValue(env, 'USERPROFILE', platform);
      if (profile) dirs.push(p.join(profile, 'scoop', 'apps', 'qemu', 'current'));
      break;
    }
    case 'freebsd':
    case 'openbsd':
      dirs.push('/usr/local/bin');
      break;
    default:
      break;
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of dirs) {
    const d = raw.trim().replace(/^"(.*)"$/, '$1');
    // Relative PATH entries (".", "") would depend on the cwd: skip them.
    if (!d || !p.isAbsolute(d)) continue;
    let norm = p.normalize(d);
    // No trailing separator (but keep a root: "/", "C:\\").
    while (norm.length > p.parse(norm).root.length && /[\\/]$/.test(norm)) norm = norm.slice(0, -1);
    const key = platform === 'win32' ? norm.toLowerCase() : norm;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(norm);
  }
  return out;
}

export function qemuExeName(base: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? `${base}.exe` : base;
}

async function executableStamp(file: string, platform: NodeJS.Platform): Promise<FileStamp | null> {
  const stamp = await fileStamp(file);
  if (!stamp) return null;
  if (platform !== 'win32') {
    try {
      await access(file, constants.X_OK);
    } catch {
      return null;
    }
  }
  return stamp;
}

type VersionResult = { ok: true; version: string } | { ok: false; detail: string };

/** `--version` of one binary, from the cache when its stamp is unchanged. */
export async function binaryVersion(stamp: FileStamp, cache: HostCache): Promise<VersionResult> {
  const hit = cache.getBinary(stamp);
  if (hit && hit.version) return { ok: true, version: hit.version };
  const r = await runProgram(stamp.path, ['--version'], { timeoutMs: VERSION_TIMEOUT_MS });
  if (r.spawnError) return { ok: false, detail: r.spawnError.message };
  if (r.timedOut) return { ok: false, detail: '`--version` did not answer within 5 s' };
  const v = parseQemuVersion(r.stdout);
  if (r.code !== 0 || !v) {
    const why = lastLine(r.stderr) || lastLine(r.stdout) || `exit ${r.code ?? r.signal}`;
    return { ok: false, detail: `\`--version\` failed: ${why}` };
  }
  cache.setBinary(stamp, { version: v.text });
  return { ok: true, version: v.text };
}

interface Pick {
  chosen: { path: string; version: string } | null;
  /** The first candidate that was found but could not be used, and why. */
  firstProblem: { path: string; kind: 'broken' | 'old'; detail: string } | null;
}

/** The first candidate that runs and is new enough; remembers why earlier ones were passed over. */
async function pickBinary(
  candidates: readonly string[],
  platform: NodeJS.Platform,
  cache: HostCache,
  requireSupported: boolean,
): Promise<Pick> {
  const stamps = await Promise.all(candidates.map((c) => executableStamp(c, platform)));
  let firstProblem: Pick['firstProblem'] = null;
  for (const stamp of stamps) {
    if (!stamp) continue;
    const v = await binaryVersion(stamp, cache);
    if (!v.ok) {
      firstProblem ??= { path: stamp.path, kind: 'broken', detail: v.detail };
      continue;
    }
    const parsed = parseQemuVersion(`version ${v.version}`);
    if (requireSupported && parsed && !isSupportedVersion(parsed)) {
      firstProblem ??= { path: stamp.path, kind: 'old', detail: v.version };
      continue;
    }
    return { chosen: { path: stamp.path, version: v.version }, firstProblem };
  }
  return { chosen: null, firstProblem };
}

export async function findQemu(opts: FindQemuOptions = {}): Promise<FoundQemu> {
  const platform = opts.platform ?? process.platform;
  const env = opts.env ?? process.env;
  const cache = opts.cache ?? HostCache.memory();
  const p = pathApi(platform);
  const searched = qemuSearchDirs({ qemuDir: opts.qemuDir, env, platform });
  const osReleaseP: Promise<OsRelease | null> =
    opts.osRelease !== undefined
      ? Promise.resolve(opts.osRelease)
      : platform === 'linux'
        ? readOsRelease()
        : Promise.resolve(null);

  const candidatesFor = (base: string): string[] =>
    searched.map((d) => p.join(d, qemuExeName(base, platform)));

  const [picks, img, osRelease] = await Promise.all([
    Promise.all(
      QEMU_ARCHES.map((arch) =>
        pickBinary(candidatesFor(`qemu-system-${arch}`), platform, cache, true),
      ),
    ),
    pickBinary(candidatesFor('qemu-img'), platform, cache, false),
    osReleaseP,
  ]);

  const binaries: QemuBinary[] = [];
  QEMU_ARCHES.forEach((arch, i) => {
    const chosen = picks[i]?.chosen;
    if (chosen) binaries.push({ arch, path: chosen.path, version: chosen.version });
  });

  const notices: string[] = [];
  let qemuMissing: string | null = null;
  const x86 = picks[0]!;
  if (!x86.chosen) {
    const prob = x86.firstProblem;
    qemuMissing =
      prob === null
        ? qemuMissingMessage(platform, osRelease)
        : prob.kind === 'old'
          ? qemuTooOldMessage(prob.path, prob.detail, platform, osRelease)
          : qemuBrokenMessage(prob.path, prob.detail, platform, osRelease);
  } else {
    if (x86.firstProblem) {
      const why =
        x86.firstProblem.kind === 'old'
          ? `is version ${x86.firstProblem.detail}, older than ${MIN_QEMU_VERSION.text}`
          : `does not run (${x86.firstProblem.detail})`;
      notices.push(`${x86.firstProblem.path} ${why}; using ${x86.chosen.path} instead.`);
    }
    // The folder the user pointed at comes first; say so when QEMU was not taken from it.
    const explicitDir = opts.qemuDir ?? envValue(env, 'VIVARIUM_QEMU_DIR', platform);
    if (explicitDir && p.relative(explicitDir, p.dirname(x86.chosen.path)) !== '') {
      const what = opts.qemuDir ? 'the configured QEMU folder' : 'VIVARIUM_QEMU_DIR';
      notices.push(
        `No usable qemu-system-x86_64 in ${explicitDir} (${what}); using ${x86.chosen.path}.`,
      );
    }
  }
  if (!img.chosen && x86.chosen) notices.push(qemuImgMissingNotice(platform, osRelease));

  return { binaries, img: img.chosen, qemuMissing, notices, searched };
}
