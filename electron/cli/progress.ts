import type { TaskInfo } from '../../preload/contract';

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
