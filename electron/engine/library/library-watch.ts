/**
 * Notices what other processes (a CLI command, a second window) do to the library: fs.watch on
 * the VMs folder, each VM's folder (vm.json is renamed into place, so its folder is what sees
 * the write), the runtime folder and each VM's runtime folder (a QEMU started elsewhere writes
 * its pid file there). Bursts of events become one sync; a slow poll covers file systems where
 * fs.watch says nothing (network shares, some containers).
 */
import { statSync, watch, type FSWatcher } from 'node:fs';

export const SAFETY_POLL_MS = 10_000;
const DEBOUNCE_MS = 50;

export class LibraryWatch {
  /** By folder, with the inode it watches (a folder removed and made again is a new one). */
  private readonly watchers = new Map<string, { watcher: FSWatcher; ino: number }>();
  private poll: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private soonDue = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly sync: () => Promise<void>) {}

  start(): void {
    this.poll = setInterval(() => this.trigger(), SAFETY_POLL_MS);
    this.poll.unref();
  }

  /**
   * Watches exactly these folders from now on (one that does not exist yet is left to the poll).
   * With `only`, just events about that file count: QEMU writing a disk image beside vm.json
   * must not set off a sync at every write. A sync follows a new watch, for what happened in the
   * folder before it.
   */
  watchDirs(dirs: ReadonlyArray<{ dir: string; only?: string | readonly string[] }>): void {
    if (this.closed) return;
    let added = false;
    const wanted = new Map(dirs.map((d) => [d.dir, d.only]));
    for (const [dir, held] of this.watchers) {
      if (!wanted.has(dir) || inode(dir) !== held.ino) {
        held.watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const [dir, only] of wanted) {
      if (this.watchers.has(dir)) continue;
      const ino = inode(dir);
      if (ino === null) continue; // not there yet: a later sync, or the safety poll, sees it
      try {
        const watcher = watch(dir, { persistent: false }, (_event, file) => {
          if (only === undefined || file === null || [only].flat().includes(file)) this.trigger();
        });
        watcher.on('error', () => {
          watcher.close();
          if (this.watchers.get(dir)?.watcher === watcher) this.watchers.delete(dir);
          this.trigger();
        });
        this.watchers.set(dir, { watcher, ino });
        added = true;
      } catch {
        // Gone meanwhile, or not watchable here: the safety poll covers it.
      }
    }
    if (added) this.trigger();
  }

  /** Runs a sync soon; one more follows if something happened while it ran. */
  trigger(delayMs = DEBOUNCE_MS): void {
    if (this.closed) return;
    const due = Date.now() + delayMs;
    if (this.soon) {
      // Already coming, and no later than this one asks.
      if (this.soonDue <= due) return;
      clearTimeout(this.soon);
    }
    this.soonDue = due;
    this.soon = setTimeout(() => {
      this.soon = null;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.sync()
        .catch(() => undefined)
        .finally(() => {
          this.running = null;
          if (this.again) {
            this.again = false;
            this.trigger();
          }
        });
    }, delayMs);
    this.soon.unref();
  }

  close(): void {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    if (this.soon) clearTimeout(this.soon);
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

function inode(dir: string): number | null {
  try {
    return statSync(dir).ino;
  } catch {
    return null;
  }
}
