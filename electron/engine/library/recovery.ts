/**
 * What an engine does on open about work a killed process left: each interrupted operation in
 * the intent journal is finished or undone by its own recovery (the domain services supply them),
 * then VM folders without a config that nothing explains are moved aside. Returns what the user
 * must be told (the engine shows it as host notices).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { EnginePaths } from '../paths';
import { fileExists } from './atomic-file';
import { writerAlive, type IntentJournal, type IntentRecord, type Recoveries } from './intents';
import { setAsideOrphans } from './orphans';

export async function recoverInterrupted(
  paths: EnginePaths,
  journal: IntentJournal,
  recoveries: Recoveries,
): Promise<string[]> {
  const notices: string[] = [];
  for (const { file, record } of await journal.claimInterrupted()) {
    try {
      const notice = await recoveries[record.op](record);
      if (notice) notices.push(notice);
      await rm(file, { force: true });
    } catch (err) {
      // The claim stays; the next engine (once this one has ended) tries again.
      notices.push(
        `An interrupted ${record.op} (step ${record.step}) could not be recovered yet: ` +
          `${err instanceof Error ? err.message : String(err)} (its record: ${file}).`,
      );
    }
  }
  const moved = await setAsideOrphans(paths, () => journal.all());
  if (moved.length) {
    notices.push(
      `Moved ${moved.length} VM folder${moved.length > 1 ? 's' : ''} without a vm.json aside: ${moved.join(', ')}.`,
    );
  }
  return notices;
}

/** What create and full clone record: the new VM's folder, and what to call the work. */
export const NewVmDataSchema = z.object({
  vmId: z.string(),
  dir: z.string(),
  name: z.string(),
  what: z.string(),
});
export type NewVmData = z.infer<typeof NewVmDataSchema>;

/**
 * A VM being made (create, full clone): with its vm.json it is complete (the config is written
 * last, and the library already lists it); without, its folder holds nothing the user made yet
 * and goes.
 */
export async function recoverNewVm(record: IntentRecord): Promise<string | null> {
  const d = NewVmDataSchema.parse(record.data);
  if (await fileExists(join(d.dir, 'vm.json'))) return null;
  await rm(d.dir, { recursive: true, force: true });
  return `${d.what} was interrupted (at step ${record.step}) and has been undone: no VM "${d.name}" was made.`;
}

/** For engines that do not recover (a CLI command): what waits for the next owner to open. */
export async function pendingNotice(journal: IntentJournal): Promise<string | null> {
  const waiting = (await journal.all()).filter((r) => !writerAlive(r.pid, r.pidStart));
  if (waiting.length === 0) return null;
  const ops = waiting.map((r) => `${r.op} (at step ${r.step})`).join(', ');
  return (
    `Interrupted work waits to be finished or undone: ${ops}. The app or \`vivarium serve\` ` +
    'does it when it opens.'
  );
}
