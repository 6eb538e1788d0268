/**
 * Tasks: long work (downloads, conversions, snapshots) returns a task id at once; progress
 * arrives as `task` events.
 */
import { z } from 'zod';
import type { ApiErrorBody } from './errors';

export const TASK_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskInfo {
  id: string;
  /** e.g. 'download', 'disk.import', 'snapshot.save'. */
  kind: string;
  title: string;
  vmId: string | null;
  state: TaskState;
  /** 0..1 when known. */
  progress: number | null;
  /** Bytes done/total, speed and ETA for transfers. */
  bytesDone: number | null;
  bytesTotal: number | null;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  message: string | null;
  error: ApiErrorBody | null;
  /**
   * Progress beyond bytes, by task kind (absent for most): 'migration.start' gives a
   * MigrationProgress (see migration.ts).
   */
  detail?: unknown;
  /** What the finished task produced (a file path, a VM id...). */
  result: unknown;
  cancellable: boolean;
  startedAt: string;
  endedAt: string | null;
}

export const taskMethods = {
  'task.list': z.object({}),
  'task.get': z.object({ id: z.string().min(1) }),
  'task.cancel': z.object({ id: z.string().min(1) }),
} as const;

export interface TaskResults {
  'task.list': TaskInfo[];
  'task.get': TaskInfo;
  'task.cancel': TaskInfo;
}
