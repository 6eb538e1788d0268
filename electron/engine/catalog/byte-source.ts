/**
 * Random access to an image's bytes, so the ISO 9660 and FAT readers read only the sectors they
 * need from a multi-GiB file, and run on an in-memory buffer in tests alike.
 */
import type { FileHandle } from 'node:fs/promises';

export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `offset`; shorter at the end of the source. */
  read(offset: number, length: number): Promise<Buffer>;
}

export function bufferSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    read: (offset, length) =>
      Promise.resolve(
        buf.subarray(Math.min(offset, buf.length), Math.min(offset + length, buf.length)),
      ),
  };
}

export function fileSource(fh: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.alloc(n);
      if (n === 0) return buf;
      const { bytesRead } = await fh.read(buf, 0, n, offset);
      return buf.subarray(0, bytesRead);
    },
  };
}

/** The part of `src` from `base` on, `size` bytes long (a boot image inside an ISO). */
export function sliceSource(src: ByteSource, base: number, size: number): ByteSource {
  const end = Math.min(src.size, base + size);
  return {
    size: Math.max(0, end - base),
    read: (offset, length) =>
      src.read(base + offset, Math.max(0, Math.min(length, end - base - offset))),
  };
}
