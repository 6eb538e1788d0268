import { randomBytes } from 'node:crypto';
import type { TaskInfo } from '../../../common/contract';
import { toErrorBody, VivariumError } from '../errors';

export interface TaskProgress {
  progress?: number | null;
  bytesDone?: number | null;
  bytesTotal?: number | null;
  message?: string | null;
  /** Kind-specific progress (TaskInfo.detail). */
  detail?: unknown;
}

export interface TaskContext {
  signal: AbortSignal;
  /** Reports progress; speed and ETA are derived from bytes over time. Events are throttled. */
  report(progress: TaskProgress): void;
}

export interface TaskSpec<T> {
  kind: string;
  title: string;
  vmId?: string | null;
  cancellable?: boolean;
  run(ctx: TaskContext): Promise<T>;
}

const EVENT_INTERVAL_MS = 100;
const KEEP_FINISHED = 50;

/**
 * Long work with progress and cancel. `start` returns the task at once; `run` awaits it.
 * Every change is published (throttled) so UIs and the CLI can draw progress bars.
 */
export class TaskManager {
  private readonly tasks = new Map<
    string,
    { info: TaskInfo; abort: AbortController; done: Promise<unknown> }
  >();

  constructor(private readonly publish: (task: TaskInfo) => void) {}

  list(): TaskInfo[] {
    return [...this.tasks.values()].map((t) => ({ ...t.info }));
  }

  get(id: string): TaskInfo {
    const task = this.tasks.get(id);
    if (!task) throw new VivariumError('NOT_FOUND', `There is no task ${id}.`);
    return { ...task.info };
  }

  cancel(id: string): TaskInfo {
    const task = this.tasks.get(id);
    if (!task) throw new VivariumError('NOT_FOUND', `There is no task ${id}.`);
    if (!task.info.cancellable) {
      throw new VivariumError('BAD_STATE', `"${task.info.title}" cannot be cancelled.`);
    }
    if (task.info.state === 'running')
      task.abort.abort(new VivariumError('CANCELLED', 'Cancelled'));
    return { ...task.info };
  }

  /** Starts the task and returns its info at once (the front doors' "task id now" style). */
  start<T>(spec: TaskSpec<T>): TaskInfo {
    return this.launch(spec).info;
  }

  /** Starts the task and waits for its result (the CLI and other engine code). */
  run<T>(spec: TaskSpec<T>): Promise<T> {
    return this.launch(spec).done;
  }

  /** The result of a started task. */
  async wait(id: string): Promise<unknown> {
    const task = this.tasks.get(id);
    if (!task) throw new VivariumError('NOT_FOUND', `There is no task ${id}.`);
    return task.done;
  }

  private launch<T>(spec: TaskSpec<T>): { info: TaskInfo; done: Promise<T> } {
    const id = randomBytes(8).toString('hex');
    const abort = new AbortController();
    const info: TaskInfo = {
      id,
      kind: spec.kind,
      title: spec.title,
      vmId: spec.vmId ?? null,
      state: 'running',
      progress: null,
      bytesDone: null,
      bytesTotal: null,
      bytesPerSecond: null,
      etaSeconds: null,
      message: null,
      error: null,
      result: null,
      cancellable: spec.cancellable ?? true,
      startedAt: new Date().toISOString(),
      endedAt: null,
    };
    let lastEvent = 0;
    let pending: NodeJS.Timeout | null = null;
    const emit = (force = false) => {
      const now = Date.now();
      if (!force && now - lastEvent < EVENT_INTERVAL_MS) {
        pending ??= setTimeout(() => {
          pending = null;
          emit(true);
        }, EVENT_INTERVAL_MS);
        return;
      }
      if (pending) clearTimeout(pending);
      pending = null;
      lastEvent = now;
      this.publish({ ...info });
    };
    const started = Date.now();
    let firstBytes: { at: number; bytes: number } | null = null;
    const report = (p: TaskProgress) => {
      if (info.state !== 'running') return;
      if (p.message !== undefined) info.message = p.message;
      if (p.detail !== undefined) info.detail = p.detail;
      if (p.bytesTotal !== undefined) info.bytesTotal = p.bytesTotal;
      if (p.bytesDone !== undefined && p.bytesDone !== null) {
        const now = Date.now();
        firstBytes ??= { at: now, bytes: p.bytesDone };
        info.bytesDone = p.bytesDone;
        const seconds = (now - Math.max(started, firstBytes.at)) / 1000;
        const moved = p.bytesDone - firstBytes.bytes;
        info.bytesPerSecond = seconds > 0.2 ? Math.round(moved / seconds) : null;
        if (info.bytesTotal && info.bytesPerSecond) {
          info.etaSeconds = Math.max(
            0,
            Math.round((info.bytesTotal - p.bytesDone) / info.bytesPerSecond),
          );
        }
        if (info.bytesTotal) info.progress = Math.min(1, p.bytesDone / info.bytesTotal);
      }
      if (p.progress !== undefined) info.progress = p.progress;
      emit();
    };
    const done = (async () => {
      try {
        const result = await spec.run({ signal: abort.signal, report });
        info.state = 'succeeded';
        info.progress = 1;
        info.result = result ?? null;
        return result;
      } catch (err) {
        const cancelled = abort.signal.aborted;
        info.state = cancelled ? 'cancelled' : 'failed';
        info.error = cancelled
          ? { code: 'CANCELLED', message: `${spec.title}: cancelled` }
          : toErrorBody(err);
        throw cancelled ? new VivariumError('CANCELLED', `${spec.title}: cancelled`) : err;
      } finally {
        info.endedAt = new Date().toISOString();
        info.etaSeconds = null;
        emit(true);
        this.prune();
      }
    })();
    done.catch(() => undefined);
    this.tasks.set(id, { info, abort, done });
    emit(true);
    return { info: { ...info }, done };
  }

  private prune(): void {
    const finished = [...this.tasks.entries()].filter(([, t]) => t.info.state !== 'running');
    for (const [id] of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.tasks.delete(id);
    }
  }
}
