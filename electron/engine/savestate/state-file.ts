/**
 * A VM's saved state on disk (saved-state/ in its folder): the memory and device state QEMU
 * wrote, and a small description beside it. The description is written last, after the state
 * file is complete and synced, so its presence is what makes a VM `saved`: for this process,
 * another one, or the next boot of the computer. A `.partial` file is never read back.
 */
import { SAVED_EDITABLE_FIELDS } from '../../../common/rules/vm-settings';
import { createHash } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { VmConfig } from '../../../common/contract';
import { isNodeError, writeFileAtomic } from '../library/atomic-file';
import type { VmFiles } from '../paths';

export const SAVED_STATE_FORMAT = 1;

export interface SavedStateMeta {
  format: typeof SAVED_STATE_FORMAT;
  savedAt: string;
  /** Size of the state file: a truncated one is refused instead of half-loaded. */
  bytes: number;
  /** `query-version` of the QEMU that wrote it ("7.2.0"): another version may not load it. */
  qemuVersion: string;
  /** The machine type QEMU resolved (pc-q35-7.2...). */
  machine: string;
  accel: string;
  /** Of the hardware and disks in the config (see hardwareHash): a changed VM is refused. */
  configHash: string;
  /** The guest was paused when saved: it resumes paused. */
  paused: boolean;
}

/**
 * What the saved memory depends on: the config without the fields that may change while saved
 * (name, notes, whether to ask before power-off) or that only live on the host side (port
 * forwards, which QEMU's user network applies at start and which the library may move when a
 * port is taken). Fields newer than a saved state count only when they differ from what the VM
 * had before they existed, so a state saved by an earlier version still fits.
 */
export function hardwareHash(config: VmConfig): string {
  const rest: Record<string, unknown> = { ...config };
  for (const field of SAVED_EDITABLE_FIELDS) delete rest[field];
  // Hashed as the config version saved states were first made with: a migration of the config
  // file alone changes no hardware.
  rest['configVersion'] = 2;
  const nics = config.nics.map((n) =>
    n.attach.kind === 'nat' ? { ...n, attach: { ...n.attach, forwards: [] } } : n,
  );
  const disks = config.disks.map(({ cache, port, ...d }) => ({
    ...d,
    ...(cache !== 'writeback' ? { cache } : {}),
    ...(port !== undefined ? { port } : {}),
  }));
  for (const [field, before] of Object.entries(BEFORE_THEY_EXISTED)) {
    if (JSON.stringify(rest[field]) === JSON.stringify(before)) delete rest[field];
  }
  return createHash('sha256')
    .update(JSON.stringify({ ...rest, nics, disks }))
    .digest('hex');
}

/** Fields added after saved states existed, with the value a VM had before them. */
const BEFORE_THEY_EXISTED: Record<string, unknown> = {
  shares: [],
  clipboard: false,
  usb: [],
  layout: 1,
  balloon: false,
};

/** The saved state's description when a complete one is there, else null. */
export async function readSavedState(files: VmFiles): Promise<SavedStateMeta | null> {
  let meta: SavedStateMeta;
  try {
    meta = JSON.parse(await readFile(files.savedStateMeta, 'utf8')) as SavedStateMeta;
  } catch {
    return null;
  }
  // Written by another version of Vivarium, or not by Vivarium at all: not a state to load.
  const format: unknown = meta.format;
  if (format !== SAVED_STATE_FORMAT || typeof meta.savedAt !== 'string') return null;
  const size = await stat(files.savedState).then(
    (s) => s.size,
    () => null,
  );
  return size === meta.bytes ? meta : null;
}

/** Whether anything of a saved state (complete or not) is in the VM's folder. */
export async function hasSavedStateFiles(files: VmFiles): Promise<boolean> {
  try {
    await stat(files.savedStateDir);
    return true;
  } catch (err) {
    if (isNodeError(err) && err.code === 'ENOENT') return false;
    throw err;
  }
}

/** Makes a finished state file the VM's saved state: the description goes last, synced. */
export async function commitSavedState(files: VmFiles, meta: SavedStateMeta): Promise<void> {
  await writeFileAtomic(files.savedStateMeta, `${JSON.stringify(meta, null, 2)}\n`, false);
  await syncDir(dirname(files.savedStateMeta));
}

/**
 * Removes the saved state: the description first, so a crash half-way leaves a VM that is not
 * saved (and files the next save or discard clears), never a description without its state.
 */
export async function removeSavedState(files: VmFiles): Promise<void> {
  await rm(files.savedStateMeta, { force: true });
  await syncDir(files.savedStateDir).catch(() => undefined);
  await rm(files.savedStateDir, { recursive: true, force: true });
}

/** Makes a rename or unlink in `dir` survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
