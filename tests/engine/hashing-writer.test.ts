/**
 * The download sink: a worker thread writes and hashes, so the hash must always cover exactly the
 * file's bytes — after appends, after resuming a part, and when the disk refuses a write.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashingWriter } from '../../electron/engine/catalog/hashing-writer';
import { tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
beforeAll(async () => {
  home = await tempHome('viv-hw-');
});
afterAll(() => home.remove());

const sha = (b: Buffer, algorithm = 'sha256') => createHash(algorithm).update(b).digest('hex');
const never = new AbortController().signal;

describe('HashingWriter', () => {
  it('writes and hashes whole and shared buffers, in order', async () => {
    const file = join(home.dir, 'a.bin');
    const fh = await open(file, 'w');
    const writer = await HashingWriter.open(fh, { sha512: true, existing: false, signal: never });
    const whole = randomFillSync(Buffer.alloc(3 * 2 ** 20 + 17));
    const expected = Buffer.from(whole);
    const big = randomFillSync(Buffer.alloc(1000));
    // Slices of one ArrayBuffer are copied, not transferred: the caller's `big` stays intact.
    const parts = [big.subarray(0, 10), big.subarray(10, 1000)];
    await writer.write([whole]);
    await writer.write(parts);
    expect(big.length).toBe(1000);
    const digests = await writer.finish();
    await writer.close();
    await fh.close();
    const all = Buffer.concat([expected, big]);
    expect(writer.position).toBe(all.length);
    expect((await readFile(file)).equals(all)).toBe(true);
    expect(digests).toEqual({ sha256: sha(all), sha512: sha(all, 'sha512') });
  });

  it('hashes what a resumed part already holds, then appends', async () => {
    const file = join(home.dir, 'b.bin');
    const head = randomFillSync(Buffer.alloc(5 * 2 ** 20 + 3));
    await writeFile(file, head);
    const tail = randomFillSync(Buffer.alloc(70_000));
    const fh = await open(file, 'r+');
    const writer = await HashingWriter.open(fh, { sha512: false, existing: true, signal: never });
    expect(writer.position).toBe(head.length);
    await writer.write([Buffer.from(tail)]);
    const digests = await writer.finish();
    await writer.close();
    await fh.close();
    expect(digests).toEqual({ sha256: sha(Buffer.concat([head, tail])), sha512: null });
  });

  it('reports a full disk with its error code, and hashes only what was written', async () => {
    const fh = await open('/dev/full', 'w');
    const writer = await HashingWriter.open(fh, { sha512: false, existing: false, signal: never });
    await expect(writer.write([Buffer.alloc(4096, 1)])).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(writer.position).toBe(0);
    await writer.close();
    await fh.close();
  });

  it('stops hashing a resumed part when cancelled', async () => {
    const file = join(home.dir, 'c.bin');
    await writeFile(file, Buffer.alloc(64 * 2 ** 20, 7));
    const fh = await open(file, 'r+');
    const ac = new AbortController();
    const opening = HashingWriter.open(fh, { sha512: true, existing: true, signal: ac.signal });
    ac.abort();
    await expect(opening).rejects.toThrow(/aborted/);
    await fh.close();
  });
});
