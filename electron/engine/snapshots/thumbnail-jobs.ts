/**
 * The thumbnail of a live snapshot: the screen dumped as PPM at the moment of the save, encoded
 * to `<id>.png` after it (thumbnail.ts says why). Reading a thumbnail waits for its encoding.
 */
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Vm } from '../library/vm';
import { convertPpmFile } from './thumbnail';

export class ThumbnailJobs {
  /** PNG thumbnails being encoded, by snapshot id. */
  private readonly encoding = new Map<string, Promise<void>>();

  /**
   * The screen at the moment of the snapshot, dumped as PPM (a copy, ~1 ms; PNG compression in
   * QEMU would hold up the save). Resolves to the PNG's name, or null when there is no dump.
   * A VM without a display has none.
   */
  grab(vm: Vm, id: string): Promise<string | null> {
    if (vm.config.video === 'none') return Promise.resolve(null);
    // Sent at once (no await before it), so no later command on this QMP connection overtakes it.
    return vm.supervisor
      .command('screendump', {
        filename: join(vm.files.screenshotsDir, `${id}.ppm`),
        format: 'ppm',
      })
      .then(
        () => `${id}.png`,
        () => null,
      );
  }

  /** When the screen dump lands, encode it; if it failed, `onFailed`. */
  encodeWhenDumped(
    vm: Vm,
    id: string,
    shot: Promise<string | null>,
    onFailed: () => Promise<unknown>,
  ): void {
    const dir = vm.files.screenshotsDir;
    this.track(
      id,
      shot.then(async (ok) => {
        if (ok) return convertPpmFile(join(dir, `${id}.ppm`), join(dir, `${id}.png`));
        await onFailed();
      }),
    );
  }

  /** Waits for the PNG being encoded, or encodes a PPM a crash left behind. */
  async ready(vm: Vm, id: string): Promise<void> {
    const pending = this.encoding.get(id);
    if (pending) return pending;
    const dir = vm.files.screenshotsDir;
    const has = (f: string) =>
      access(join(dir, f)).then(
        () => true,
        () => false,
      );
    if (!(await has(`${id}.png`)) && (await has(`${id}.ppm`))) {
      this.track(id, convertPpmFile(join(dir, `${id}.ppm`), join(dir, `${id}.png`)));
      await this.encoding.get(id);
    }
  }

  async remove(vm: Vm, id: string): Promise<void> {
    await this.encoding.get(id);
    const dir = vm.files.screenshotsDir;
    await Promise.all([
      rm(join(dir, `${id}.png`), { force: true }),
      rm(join(dir, `${id}.ppm`), { force: true }),
    ]);
  }

  private track(id: string, work: Promise<unknown>): void {
    const done = work
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => this.encoding.delete(id));
    this.encoding.set(id, done);
  }
}
