/**
 * The intent journal: how a multi-step operation (create, clone, linked clone, disk add, import
 * and resize, snapshot create and delete) survives a kill at any step. Before its first step the
 * operation writes an intent record to `<home>/journal/<id>.json` (atomic; fsynced before a step
 * that moves existing data, see `write`): what it
 * does, which VMs and paths it touches, its own data for recovery, and the step it has reached,
 * rewritten as each step begins. When it ends (done, or undone by itself) the record goes.
 *
 * A record whose writer is gone (its pid is dead, or now names another process: the start time
 * differs) is an interrupted operation: the next engine to open claims it (an atomic rename, so
 * two engines never recover the same one) and hands it to the operation's own recovery, which
 * finishes or undoes it. A record whose writer lives is left alone: that operation is under way.
 *
 * Crash testing: `VIVARIUM_CRASH_AT=<op>:<step>` (e.g. `vm.clone-linked:freeze`) makes the
 * process kill itself with SIGKILL right after recording that step, before doing its work. It
 * exists so the kill -9 tests (tests/reliability/kill9.test.ts) can stop an operation exactly at
 * each step; nothing else sets it.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import type { EnginePaths } from '../paths';
import { processAlive } from '../qemu/process-info';
import { writeFileAtomic } from './atomic-file';

/** Every multi-step operation and its steps, in order; each is recorded before it is done. */
export const INTENT_STEPS = {
  'vm.create': ['folder', 'disk', 'seed', 'nvram', 'config', 'finish'],
  'vm.clone': ['folder', 'copy', 'nvram', 'config', 'finish'],
  'vm.clone-linked': [
    'folder',
    'freeze',
    'source-overlay',
    'clone-overlay',
    'nvram',
    'links',
    'config',
    'finish',
  ],
  'disk.add': ['file', 'config', 'finish'],
  'disk.import': ['convert', 'config', 'finish'],
  'disk.resize': ['resize', 'finish'],
  'snapshot.create': ['images', 'index', 'finish'],
  'snapshot.delete': ['images', 'index', 'thumbnail', 'finish'],
} as const;

export type IntentOp = keyof typeof INTENT_STEPS;
export type IntentStep<O extends IntentOp> = (typeof INTENT_STEPS)[O][number];

const OPS = Object.keys(INTENT_STEPS) as [IntentOp, ...IntentOp[]];

export const IntentRecordSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  op: z.enum(OPS),
  pid: z.number().int(),
  /** The writer's start time (Linux: /proc/<pid>/stat), so a reused pid is not mistaken for it. */
  pidStart: z.string().nullable(),
  startedAt: z.string(),
  vmIds: z.array(z.string()),
  /** Every path the operation creates or renames (folders, disks, bases). */
  paths: z.array(z.string()),
  step: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type IntentRecord = z.infer<typeof IntentRecordSchema>;

/** A recovery: finishes or undoes an interrupted operation; returns what to tell the user. */
export type Recovery = (record: IntentRecord) => Promise<string | null>;
export type Recoveries = { [O in IntentOp]: Recovery };

export function journalDir(paths: EnginePaths): string {
  return join(paths.home, 'journal');
}

/** When process `pid` started, as the kernel counts it; null where that cannot be read. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const ownStart = processStartTime(process.pid);

/** The process that wrote or claimed a record still runs. */
export function writerAlive(pid: number, start: string | null): boolean {
  if (pid === process.pid) return true;
  if (!processAlive(pid)) return false;
  const now = processStartTime(pid);
  return start === null || now === null || now === start;
}

const CLAIMED = /^([a-f0-9]+)\.claim-(\d+)-(\w*)\.json$/;
const PENDING = /^([a-f0-9]+)\.json$/;

export class IntentJournal {
  constructor(readonly dir: string) {}

  /** Records the intent before anything is done; the operation then calls `step` for each step. */
  async begin<O extends IntentOp>(
    op: O,
    what: { vmIds: string[]; paths: string[]; data: Record<string, unknown> },
  ): Promise<Intent<O>> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const record: IntentRecord = {
      version: 1,
      id: randomBytes(8).toString('hex'),
      op,
      pid: process.pid,
      pidStart: ownStart,
      startedAt: new Date().toISOString(),
      vmIds: what.vmIds,
      paths: what.paths,
      step: 'begin',
      data: what.data,
    };
    const intent = new Intent<O>(this, record);
    await intent.write(false);
    return intent;
  }

  /** Every record, whoever wrote it (the folder sweep asks which folders one explains). */
  async all(): Promise<IntentRecord[]> {
    const out: IntentRecord[] = [];
    for (const name of await this.names()) {
      const record = await this.read(join(this.dir, name));
      if (record) out.push(record);
    }
    return out;
  }

  /**
   * Claims the records of operations whose process is gone (and claims left by recoveries that
   * died themselves); each is renamed to `<id>.claim-<our pid>-<start>.json`, which only one
   * engine can do.
   */
  async claimInterrupted(): Promise<Array<{ file: string; record: IntentRecord }>> {
    const claimed: Array<{ file: string; record: IntentRecord }> = [];
    for (const name of await this.names()) {
      const file = join(this.dir, name);
      const byClaim = CLAIMED.exec(name);
      const id = byClaim?.[1] ?? PENDING.exec(name)?.[1];
      if (!id) continue;
      if (byClaim) {
        if (writerAlive(Number(byClaim[2]), byClaim[3] || null)) continue;
      } else {
        const record = await this.read(file);
        if (record && writerAlive(record.pid, record.pidStart)) continue;
      }
      const mine = join(this.dir, `${id}.claim-${process.pid}-${ownStart ?? ''}.json`);
      try {
        await rename(file, mine);
      } catch {
        continue; // Another engine claimed it first.
      }
      const record = await this.read(mine);
      if (record) claimed.push({ file: mine, record });
      else await rm(mine, { force: true }); // Unreadable: no operation can be recovered from it.
    }
    return claimed;
  }

  private async names(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
  }

  private async read(file: string): Promise<IntentRecord | null> {
    try {
      const parsed = IntentRecordSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }
}

export class Intent<O extends IntentOp> {
  constructor(
    private readonly journal: IntentJournal,
    private record: IntentRecord,
  ) {}

  get file(): string {
    return join(this.journal.dir, `${this.record.id}.json`);
  }

  /**
   * Records that `name` begins (with more paths or data when the step adds some); the work of
   * the step follows once the record is on disk.
   */
  async step(
    name: IntentStep<O>,
    more: { durable?: boolean; paths?: string[]; data?: Record<string, unknown> } = {},
  ): Promise<void> {
    this.record = {
      ...this.record,
      step: name,
      paths: [...this.record.paths, ...(more.paths ?? [])],
      data: { ...this.record.data, ...(more.data ?? {}) },
    };
    await this.write(more.durable ?? false);
    if (process.env.VIVARIUM_CRASH_AT === `${this.record.op}:${name}`) {
      process.kill(process.pid, 'SIGKILL');
    }
  }

  /** The operation completed: its last step is recorded (a kill point too), then the record goes. */
  async end(): Promise<void> {
    await this.step('finish');
    await rm(this.file, { force: true });
  }

  /** The operation failed and undid itself: nothing is left to recover. */
  async discard(): Promise<void> {
    await rm(this.file, { force: true });
  }

  /**
   * Every write renames a whole record into place, so a kill never leaves half of one; the
   * page cache outlives a killed process, so that is all a kill needs. A power cut is another
   * matter only for a step that moves the user's existing data (a linked clone freezing the
   * source's disk): such a step is `durable`, its record fsynced (file and folder entry) before
   * the work. Other steps only make new files, which a lost record leaves as a folder without a
   * config (set aside on open) or an unused file; recoveries decide from the files they find,
   * not from the step recorded. An fsync per step would make a linked clone twice as slow.
   */
  async write(durable: boolean): Promise<void> {
    const text = `${JSON.stringify(this.record)}\n`;
    await writeFileAtomic(this.file, text, false, { sync: durable });
    if (!durable) return;
    const dir = await open(this.journal.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
