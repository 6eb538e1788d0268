/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = '89504e470d0a1a0a';
  if (png.length < 24 || png.subarray(0, 8).toString('hex') !== signature) {
    return { width: 0, height: 0 };
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
