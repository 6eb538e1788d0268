/**
 * Snapshot thumbnails. QEMU's `screendump` in PNG spends ~8 ms compressing in its main loop,
 * which every live snapshot would wait for; a PPM dump is a plain copy. So the screen is dumped as
 * PPM at the moment of the snapshot and turned into a PNG here, in Node's thread pool, after the
 * snapshot is done. A PPM left by a crash is converted on first use.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { crc32, deflate } from 'node:zlib';
import { promisify } from 'node:util';

const deflateAsync = promisify(deflate);

/** Width, height and RGB bytes of a binary PPM (P6, maxval 255); null when it is not one. Pure. */
export function parsePpm(buf: Buffer): { width: number; height: number; rgb: Buffer } | null {
  let pos = 0;
  const token = (): string | null => {
    for (;;) {
      while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos] ?? 0))) pos++;
      if (buf[pos] !== 0x23) break; // '#': a comment to the end of the line
      while (pos < buf.length && buf[pos] !== 0x0a) pos++;
    }
    const start = pos;
    while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos] ?? 0))) pos++;
    return pos > start ? buf.toString('latin1', start, pos) : null;
  };
  if (token() !== 'P6') return null;
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  pos++; // the single whitespace before the pixels
  if (!(width > 0 && height > 0 && maxval === 255)) return null;
  const rgb = buf.subarray(pos, pos + width * height * 3);
  return rgb.length === width * height * 3 ? { width, height, rgb } : null;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** An RGB PNG (8 bits per channel, no filters) of the pixels. */
export async function encodePng(width: number, height: number, rgb: Buffer): Promise<Buffer> {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++)
    rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const idat = await deflateAsync(raw, { level: 6 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Thumbnails are at most this wide: the screen shrunk by a whole factor (averaging boxes). */
export const THUMBNAIL_MAX_WIDTH = 640;

/** Shrinks RGB pixels by `k` in both directions, each pixel the mean of a k x k box. Pure. */
export function shrink(
  width: number,
  height: number,
  rgb: Buffer,
  k: number,
): { width: number; height: number; rgb: Buffer } {
  if (k <= 1) return { width, height, rgb };
  const w = Math.floor(width / k);
  const h = Math.floor(height / k);
  const out = Buffer.alloc(w * h * 3);
  const area = k * k;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let dy = 0; dy < k; dy++) {
        let i = ((y * k + dy) * width + x * k) * 3;
        for (let dx = 0; dx < k; dx++, i += 3) {
          r += rgb[i] ?? 0;
          g += rgb[i + 1] ?? 0;
          b += rgb[i + 2] ?? 0;
        }
      }
      const o = (y * w + x) * 3;
      out[o] = Math.round(r / area);
      out[o + 1] = Math.round(g / area);
      out[o + 2] = Math.round(b / area);
    }
  }
  return { width: w, height: h, rgb: out };
}

/** Turns `<base>.ppm` into `<base>.png` (written whole, then renamed) and removes the PPM. */
export async function convertPpmFile(ppmFile: string, pngFile: string): Promise<void> {
  const full = parsePpm(await readFile(ppmFile));
  if (!full) {
    await rm(ppmFile, { force: true });
    throw new Error(`${ppmFile} is not a PPM screen dump`);
  }
  const ppm = shrink(
    full.width,
    full.height,
    full.rgb,
    Math.ceil(full.width / THUMBNAIL_MAX_WIDTH),
  );
  const png = await encodePng(ppm.width, ppm.height, ppm.rgb);
  const tmp = `${pngFile}.tmp`;
  await writeFile(tmp, png);
  await rename(tmp, pngFile);
  await rm(ppmFile, { force: true });
}
