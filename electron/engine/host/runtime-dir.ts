/**
 * The runtime folder (QMP, VNC and console sockets, pid files) must be ours alone: whoever can
 * write into it can move our sockets away and plant their own QMP socket and pid file, and our
 * CLI would then talk to them. Each level we use is created fresh with mode 0700, or, when it is
 * already there, checked on every open with lstat (a real folder, not a symlink, owned by our uid,
 * no group or other bits); a folder failing the check is refused with what to do, never used.
 */
import { lstat, mkdir, chmod } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { VivariumError } from '../errors';

/** What lstat tells about a folder, as far as the check needs it. */
export interface DirFacts {
  isDirectory: boolean;
  isSymbolicLink: boolean;
  uid: number;
  mode: number;
}

/** Why `dir` may not be used (a sentence for the user), or null when it is ours alone. */
export function privateDirProblem(dir: string, facts: DirFacts, ourUid: number): string | null {
  const fix = `remove it (sudo rm -rf ${dir}) or set XDG_RUNTIME_DIR to a folder of your own`;
  if (facts.isSymbolicLink) return `${dir} is a symbolic link, not a folder: ${fix}`;
  if (!facts.isDirectory) return `${dir} is not a folder: ${fix}`;
  if (facts.uid !== ourUid) return `${dir} is owned by uid ${facts.uid}, not you: ${fix}`;
  const perms = facts.mode & 0o777;
  if (perms !== 0o700) {
    const octal = perms.toString(8).padStart(3, '0');
    return (
      `${dir} has mode ${octal}, so other users could reach your virtual machines' sockets: ` +
      `make it private (chmod 700 ${dir}, if nothing was planted there) or ${fix}`
    );
  }
  return null;
}

function ourUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

async function factsOf(dir: string): Promise<DirFacts | null> {
  try {
    const st = await lstat(dir);
    return {
      isDirectory: st.isDirectory(),
      isSymbolicLink: st.isSymbolicLink(),
      uid: st.uid,
      mode: st.mode,
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function refuse(problem: string): never {
  throw new VivariumError('UNAUTHORIZED', `Vivarium's runtime folder is not safe: ${problem}.`);
}

/** Checks an existing folder (never creates it): XDG_RUNTIME_DIR itself. */
export async function checkPrivateDir(dir: string): Promise<void> {
  const uid = ourUid();
  if (uid === null) return;
  const facts = await factsOf(dir);
  if (!facts) refuse(`${dir} does not exist: unset XDG_RUNTIME_DIR or create it (mode 700)`);
  const problem = privateDirProblem(dir, facts, uid);
  if (problem) refuse(problem);
}

/**
 * Creates `dir` with mode 0700 when missing (not recursively: its parent must exist), else checks
 * it. A folder that appears between the lstat and the mkdir (another process) is checked too.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const uid = ourUid();
  if (uid === null) {
    // Windows: no uids; the folder sits in the user's own profile.
    await mkdir(dir, { recursive: true });
    return;
  }
  if (!(await factsOf(dir))) {
    try {
      await mkdir(dir, { mode: 0o700 });
      // The umask can only take bits away; make it exactly 0700 (it is ours: we just made it).
      await chmod(dir, 0o700);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const facts = await factsOf(dir);
  if (!facts) refuse(`${dir} disappeared while it was being created`);
  const problem = privateDirProblem(dir, facts, uid);
  if (problem) refuse(problem);
}

/**
 * Opens the runtime folder `dir`: every level from `trustedRoot` (checked, not created, when it
 * is XDG_RUNTIME_DIR) down to `dir` is ours alone. For a folder outside the default places (an
 * explicit `runtimeDir`), its parents are the caller's business and only `dir` is checked.
 */
export async function openRuntimeDir(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const xdg = process.platform === 'linux' ? env.XDG_RUNTIME_DIR : undefined;
  const uid = ourUid();
  let top: string;
  if (xdg && isInside(xdg, dir)) {
    await checkPrivateDir(xdg);
    top = join(xdg, firstSegment(xdg, dir));
  } else if (uid !== null && isInside(`/tmp/vivarium-${uid}`, dir)) {
    top = `/tmp/vivarium-${uid}`;
  } else if (uid !== null && dirname(dir) !== dir) {
    await mkdir(dirname(dir), { recursive: true });
    top = dir;
  } else {
    top = dir;
  }
  await ensurePrivateDir(top);
  let level = top;
  for (const seg of relative(top, dir).split(sep).filter(Boolean)) {
    level = join(level, seg);
    await ensurePrivateDir(level);
  }
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
}

function firstSegment(parent: string, child: string): string {
  return relative(parent, child).split(sep)[0] ?? '';
}
