import type { MigrationCheck, TaskInfo } from '../../../common/contract';
import { getBridge, toApiError, type ApiError } from '../bridge';
import { migrateRequest, type MigrateDraft } from '../lib/migration';
import { applyTaskEvent } from './tasks';

/** Asks the engine (and through it the destination) whether the migration can start. */
export async function checkMigration(
  vmId: string,
  draft: MigrateDraft,
): Promise<{ ok: true; check: MigrationCheck } | { ok: false; error: ApiError }> {
  const { vm, to, name } = migrateRequest(vmId, draft);
  try {
    const check = await getBridge().call('migration.check', {
      vm,
      to,
      ...(name ? { name } : {}),
    });
    return { ok: true, check };
  } catch (err) {
    return { ok: false, error: toApiError(err) };
  }
}

/**
 * Starts the migration: a task whose progress arrives as task events (the tasks store has it at
 * once). Refusals come back here, before any task exists.
 */
export async function startMigration(
  vmId: string,
  draft: MigrateDraft,
): Promise<{ ok: true; task: TaskInfo } | { ok: false; error: ApiError }> {
  try {
    const task = await getBridge().call('migration.start', migrateRequest(vmId, draft));
    applyTaskEvent(task);
    return { ok: true, task };
  } catch (err) {
    return { ok: false, error: toApiError(err) };
  }
}
