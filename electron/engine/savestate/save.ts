/**
 * Writes a running VM's memory and device state to its saved-state file. QEMU 7.2 has no `file:`
 * migration and its sandbox kills it on `exec:`, so QEMU migrates to a unix socket this process
 * listens on, and what arrives is written to `state.partial`, synced, and only renamed to the
 * state file once QEMU says the migration completed and every byte is on disk.
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { VivariumError } from '../errors';
import { isNodeError } from '../library/atomic-file';
import { claimFile } from '../library/claim-file';
import type { VmFiles } from '../paths';
import type { QmpClient } from '../qmp/client';
import { syncDir } from './state-file';

/** Far above any disk: QEMU's own cap (128 MiB/s) would make a save of a few GiB take minutes. */
export const SAVE_MAX_BANDWIDTH = 10 * 1024 ** 3;
/** QEMU's limit is 2000 s; a minute makes it stop the guest after its first pass over memory. */
export const SAVE_DOWNTIME_LIMIT_MS = 60_000;
const POLL_MS = 50;
/** query-migrate statuses with no migration under way. */
const IDLE_STATUSES: ReadonlySet<string> = new Set(['none', 'completed', 'failed', 'cancelled']);

export interface SaveProgress {
  bytesDone: number;
  bytesTotal: number;
}

interface MigrateParameters {
  'max-bandwidth'?: number;
  'downtime-limit'?: number;
}

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred?: number; remaining?: number; total?: number };
}

/**
 * Streams the VM's state into `files.savedState`; returns its size. The guest is not paused by
 * this process: QEMU stops it itself once the rest fits the (very long) downtime limit, which is
 * right after the first pass over memory. So a save that fails in any way, even this process
 * being killed, leaves QEMU with the guest as it was, running. On failure or cancel the partial
 * file is removed, QEMU's migration is cancelled and its parameters put back; putting the guest
 * back (after a failure past QEMU's stop) is the caller's (the supervisor's) part.
 */
export async function saveStateToFile(
  qmp: QmpClient,
  files: VmFiles,
  opts: { signal: AbortSignal; report: (p: SaveProgress) => void },
): Promise<number> {
  // Another process saving or migrating this VM owns the files and the socket: leave them be.
  const before = await qmp.execute<MigrateInfo>('query-migrate');
  if (before.status && !IDLE_STATUSES.has(before.status)) throw alreadySaving();
  await mkdir(files.savedStateDir, { recursive: true, mode: 0o700 });
  const claim = await claimFile(join(files.savedStateDir, CLAIM_FILE), alreadySaving);
  const release = () => claim.release();
  try {
    return await saveClaimed(qmp, files, opts);
  } finally {
    await release();
  }
}

async function saveClaimed(
  qmp: QmpClient,
  files: VmFiles,
  opts: { signal: AbortSignal; report: (p: SaveProgress) => void },
): Promise<number> {
  // Leftovers of a save that a killed process never finished: never read, now replaced.
  await Promise.all(
    [files.savedStatePartial, files.savedState, files.saveSock].map((p) => rm(p, { force: true })),
  );
  const receiver = await listen(files.saveSock, files.savedStatePartial);
  let migrating = false;
  const previous = await qmp.execute<MigrateParameters>('query-migrate-parameters');
  try {
    await qmp.execute('migrate-set-parameters', {
      'max-bandwidth': SAVE_MAX_BANDWIDTH,
      // The VM ends after a save: the pause at the end is no one's downtime.
      'downtime-limit': SAVE_DOWNTIME_LIMIT_MS,
    });
    opts.signal.throwIfAborted();
    await qmp.execute('migrate', { uri: `unix:${files.saveSock}` });
    migrating = true;
    await followMigration(qmp, opts, receiver.failed, receiver.done);
    migrating = false;
    // QEMU closes its end once it completed: the receiver has everything after that.
    await receiver.done;
    const handle = await open(files.savedStatePartial, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const { size } = await stat(files.savedStatePartial);
    // The last moment a cancel is heard: after the rename the VM is as good as saved.
    opts.signal.throwIfAborted();
    await rename(files.savedStatePartial, files.savedState);
    await syncDir(files.savedStateDir);
    return size;
  } catch (err) {
    if (migrating) {
      await qmp.execute('migrate_cancel').catch(() => undefined);
      await untilSettled(qmp);
    }
    // A later migration (to another computer) must not inherit a save's settings.
    await qmp
      .execute('migrate-set-parameters', {
        'max-bandwidth': previous['max-bandwidth'],
        'downtime-limit': previous['downtime-limit'],
      })
      .catch(() => undefined);
    receiver.abort();
    await receiver.done.catch(() => undefined);
    await Promise.all(
      [files.savedStatePartial, files.savedState].map((p) => rm(p, { force: true })),
    );
    throw saveFailure(err, receiver.writeError());
  } finally {
    receiver.close();
    await rm(files.saveSock, { force: true });
  }
}

interface Receiver {
  /** Settles when the one connection ended and the file has every byte of it. */
  done: Promise<void>;
  /** Rejects as soon as writing fails (a full disk): the migration is cancelled at once. */
  failed: Promise<never>;
  writeError(): Error | null;
  abort(): void;
  close(): void;
}

/** A unix socket only this user can reach; the first connection's bytes go to `file`. */
async function listen(sock: string, file: string): Promise<Receiver> {
  const server: Server = createServer();
  let conn: Socket | null = null;
  let writeError: Error | null = null;
  let failWith: (err: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    failWith = reject;
  });
  failed.catch(() => undefined);
  let giveUp: () => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    // Aborted before QEMU connected: nothing will come.
    giveUp = () => reject(new Error('The save was abandoned before QEMU connected'));
    server.once('connection', (socket) => {
      conn = socket;
      // One save, one writer: anything else that connects is turned away.
      server.on('connection', (other) => other.destroy());
      const out = createWriteStream(file, { mode: 0o600 });
      pipeline(socket, out).then(resolve, (err: unknown) => {
        if (out.errored) {
          writeError = out.errored;
          failWith(out.errored);
        }
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
    server.once('error', reject);
  });
  done.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(sock, 0o600);
  return {
    done,
    failed,
    writeError: () => writeError,
    abort: () => {
      const c: Socket | null = conn;
      if (c) {
        c.destroy();
      } else {
        server.close();
        giveUp();
      }
    },
    close: () => server.close(),
  };
}

/** Polls query-migrate until it ends; reports RAM copied of RAM in all. */
async function followMigration(
  qmp: QmpClient,
  opts: { signal: AbortSignal; report: (p: SaveProgress) => void },
  failed: Promise<never>,
  received: Promise<void>,
): Promise<void> {
  const finished = received.catch(() => undefined);
  for (;;) {
    if (opts.signal.aborted) {
      await qmp.execute('migrate_cancel').catch(() => undefined);
      throw opts.signal.reason instanceof Error
        ? opts.signal.reason
        : new VivariumError('CANCELLED', 'Cancelled');
    }
    const info = await Promise.race([qmp.execute<MigrateInfo>('query-migrate'), failed]);
    const ram = info.ram;
    if (ram?.total) {
      opts.report({
        bytesTotal: ram.total,
        bytesDone: Math.max(0, ram.total - (ram.remaining ?? ram.total)),
      });
    }
    switch (info.status) {
      case 'completed':
        if (ram?.total) opts.report({ bytesTotal: ram.total, bytesDone: ram.total });
        return;
      case 'failed':
        throw new VivariumError(
          'QEMU_FAILED',
          `QEMU could not save the VM's state: ${info['error-desc'] ?? 'the migration failed'}.`,
        );
      case 'cancelled':
        throw new VivariumError('CANCELLED', 'Cancelled');
      default:
        break;
    }
    // QEMU closes the socket as it completes: ask again at once instead of at the next tick.
    await Promise.race([sleep(POLL_MS), finished, failed]);
  }
}

/** Waits (a few seconds at most) for a cancelled migration to be over in QEMU. */
async function untilSettled(qmp: QmpClient): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const info = await qmp.execute<MigrateInfo>('query-migrate').catch(() => null);
    if (!info?.status || IDLE_STATUSES.has(info.status)) return;
    await sleep(5);
  }
}

/** Held by the process writing the saved state: `pid token`, made with O_EXCL. */
export const CLAIM_FILE = 'saving.claim';

function alreadySaving(): VivariumError {
  return new VivariumError(
    'BUSY',
    'The VM is already being saved or migrated (by another Vivarium window or command): wait for it to finish.',
  );
}

function saveFailure(err: unknown, writeError: Error | null): unknown {
  const cause = writeError ?? err;
  if (isNodeError(cause) && (cause.code === 'ENOSPC' || cause.code === 'EDQUOT')) {
    return new VivariumError(
      'DISK_FULL',
      "The disk holding the VM's folder is full, so its state could not be saved: the VM keeps " +
        'running. Free some space (the state needs about as much as the memory the guest uses) ' +
        'and try again.',
    );
  }
  if (writeError) {
    return new VivariumError(
      'INTERNAL',
      `Could not write the VM's saved state: ${writeError.message}. The VM keeps running.`,
    );
  }
  return err;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
