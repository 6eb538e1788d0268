/**
 * The NoCloud seed of a cloud guest and what it is made from. The inputs are kept beside the seed
 * (private to the user: they hold the password's hash) so a clone gets a seed of its own: a new
 * instance id (the guest runs its first-boot steps again: new SSH host keys, its own host name)
 * and a new key pair for Vivarium, with the user's keys and password kept.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmConfig } from '../../../common/contract';
import { buildSeedIso } from '../cloud-init/seed-iso';
import { buildSeedFiles } from '../cloud-init/user-data';
import { VivariumError } from '../errors';
import type { VmFiles } from '../paths';
import { generateKeyPair } from '../ssh/keys';

/** Relative to the VM's folder, like every file of the VM's own. */
export const SEED_FILE = 'cidata.iso';
export const SEED_INPUTS_FILE = 'cloud-init.json';
export const VM_KEY_FILE = 'ssh/id_ed25519';

export interface SeedInputs {
  user: string;
  hostname: string;
  /** The user's own public keys (Vivarium's key for the VM is added when the seed is written). */
  sshKeys: string[];
  passwordHash?: string;
  timezone: string;
  locale: string;
  keyboard: { layout: string; variant?: string };
}

/** Writes the VM's key pair (a new one), its seed and the seed's inputs. */
export async function writeCloudSeed(
  files: VmFiles,
  config: VmConfig,
  inputs: SeedInputs,
): Promise<void> {
  await rm(files.sshDir, { recursive: true, force: true });
  await mkdir(files.sshDir, { recursive: true, mode: 0o700 });
  const key = await generateKeyPair(files.sshDir, `vivarium@${inputs.hostname}`);
  const seed = buildSeedIso(
    buildSeedFiles({
      user: inputs.user,
      hostname: inputs.hostname,
      sshAuthorizedKeys: [key.publicKey, ...inputs.sshKeys],
      ...(inputs.passwordHash ? { passwordHash: inputs.passwordHash } : {}),
      timezone: inputs.timezone,
      locale: inputs.locale,
      keyboard: inputs.keyboard,
      // One per VM: a clone's guest runs its first-boot steps again.
      instanceId: `vivarium-${config.id}`,
      installGuestAgent: config.guestAgent,
      growRoot: true,
    }),
  );
  await writeFile(join(files.dir, SEED_INPUTS_FILE), `${JSON.stringify(inputs, null, 2)}\n`, {
    mode: 0o600,
  });
  await writeFile(join(files.dir, config.cloudInit?.seed ?? SEED_FILE), seed, { mode: 0o600 });
}

export async function readSeedInputs(files: VmFiles): Promise<SeedInputs> {
  try {
    return JSON.parse(await readFile(join(files.dir, SEED_INPUTS_FILE), 'utf8')) as SeedInputs;
  } catch (err) {
    throw new VivariumError(
      'BAD_STATE',
      `The first-boot settings of this cloud guest (${SEED_INPUTS_FILE}) cannot be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
