import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { VivariumError } from '../errors';

const run = promisify(execFile);

/** Parses "20G", "512M", "1.5T", "2GiB" into bytes (binary units, as qemu-img uses). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new VivariumError('INVALID_REQUEST', `"${text}" is not a size; use e.g. 512M or 20G`);
  const units: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  const bytes = Math.round(Number(m[1]) * (units[(m[2] ?? '').toUpperCase()] ?? 1));
  return bytes;
}

async function qemuImg(imgPath: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(imgPath, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new VivariumError(
        'QEMU_MISSING',
        'qemu-img was not found: install it (Debian/Ubuntu: sudo apt install qemu-utils).',
      );
    }
    const detail = (e.stderr ?? e.message).trim().split('\n').pop() ?? '';
    if (/No space left on device/i.test(detail)) {
      throw new VivariumError('DISK_FULL', `The disk is full: ${detail}. Free some space and retry.`);
    }
    throw new VivariumError('QEMU_FAILED', `qemu-img ${args[0]} failed: ${detail}`);
  }
}

/** A thin qcow2: it takes a few hundred KiB until the guest writes to it. */
export async function createQcow2(imgPath: string, file: string, sizeBytes: number): Promise<void> {
  await qemuImg(imgPath, ['create', '-q', '-f', 'qcow2', file, String(sizeBytes)]);
}

/** A per-VM UEFI variable store, converted to qcow2 so live snapshots can include it. */
export async function createNvram(imgPath: string, templateVars: string, file: string): Promise<void> {
  await qemuImg(imgPath, ['convert', '-q', '-f', 'raw', '-O', 'qcow2', templateVars, file]);
}
