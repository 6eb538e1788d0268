/**
 * Appends a download to its file and hashes exactly what reached the file, on a worker thread.
 *
 * Why a thread: at loopback or LAN speed, SHA-256 plus the copy into the page cache cost about
 * four times what receiving the bytes does, and on the main thread that time is taken from the
 * engine's event loop, which also carries QMP, the VNC and console streams and the UI's RPC.
 * The worker owns the write and the hash together, so the hash always covers exactly the bytes the
 * file holds, even after a short write or a full disk. Socket chunks are handed over by transfer,
 * not copied.
 *
 * Written data is flushed to the disk every SYNC_EVERY bytes on libuv's pool while the download
 * goes on: the final fsync then has little left to do, a multi-gigabyte ISO never sits in the page
 * cache as dirty data, and a download resumed after a power cut finds most of its bytes on disk.
 *
 * The worker's code is a plain CommonJS string (run with `eval`) because the engine runs both
 * bundled (the app, the CLI) and from TypeScript sources (tests): a worker file path would differ
 * between the two.
 */
import { Worker } from 'node:worker_threads';
import type { FileHandle } from 'node:fs/promises';
import { VivariumError } from '../errors';
import { abortError } from './http';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const fd = workerData.fd;
const hashes = [createHash('sha256')];
if (workerData.sha512) hashes.push(createHash('sha512'));
let position = 0;
const hash = (b) => { for (const h of hashes) h.update(b); };
const fail = (e) => parentPort.postMessage({ ok: false, position, code: e.code, message: e.message });
parentPort.on('message', (m) => {
  try {
    if (m.op === 'prefix') {
      const buf = Buffer.allocUnsafe(4 << 20);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, position);
        if (n === 0) break;
        hash(buf.subarray(0, n));
        position += n;
      }
    } else if (m.op === 'write') {
      let bufs = m.buffers.map((ab) => new Uint8Array(ab));
      while (bufs.length) {
        let n = fs.writevSync(fd, bufs, position);
        position += n;
        const rest = [];
        for (const b of bufs) {
          if (n >= b.length) { hash(b); n -= b.length; }
          else if (n > 0) { hash(b.subarray(0, n)); rest.push(b.subarray(n)); n = 0; }
          else rest.push(b);
        }
        bufs = rest;
      }
    } else if (m.op === 'digest') {
      parentPort.postMessage({ ok: true, position, digests: hashes.map((h) => h.digest('hex')) });
      return;
    }
    parentPort.postMessage({ ok: true, position });
  } catch (e) {
    fail(e);
  }
});
`;

const SYNC_EVERY = 32 * 2 ** 20;

type Reply =
  | { ok: true; position: number; digests?: string[] }
  | { ok: false; position: number; code?: string; message: string };

export interface Digests {
  sha256: string;
  sha512: string | null;
}

/** Transferable without a copy when the Buffer is the whole of its own ArrayBuffer. */
function detachable(b: Buffer): ArrayBuffer {
  const ab = b.buffer;
  if (ab instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === ab.byteLength) return ab;
  return ab.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export class HashingWriter {
  /** Bytes the file holds (and the hashes cover). */
  position = 0;
  private readonly worker: Worker;
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private dead: Error | null = null;
  private syncedTo = 0;
  private syncing: Promise<void> | null = null;
  private syncError: Error | null = null;

  private constructor(
    private readonly fh: FileHandle,
    sha512: boolean,
  ) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd: fh.fd, sha512 } });
    this.worker.on('message', (reply: Reply) => {
      this.position = reply.position;
      this.waiting.shift()?.resolve(reply);
    });
    const die = (err: Error) => {
      this.dead ??= err;
      for (const w of this.waiting.splice(0)) w.reject(this.dead);
    };
    this.worker.on('error', die);
    this.worker.on('exit', () => die(new VivariumError('CANCELLED', 'The download was stopped.')));
  }

  /**
   * A writer appending to `fh`. With `existing`, the bytes already in the file are hashed first
   * (a resumed download); cancelling `signal` stops that at once.
   */
  static async open(
    fh: FileHandle,
    opts: { sha512: boolean; existing: boolean; signal: AbortSignal },
  ): Promise<HashingWriter> {
    const writer = new HashingWriter(fh, opts.sha512);
    if (opts.existing) {
      const onAbort = () => void writer.close();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      try {
        await writer.request({ op: 'prefix' });
      } catch (err) {
        await writer.close();
        throw opts.signal.aborted ? abortError(opts.signal) : err;
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
      }
    }
    return writer;
  }

  /** Writes and hashes `buffers` (which are detached: the caller must not use them again). */
  async write(buffers: Buffer[]): Promise<void> {
    const transfer = buffers.map(detachable);
    await this.request({ op: 'write', buffers: transfer }, transfer);
    if (this.syncError) throw this.syncError;
    if (!this.syncing && this.position - this.syncedTo >= SYNC_EVERY) {
      const upTo = this.position;
      this.syncing = this.fh.datasync().then(
        () => {
          this.syncedTo = upTo;
          this.syncing = null;
        },
        (err: unknown) => {
          this.syncError = err instanceof Error ? err : new Error(String(err));
          this.syncing = null;
        },
      );
    }
  }

  /** Flushes the file to the disk and returns its hashes. */
  async finish(): Promise<Digests> {
    await this.syncing;
    if (this.syncError) throw this.syncError;
    await this.fh.sync();
    const r = (await this.request({ op: 'digest' })) as { digests: string[] };
    return { sha256: r.digests[0]!, sha512: r.digests[1] ?? null };
  }

  async close(): Promise<void> {
    await this.syncing;
    await this.worker.terminate();
  }

  private request(message: object, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(message, transfer);
    }).then((reply) => {
      if (reply.ok) return reply;
      const err = new Error(reply.message) as NodeJS.ErrnoException;
      if (reply.code) err.code = reply.code;
      throw err;
    });
  }
}
