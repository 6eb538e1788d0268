/**
 * VM folders without a vm.json that no operation explains: what a process killed before the
 * intent journal existed left (or a folder half-deleted by hand). They are not deleted, since
 * some hold disks: they move to `vms/.orphans/<id>` and stay listed among the host's notices
 * (host.info, which the app's banners and `vivarium host` show) until the user removes them.
 *
 * Folders of deleted VMs whose disks were kept on purpose carry a `kept-disks.json` marker and
 * stay where they are; a VM being deleted leaves `vms/` in one rename (`removeVmFolder`).
 */
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { EnginePaths } from '../paths';
import { processAlive } from '../qemu/process-info';
import type { IntentRecord } from './intents';

const VM_DIR = /^[a-f0-9]{12}$/;
const DELETING = /^\.deleting-[a-f0-9]{12}-(\d+)$/;
export const KEPT_DISKS_MARKER = 'kept-disks.json';

/**
 * Deletes a VM's folder: renamed out of the library first (one atomic step), so that a kill
 * midway never leaves half a VM in `vms/`, and the sweep never takes a folder being deleted for
 * an orphan. What a killed delete leaves (`.deleting-<id>-<pid>`) goes on the owner's next open.
 */
export async function removeVmFolder(paths: EnginePaths, dir: string): Promise<void> {
  const doomed = join(paths.vmsDir, `.deleting-${basename(dir)}-${process.pid}`);
  try {
    await rename(dir, doomed);
  } catch {
    // Retried: a process waiting for this VM's lock may make its lock folder in it meanwhile.
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    return;
  }
  await rm(doomed, { recursive: true, force: true, maxRetries: 5 });
}

export function orphansDir(paths: EnginePaths): string {
  return join(paths.vmsDir, '.orphans');
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

/**
 * Moves folders without vm.json to `.orphans/` and makes every VM folder private (0700).
 * `intents` must be read AFTER this function lists `vms/` (it takes a function for that): an
 * operation records its intent before it makes its folder, so a folder seen in the listing
 * whose operation is under way is always explained.
 */
export async function setAsideOrphans(
  paths: EnginePaths,
  intents: () => Promise<IntentRecord[]>,
): Promise<string[]> {
  const all = await readdir(paths.vmsDir).catch(() => [] as string[]);
  for (const name of all) {
    const pid = Number(DELETING.exec(name)?.[1] ?? NaN);
    if (Number.isSafeInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await rm(join(paths.vmsDir, name), { recursive: true, force: true });
    }
  }
  const names = all.filter((n) => VM_DIR.test(n));
  const candidates: string[] = [];
  for (const name of names) {
    const dir = join(paths.vmsDir, name);
    // Folders made by older versions (or under another umask) were world-readable: disks, logs.
    await chmod(dir, 0o700).catch(() => undefined);
    if (await exists(join(dir, 'vm.json'))) continue;
    if (await exists(join(dir, KEPT_DISKS_MARKER))) continue;
    candidates.push(name);
  }
  if (candidates.length === 0) return [];
  const records = await intents();
  const explained = new Set(records.flatMap((r) => [...r.vmIds, ...r.paths]));
  const moved: string[] = [];
  for (const name of candidates) {
    const dir = join(paths.vmsDir, name);
    if (explained.has(name) || explained.has(dir)) continue;
    // Its operation may have finished since the listing.
    if (await exists(join(dir, 'vm.json'))) continue;
    const target = join(orphansDir(paths), `${name}-${Date.now()}`);
    await mkdir(orphansDir(paths), { recursive: true, mode: 0o700 });
    try {
      await rename(dir, target);
      moved.push(target);
    } catch {
      // Gone meanwhile (its operation undid itself).
    }
  }
  return moved;
}

/** The host notice for what `.orphans/` holds, or null when it is empty. */
export async function orphansNotice(paths: EnginePaths): Promise<string | null> {
  const names = await readdir(orphansDir(paths)).catch(() => [] as string[]);
  if (names.length === 0) return null;
  return (
    `${names.length} VM folder${names.length > 1 ? 's' : ''} without a vm.json (left by an interrupted ` +
    `create, clone or delete) ${names.length > 1 ? 'were' : 'was'} moved aside to ${orphansDir(paths)}: ` +
    `${names.join(', ')}. Any disks inside can be attached to a VM (vivarium disk add VM --file PATH); ` +
    'delete the folder when you no longer need it.'
  );
}
