import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { pngSize } from '../../electron/engine/vms/png';
import {
  convertPpmFile,
  encodePng,
  parsePpm,
  shrink,
} from '../../electron/engine/snapshots/thumbnail';
import { parseQcow2Header, readQcow2Facts } from '../../electron/engine/storage/qcow2-header';

const dir = mkdtempSync(join(tmpdir(), 'viv-unit-thumb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ppm(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgb.set(pixel(x, y), (y * width + x) * 3);
  }
  return Buffer.concat([
    Buffer.from(`P6\n# made by a test\n${width} ${height}\n255\n`, 'latin1'),
    rgb,
  ]);
}

/** The chunks of a PNG, each CRC checked. */
function chunks(png: Buffer): Array<{ type: string; data: Buffer }> {
  const out: Array<{ type: string; data: Buffer }> = [];
  let pos = 8;
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    expect(png.readUInt32BE(pos + 8 + len)).toBe(crc32(png.subarray(pos + 4, pos + 8 + len)) >>> 0);
    out.push({ type, data });
    pos += 12 + len;
  }
  return out;
}

describe('snapshot thumbnails', () => {
  it('parses a binary PPM with a comment', () => {
    const p = parsePpm(ppm(3, 2, (x, y) => [x, y, 7]));
    expect(p).toMatchObject({ width: 3, height: 2 });
    expect([...(p?.rgb.subarray(0, 6) ?? [])]).toEqual([0, 0, 7, 1, 0, 7]);
    expect(parsePpm(Buffer.from('P3\n1 1\n255\n0 0 0\n'))).toBeNull();
    expect(parsePpm(Buffer.from('P6\n4 4\n255\nshort'))).toBeNull();
  });

  it('encodes a valid RGB PNG whose pixels survive', async () => {
    const src = parsePpm(ppm(5, 3, (x, y) => [x * 40, y * 80, 200]));
    if (!src) throw new Error('no ppm');
    const png = await encodePng(src.width, src.height, src.rgb);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(pngSize(png)).toEqual({ width: 5, height: 3 });
    const parts = chunks(png);
    expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const raw = inflateSync(parts[1]?.data ?? Buffer.alloc(0));
    expect(raw.length).toBe(3 * (1 + 5 * 3));
    expect(raw[0]).toBe(0); // filter type none
    expect([...raw.subarray(1, 16)]).toEqual([...src.rgb.subarray(0, 15)]);
  });

  it('shrinks by a whole factor, averaging boxes', () => {
    const rgb = Buffer.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100]);
    const half = shrink(2, 2, rgb, 2);
    expect(half).toMatchObject({ width: 1, height: 1 });
    expect([...half.rgb]).toEqual([100, 100, 100]);
    expect(shrink(2, 2, rgb, 1).rgb).toBe(rgb);
  });

  it('turns a screen dump into a half-size PNG and removes the PPM', async () => {
    const file = join(dir, 'shot.ppm');
    writeFileSync(
      file,
      ppm(720, 400, (x) => [x % 256, 0, 0]),
    );
    await convertPpmFile(file, join(dir, 'shot.png'));
    expect(pngSize(readFileSync(join(dir, 'shot.png')))).toEqual({ width: 360, height: 200 });
    expect(() => readFileSync(file)).toThrow();
  });
});

const haveQemuImg = spawnSync('qemu-img', ['--version']).status === 0;

describe('qcow2 header', () => {
  it('rejects what is not qcow2', () => {
    expect(parseQcow2Header(Buffer.alloc(100))).toBeNull();
  });

  it.skipIf(!haveQemuImg)(
    'reads backing file, snapshot count and emptiness like qemu-img',
    async () => {
      const base = join(dir, 'base.qcow2');
      const over = join(dir, 'over.qcow2');
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '64M']);
      execFileSync('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-F',
        'qcow2',
        '-b',
        'base.qcow2',
        over,
      ]);
      const fresh = await readQcow2Facts(over);
      expect(fresh).toMatchObject({
        version: 3,
        backingFile: 'base.qcow2',
        virtualSize: 64 * 2 ** 20,
        snapshotCount: 0,
        empty: true,
      });
      execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 1M 64k', over], {
        stdio: 'ignore',
      });
      execFileSync('qemu-img', ['snapshot', '-c', 'one', over]);
      expect(await readQcow2Facts(over)).toMatchObject({ snapshotCount: 1, empty: false });
      expect(await readQcow2Facts(base)).toMatchObject({ backingFile: null, empty: true });
      writeFileSync(join(dir, 'raw.img'), Buffer.alloc(4096));
      expect(await readQcow2Facts(join(dir, 'raw.img'))).toBeNull();
    },
  );
});
