/**
 * The pre-shared key of one migration: QEMU's tls-creds-psk reads `DIR/keys.psk` (one line
 * `USER:HEXKEY`). Written 0600 in a 0700 folder of the VM's runtime folder, and removed when the
 * migration ends either way.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from '../host/runtime-dir';

export const PSK_USER = 'qemu';

export interface PskDir {
  dir: string;
  /** The tls-creds-psk object's id in QEMU. */
  credsId: string;
  remove(): Promise<void>;
}

/** A fresh random key, hex (256 bits). */
export function newPsk(): string {
  return randomBytes(32).toString('hex');
}

/** Writes `psk` where QEMU's tls-creds-psk object `credsId` will read it. */
export async function writePskDir(runDir: string, psk: string): Promise<PskDir> {
  await ensurePrivateDir(runDir);
  const tag = randomBytes(4).toString('hex');
  const dir = join(runDir, `mig-${tag}`);
  await mkdir(dir, { mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, 'keys.psk');
  await writeFile(file, `${PSK_USER}:${psk}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return {
    dir,
    credsId: `mig-tls-${tag}`,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The `-object`/`object-add` JSON of the credentials: the server listens, the client connects. */
export function pskCredsObject(
  creds: PskDir,
  endpoint: 'server' | 'client',
): Record<string, unknown> {
  return {
    'qom-type': 'tls-creds-psk',
    id: creds.credsId,
    dir: creds.dir,
    endpoint,
    // QEMU refuses a username on the server side: the key file names it.
    ...(endpoint === 'client' ? { username: PSK_USER } : {}),
  };
}
