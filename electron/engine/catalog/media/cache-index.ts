/**
 * What the media cache holds: `media/<sha256>/<image>` with its `meta.json` (a CachedMedia record
 * without usedBy), listed only while the image is there at its recorded size. Which VMs hold an
 * image in their CD-ROM is the engine's knowledge, not the cache's: it is asked each time through
 * `users` and never stored.
 */
import { readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { CachedMedia, CachedMediaFormat, VmArch } from '../../../../common/contract';
import { mediaDisplayName } from '../../../../common/media-names';
import { VivariumError } from '../../errors';
import { writeFileAtomic } from '../../library/atomic-file';
import { hold, storingDirs } from './holds';
import { sniffImage } from './image-format';
import { RECORD_FILE } from './record-name';

/** A VM that holds an image in its CD-ROM. */
export type MediaUser = CachedMedia['usedBy'][number];
/** The VMs by the real path of the image in their CD-ROM (the engine answers). */
export type CdromUsers = () => Promise<Map<string, MediaUser[]>>;
/** A cache record as meta.json holds it: who uses the image is asked each time, never stored. */
export type StoredMedia = Omit<CachedMedia, 'usedBy' | 'displayName'>;
/** A record to write: without a format or an architecture, the image's first bytes say them. */
export type NewStoredMedia = Omit<StoredMedia, 'format' | 'osName' | 'arch'> & {
  format?: CachedMediaFormat;
  osName?: string | null;
  arch?: VmArch | null;
};

const SHA256_DIR_RE = /^[a-f0-9]{64}$/;

/** The real path of a file (symlinks resolved), or its absolute path when it is not there. */
export function realPathOf(file: string): Promise<string> {
  return realpath(file).catch(() => resolve(file));
}

export class MediaCacheIndex {
  /**
   * @param dir the cache's `media/` folder
   * @param users which VMs hold which images (asked on every listing)
   */
  constructor(
    readonly dir: string,
    private readonly users: CdromUsers,
  ) {}

  /** Every complete entry, newest first, with the VMs that use it. */
  async list(): Promise<CachedMedia[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const users = await this.users();
    const out: CachedMedia[] = [];
    for (const name of names) {
      if (!SHA256_DIR_RE.test(name)) continue;
      const m = await this.read(name);
      if (m) out.push(await this.withUsers(m, users));
    }
    return out.sort((a, b) => b.addedAt.localeCompare(a.addedAt));
  }

  /** The cached media with this SHA-256 (of the download), if it is complete. */
  async get(sha256: string): Promise<CachedMedia | null> {
    const m = await this.read(sha256);
    return m && this.withUsers(m, await this.users());
  }

  async find(match: (m: CachedMedia) => boolean): Promise<CachedMedia | null> {
    return (await this.list()).find(match) ?? null;
  }

  /** The record of an entry whose image is there at its recorded size, else null. */
  private async read(sha256: string): Promise<StoredMedia | null> {
    try {
      const meta = JSON.parse(
        await readFile(join(this.dir, sha256, RECORD_FILE), 'utf8'),
      ) as NewStoredMedia & { usedBy?: unknown };
      const st = await stat(meta.file);
      if (!st.isFile() || st.size !== meta.bytes) return null;
      const { usedBy: _ignored, ...stored } = meta;
      // Records written before formats (or OS names, or architectures) were kept: the image
      // says what it is.
      const sniffed =
        stored.format === undefined || stored.arch === undefined
          ? await sniffImage(stored.file)
          : null;
      return {
        ...stored,
        osName: stored.osName ?? null,
        format: stored.format ?? sniffed?.format ?? 'unknown',
        arch: stored.arch !== undefined ? stored.arch : (sniffed?.arch ?? null),
      };
    } catch {
      return null;
    }
  }

  private async withUsers(m: StoredMedia, users: Map<string, MediaUser[]>): Promise<CachedMedia> {
    return {
      ...m,
      displayName: mediaDisplayName(m),
      usedBy: users.size ? (users.get(await realPathOf(m.file)) ?? []) : [],
    };
  }

  /**
   * The VMs whose CD-ROM holds an image of this cache entry: its file, or (for an entry whose
   * meta.json is gone) any file in its folder, since removing the entry removes the folder.
   */
  async usersOf(sha256: string): Promise<MediaUser[]> {
    const users = await this.users();
    if (!users.size) return [];
    const m = await this.read(sha256);
    if (m) return users.get(await realPathOf(m.file)) ?? [];
    const dir = `${await realPathOf(join(this.dir, sha256))}${sep}`;
    const out = new Map<string, MediaUser>();
    for (const [file, vms] of users) {
      if (file.startsWith(dir)) for (const vm of vms) out.set(vm.id, vm);
    }
    return [...out.values()];
  }

  /**
   * Writes an entry's meta.json (its image already in place) and answers the entry as `list`
   * would: a VM may name that path already (an image deleted and fetched again).
   */
  async record(input: NewStoredMedia): Promise<CachedMedia> {
    const sniffed =
      input.format === undefined || input.arch === undefined ? await sniffImage(input.file) : null;
    const record: StoredMedia = {
      ...input,
      osName: input.osName ?? null,
      format: input.format ?? sniffed?.format ?? 'unknown',
      arch: input.arch !== undefined ? input.arch : (sniffed?.arch ?? null),
    };
    await writeFileAtomic(
      join(this.dir, record.sha256, RECORD_FILE),
      `${JSON.stringify(record, null, 2)}\n`,
      false,
    );
    return {
      ...record,
      displayName: mediaDisplayName(record),
      usedBy: (await this.get(record.sha256))?.usedBy ?? [],
    };
  }

  /**
   * Removes a cache entry. Whether VMs still use it is the caller's question (`media.delete`
   * asks `usersOf` first); one that a download or upload of this process is storing right now
   * is refused.
   */
  async remove(sha256: string): Promise<{ deleted: boolean; file: string | null }> {
    this.assertNotStoring(sha256);
    const meta = await this.read(sha256);
    const dir = join(this.dir, sha256);
    const existed = await stat(dir).then(
      () => true,
      () => false,
    );
    await rm(dir, { recursive: true, force: true });
    return { deleted: existed, file: meta?.file ?? null };
  }

  /** Refuses (BAD_STATE) while a download or upload of this process stores this image. */
  assertNotStoring(sha256: string): void {
    if (storingDirs.has(join(this.dir, sha256))) {
      throw new VivariumError(
        'BAD_STATE',
        `The image ${sha256.slice(0, 12)}… is being stored by a download or upload right now: try again when it has finished.`,
      );
    }
  }

  /**
   * Removes image folders that have no record and have not changed for `idleMs`: a download or
   * upload killed between moving its image into the cache and recording it leaves one, which no
   * listing shows and nothing else would ever free. Folders this process is storing are kept;
   * another process's admit changes its folder all the time it runs, so `idleMs` (an hour by
   * default) keeps those. Returns the bytes freed per removed folder.
   */
  async removeUnrecorded(idleMs = 3_600_000, now = Date.now()): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const freed: number[] = [];
    for (const name of names) {
      const dir = join(this.dir, name);
      if (!SHA256_DIR_RE.test(name) || storingDirs.has(dir)) continue;
      const hasRecord = await stat(join(dir, RECORD_FILE)).then(
        () => true,
        () => false,
      );
      if (hasRecord) continue;
      const files = await readdir(dir).catch(() => [] as string[]);
      const stats = await Promise.all(
        [dir, ...files.map((f) => join(dir, f))].map((f) => stat(f).catch(() => null)),
      );
      if (stats.some((st) => st === null || now - st.mtimeMs < idleMs)) continue;
      await rm(dir, { recursive: true, force: true });
      freed.push(stats.reduce((sum, st) => sum + (st?.isFile() ? st.size : 0), 0));
    }
    return freed;
  }

  /** Runs `work` while the image with this SHA-256 counts as being stored (see `remove`). */
  async storingImage<T>(sha256: string, work: () => Promise<T>): Promise<T> {
    const release = hold(storingDirs, join(this.dir, sha256));
    try {
      return await work();
    } finally {
      release();
    }
  }
}
