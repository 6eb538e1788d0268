/**
 * The Migrate dialog's model, without React: what the user typed as the request the engine takes,
 * a running task's progress and a finished one's figures read out of TaskInfo (whose `detail` and
 * `result` are untyped on the wire), and the words and numbers the dialog shows.
 */
import type {
  MigrationBytes,
  MigrationPhase,
  MigrationProgress,
  MigrationResult,
  TaskInfo,
} from '../../../common/contract';
import { formatBytes } from '../../../common/format';

/** The task kind of a migration (`migration.start`'s task). */
export const MIGRATION_TASK = 'migration.start';

/** The phases in order, with what each is in the user's words. */
export const PHASES: readonly { phase: MigrationPhase; label: string }[] = [
  { phase: 'prepare', label: 'Prepare' },
  { phase: 'disks', label: 'Disks' },
  { phase: 'memory', label: 'Memory' },
  { phase: 'switchover', label: 'Switch-over' },
];

export interface MigrateDraft {
  to: string;
  /** Empty: the VM keeps its name there. */
  name: string;
  deleteSource: boolean;
}

/** The request the draft makes (`migration.check` ignores `deleteSource`). */
export function migrateRequest(vmId: string, d: MigrateDraft) {
  const name = d.name.trim();
  return {
    vm: vmId,
    to: d.to.trim(),
    ...(name ? { name } : {}),
    deleteSource: d.deleteSource,
  };
}

/**
 * The destination as the dialog may show it: scheme, host and port, never the token (a screen
 * share or a screenshot must not leak it). Null when it is not a URL.
 */
export function destinationShown(url: string): string | null {
  try {
    const u = new URL(url.trim());
    return u.host ? `${u.protocol}//${u.host}` : null;
  } catch {
    return null;
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function bytesOf(v: unknown): MigrationBytes | null {
  if (!isObj(v)) return null;
  const { transferred, remaining, total } = v;
  return isNum(transferred) && isNum(remaining) && isNum(total)
    ? { transferred, remaining, total }
    : null;
}

/** A running migration's progress, or null when the task carries none (yet). */
export function migrationProgressOf(task: Pick<TaskInfo, 'detail'>): MigrationProgress | null {
  const d = task.detail;
  if (!isObj(d)) return null;
  const phase = PHASES.find((p) => p.phase === d['phase'])?.phase;
  const disk = bytesOf(d['disk']);
  if (!phase || !disk) return null;
  const num = (k: string) => (isNum(d[k]) ? d[k] : null);
  return {
    phase,
    disk,
    ram: bytesOf(d['ram']),
    dirtyBytesPerSecond: num('dirtyBytesPerSecond'),
    expectedDowntimeMs: num('expectedDowntimeMs'),
    iterations: num('iterations') ?? 0,
  };
}

/** A finished migration's figures, or null when the task has none (failed, cancelled). */
export function migrationResultOf(
  task: Pick<TaskInfo, 'result' | 'state'>,
): MigrationResult | null {
  const r = task.result;
  if (task.state !== 'succeeded' || !isObj(r)) return null;
  const { vmId, name, downtimeMs, totalMs, transferredBytes } = r;
  if (typeof vmId !== 'string' || typeof name !== 'string') return null;
  if (!isNum(downtimeMs) || !isNum(totalMs) || !isNum(transferredBytes)) return null;
  return {
    vmId,
    name,
    downtimeMs,
    totalMs,
    transferredBytes,
    qemuDowntimeMs: isNum(r['qemuDowntimeMs']) ? r['qemuDowntimeMs'] : null,
    sourceFolder: typeof r['sourceFolder'] === 'string' ? r['sourceFolder'] : null,
  };
}

/** "done" for the phases before the current one, "now" for it, "next" after it. */
export function phaseStatus(current: MigrationPhase, phase: MigrationPhase) {
  const at = PHASES.findIndex((p) => p.phase === current);
  const i = PHASES.findIndex((p) => p.phase === phase);
  return i < at ? 'done' : i === at ? 'now' : 'next';
}

/**
 * "1.2 GiB of 2 GiB (800 MiB left)", counted from what is left; "· 300 MiB sent" when the bytes
 * on the wire differ (memory: zero pages cost nearly nothing, dirtied pages go twice).
 */
export function bytesLine(b: MigrationBytes | null): string {
  if (!b) return '—';
  if (b.total === 0) return 'Nothing to copy';
  const copied = Math.max(0, b.total - b.remaining);
  const line = `${formatBytes(copied)} of ${formatBytes(b.total)} (${formatBytes(b.remaining)} left)`;
  return formatBytes(b.transferred) === formatBytes(copied)
    ? line
    : `${line} · ${formatBytes(b.transferred)} sent`;
}

/** "42 ms", "1.3 s", "2 min 05 s": milliseconds where they matter (a downtime), coarser above. */
export function formatMs(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** "12 MiB/s", or "not measured yet". */
export function rateLine(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? 'not measured yet' : `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * What the notification at a migration's end says (the dialog may be hidden by then): where it
 * runs and the figures; null for other tasks.
 */
export function migrationDoneMessage(
  task: Pick<TaskInfo, 'kind' | 'result' | 'state'>,
): string | null {
  if (task.kind !== MIGRATION_TASK) return null;
  const r = migrationResultOf(task);
  if (!r) return null;
  return `“${r.name}” runs on the destination: downtime ${formatMs(r.downtimeMs)}, total ${formatMs(r.totalMs)}.`;
}
