/**
 * What this computer offers for shared folders: Samba's smbd (QEMU's user network runs it for
 * `smb=`) and virtiofsd (a helper process beside QEMU). Both probed, never assumed: virtiofsd
 * 7.2 (the C one Debian ships in qemu-system-common) needs root, or namespaces it may not get.
 */
import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShareModeAvailability } from '../../../common/contract';
import { SMBD_MISSING, SMBD_PATH } from '../../../common/rules/shares';

/** Where distributions put virtiofsd: Debian 12's qemu-system-common, then the Rust one. */
const VIRTIOFSD_PATHS = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd', '/usr/bin/virtiofsd'];

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** smbd's path, or null. QEMU 7.2 runs exactly this one (its CONFIG_SMBD_COMMAND). */
export async function findSmbd(): Promise<string | null> {
  return (await executable(SMBD_PATH)) ? SMBD_PATH : null;
}

export async function findVirtiofsd(): Promise<string | null> {
  for (const p of VIRTIOFSD_PATHS) if (await executable(p)) return p;
  return null;
}

export interface VirtiofsdProbe {
  binary: string | null;
  ok: boolean;
  reason: string | null;
}

/**
 * Starts virtiofsd on an empty folder and sees whether it gets as far as listening: that is the
 * one answer to "can it run for this user" (root, or user namespaces it may set up).
 */
async function probeVirtiofsd(): Promise<VirtiofsdProbe> {
  const binary = await findVirtiofsd();
  if (!binary) {
    return {
      binary: null,
      ok: false,
      reason:
        'virtiofsd is not installed (Debian/Ubuntu: sudo apt install qemu-system-common, or the virtiofsd package): use 9p.',
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'viv-vfs-'));
  const sock = join(dir, 'probe.sock');
  try {
    const child = spawn(binary, [`--socket-path=${sock}`, '-o', `source=${dir}`, '-f'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    const deadline = Date.now() + 3000;
    let listening = false;
    // A box: TypeScript does not see the callback set it.
    const run = { ended: false };
    void exited.then(() => (run.ended = true));
    while (!listening && !run.ended && Date.now() < deadline) {
      listening = await stat(sock).then(
        (s) => s.isSocket(),
        () => false,
      );
      if (!listening) await new Promise((r) => setTimeout(r, 50));
    }
    if (!run.ended) child.kill('SIGKILL');
    await exited;
    if (listening) return { binary, ok: true, reason: null };
    const said = stderr.trim().split('\n').pop() ?? '';
    return {
      binary,
      ok: false,
      reason:
        `virtiofsd cannot run for this user here (it needs root or user namespaces${said ? `: ${said}` : ''}): ` +
        'use 9p, which needs neither.',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let virtiofsdProbe: Promise<VirtiofsdProbe> | null = null;

/** The probe once per process: the answer does not change while the engine runs. */
export function virtiofsd(): Promise<VirtiofsdProbe> {
  virtiofsdProbe ??= probeVirtiofsd();
  return virtiofsdProbe;
}

/** Which share modes this computer can offer now, each with why not. */
export async function shareModes(): Promise<ShareModeAvailability[]> {
  const [smbd, vfs] = await Promise.all([findSmbd(), virtiofsd()]);
  return [
    { mode: '9p', ok: true, reason: null },
    { mode: 'smb', ok: smbd !== null, reason: smbd ? null : SMBD_MISSING },
    { mode: 'virtiofs', ok: vfs.ok, reason: vfs.reason },
  ];
}
