import type { TaskInfo } from '../../common/contract';
import type { CliKit } from './kit';

const BAR_WIDTH = 24;

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One line of progress for a task (CLI progress bars), at most `columns` wide. */
export function progressLine(
  task: TaskInfo,
  columns: number,
  formatBytes: (n: number) => string,
): string {
  const parts: string[] = [];
  if (task.progress !== null) {
    const filled = Math.round(task.progress * BAR_WIDTH);
    parts.push(
      `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`,
      `${Math.floor(task.progress * 100)}%`.padStart(4),
    );
  } else {
    const at = Math.floor(Date.now() / 120) % BAR_WIDTH;
    parts.push(`[${'-'.repeat(at)}#${'-'.repeat(BAR_WIDTH - at - 1)}]`);
  }
  if (task.bytesTotal)
    parts.push(`${formatBytes(task.bytesDone ?? 0)}/${formatBytes(task.bytesTotal)}`);
  if (task.bytesPerSecond) parts.push(`${formatBytes(task.bytesPerSecond)}/s`);
  if (task.etaSeconds !== null) parts.push(`ETA ${clock(task.etaSeconds)}`);
  parts.push(task.message ?? task.title);
  const line = parts.join('  ');
  return line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line;
}

/**
 * Waits for a task, drawing its progress bar on stderr (with `json`, one JSON object per progress
 * event instead); SIGINT cancels it when it can be cancelled. T: the task's result.
 */
export async function followTask<T>(kit: CliKit, task: TaskInfo, json: boolean): Promise<T> {
  const engine = await kit.engine();
  const tty = !json && process.stderr.isTTY;
  let latest = task;
  const draw = (): void => {
    if (tty)
      process.stderr.write(
        `\r\x1b[K${progressLine(latest, process.stderr.columns || 80, (n) => kit.formatBytes(n))}`,
      );
  };
  const off = engine.onEvent((event) => {
    if (event.type !== 'task' || event.task.id !== task.id) return;
    latest = event.task;
    if (json) process.stderr.write(`${JSON.stringify({ task: event.task })}\n`);
    else draw();
  });
  const spinner = tty && task.progress === null ? setInterval(draw, 120) : null;
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    try {
      engine.tasks.cancel(task.id);
      process.stderr.write(tty ? '\r\x1b[KCancelling...' : 'Cancelling...\n');
    } catch {
      process.stderr.write(
        `${tty ? '\r\x1b[K' : ''}This step cannot be cancelled; it ends in a moment (Ctrl-C again to leave it running in the background).\n`,
      );
    }
  };
  process.on('SIGINT', onSigint);
  draw();
  try {
    return (await engine.tasks.wait(task.id)) as T;
  } finally {
    off();
    if (spinner) clearInterval(spinner);
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\r\x1b[K');
  }
}
