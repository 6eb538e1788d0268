/**
 * Notices what other processes (a CLI command, a second window) do to the library: fs.watch on
 * the VMs folder, each VM's folder (vm.json is renamed into place, so its folder is what sees
 * the write), the runtime folder and each VM's runtime folder (a QEMU started elsewhere writes
 * its pid file there). Bursts of events become one sync; a slow poll covers file systems where
 * fs.watch says nothing (network shares, some containers).
 */
import { watch, type FSWatcher } from 'node:fs';

export const SAFETY_POLL_MS = 10_000;
const DEBOUNCE_MS = 50;

export class LibraryWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private poll: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
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
  watchDirs(dirs: ReadonlyArray<{ dir: string; only?: string }>): void {
    if (this.closed) return;
    let added = false;
    const wanted = new Map(dirs.map((d) => [d.dir, d.only]));
    for (const [dir, watcher] of this.watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const [dir, only] of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, file) => {
          if (only === undefined || file === null || file === only) this.trigger();
        });
        // A folder removed under the watcher: the next sync drops it.
        watcher.on('error', () => {
          watcher.close();
          if (this.watchers.get(dir) === watcher) this.watchers.delete(dir);
          this.trigger();
        });
        this.watchers.set(dir, watcher);
        added = true;
      } catch {
        // Gone already, or not watchable here: the safety poll covers it.
      }
    }
    if (added) this.trigger();
  }

  /** Runs a sync soon; one more follows if something happened while it ran. */
  trigger(delayMs = DEBOUNCE_MS): void {
    if (this.closed || this.soon) return;
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
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
