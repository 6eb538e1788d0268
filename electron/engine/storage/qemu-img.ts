import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { VivariumError } from '../errors';

const run = promisify(execFile);

/** Parses "20G", "512M", "1.5T", "2GiB" into bytes (binary units, as qemu-img uses). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m)
    throw new VivariumError('INVALID_REQUEST', `"${text}" is not a size; use e.g. 512M or 20G`);
  const units: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  const bytes = Math.round(Number(m[1]) * (units[(m[2] ?? '').toUpperCase()] ?? 1));
  return bytes;
}

function failure(args: readonly string[], stderr: string, message: string): VivariumError {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const detail = (lines.pop() ?? message).replace(/^qemu-img: /, '');
  if (/No space left on device/i.test(detail)) {
    return new VivariumError(
      'DISK_FULL',
      `The disk is full: ${detail}. Free some space and retry.`,
    );
  }
  if (/Failed to get .* lock|Is another process using the image/i.test(detail)) {
    return new VivariumError(
      'BAD_STATE',
      `${detail.replace(/\s*Is another process using the image.*$/i, '')}: the image is in use ` +
        '(is the VM running, maybe started from another window or the command line?). Shut it down and retry.',
    );
  }
  return new VivariumError('QEMU_FAILED', `qemu-img ${args[0] ?? ''} failed: ${detail}`);
}

function missing(): VivariumError {
  return new VivariumError(
    'QEMU_MISSING',
    'qemu-img was not found: install it (Debian/Ubuntu: sudo apt install qemu-utils).',
  );
}

async function qemuImg(imgPath: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(imgPath, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw missing();
    throw failure(args, e.stderr ?? '', e.message);
  }
}

/** A thin qcow2: it takes a few hundred KiB until the guest writes to it. */
export async function createQcow2(imgPath: string, file: string, sizeBytes: number): Promise<void> {
  await qemuImg(imgPath, ['create', '-q', '-f', 'qcow2', file, String(sizeBytes)]);
}

/** A sparse raw image of `sizeBytes` (a migration's destination disk, filled over NBD). */
export async function createRaw(imgPath: string, file: string, sizeBytes: number): Promise<void> {
  await qemuImg(imgPath, ['create', '-q', '-f', 'raw', file, String(sizeBytes)]);
}

/** A per-VM UEFI variable store, converted to qcow2 so live snapshots can include it. */
export async function createNvram(
  imgPath: string,
  templateVars: string,
  file: string,
): Promise<void> {
  await qemuImg(imgPath, ['convert', '-q', '-f', 'raw', '-O', 'qcow2', templateVars, file]);
}

/**
 * Overwrites what an existing qcow2 UEFI variable store holds now with a vars template of the
 * same size (`-n`: the image is not re-created), so the internal snapshots inside it stay.
 */
export async function overwriteNvram(
  imgPath: string,
  templateVars: string,
  file: string,
): Promise<void> {
  await qemuImg(imgPath, ['convert', '-q', '-n', '-f', 'raw', '-O', 'qcow2', templateVars, file]);
}

/**
 * A qcow2 overlay on `backing` (a qcow2). `backing` may be relative: qemu-img and QEMU read it
 * relative to the overlay's folder. Its size is the backing image's.
 */
export async function createOverlay(imgPath: string, file: string, backing: string): Promise<void> {
  await qemuImg(imgPath, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', backing, file]);
}

/**
 * A thin qcow2 on `backing` (any format), at least `sizeBytes` big: a cloud image's first disk,
 * grown to the size the user asked without copying the image.
 */
export async function createSizedOverlay(
  imgPath: string,
  file: string,
  backing: string,
  backingFormat: 'qcow2' | 'raw',
  sizeBytes: number,
): Promise<void> {
  await qemuImg(imgPath, [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-F',
    backingFormat,
    '-b',
    backing,
    file,
    String(sizeBytes),
  ]);
}

// ---------------------------------------------------------------------------------------------
// info

export interface ImageSnapshot {
  /** QEMU's numeric id (a string), not ours. */
  id: string;
  /** The tag. */
  name: string;
  vmStateSize: number;
  dateSec: number;
  vmClockSec: number;
}

export interface ImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize: number | null;
  backingFilename: string | null;
  fullBackingFilename: string | null;
  backingFormat: string | null;
  snapshots: ImageSnapshot[];
  /** Other files holding its data: VMDK extents, a qcow2 external data file. */
  extents: string[];
  dirty: boolean;
  corrupt: boolean;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

/** One image of `qemu-img info --output=json` (pure; exported for tests). */
export function parseImageInfo(value: unknown): ImageInfo {
  const r = record(value);
  const snapshots = Array.isArray(r['snapshots']) ? r['snapshots'] : [];
  const specific = record(record(r['format-specific'])['data']);
  const extents = Array.isArray(specific['extents']) ? specific['extents'] : [];
  return {
    filename: str(r['filename']) ?? '',
    format: str(r['format']) ?? '',
    virtualSize: num(r['virtual-size']),
    actualSize: typeof r['actual-size'] === 'number' ? r['actual-size'] : null,
    backingFilename: str(r['backing-filename']),
    fullBackingFilename: str(r['full-backing-filename']),
    backingFormat: str(r['backing-filename-format']),
    snapshots: snapshots.map((s) => {
      const x = record(s);
      return {
        id: typeof x['id'] === 'string' || typeof x['id'] === 'number' ? String(x['id']) : '',
        name: str(x['name']) ?? '',
        vmStateSize: num(x['vm-state-size']),
        dateSec: num(x['date-sec']),
        vmClockSec: num(x['vm-clock-sec']),
      };
    }),
    // Files the image reads its data from: VMDK extents, a qcow2 external data file.
    extents: [
      ...extents.map((e) => str(record(e)['filename']) ?? ''),
      str(specific['data-file']) ?? '',
    ].filter(Boolean),
    dirty: r['dirty-flag'] === true,
    corrupt: specific['corrupt'] === true,
  };
}

export interface InfoOptions {
  /** -U: read an image a running QEMU holds (no lock; the result may be a moment stale). */
  shared?: boolean;
  /** The format to read it as; without it qemu-img probes (only for files we are about to inspect). */
  format?: string;
}

export async function imageInfo(
  imgPath: string,
  file: string,
  opts: InfoOptions = {},
): Promise<ImageInfo> {
  const args = ['info', '--output=json'];
  if (opts.shared) args.push('-U');
  if (opts.format) args.push('-f', opts.format);
  const out = await qemuImg(imgPath, [...args, file]);
  return parseImageInfo(JSON.parse(out));
}

/** The image and every image under it (`--backing-chain`), top first. */
export async function imageChain(
  imgPath: string,
  file: string,
  opts: InfoOptions = {},
): Promise<ImageInfo[]> {
  const args = ['info', '--output=json', '--backing-chain'];
  if (opts.shared) args.push('-U');
  if (opts.format) args.push('-f', opts.format);
  const out = await qemuImg(imgPath, [...args, file]);
  const parsed: unknown = JSON.parse(out);
  return (Array.isArray(parsed) ? parsed : [parsed]).map(parseImageInfo);
}

// ---------------------------------------------------------------------------------------------
// resize, snapshots of a stopped image

/** `size` is absolute bytes; growing only unless `shrink` (the guest must have shrunk its filesystems). */
export async function resizeImage(
  imgPath: string,
  file: string,
  format: string,
  sizeBytes: number,
  shrink: boolean,
): Promise<void> {
  const args = ['resize', '-q', '-f', format];
  if (shrink) args.push('--shrink');
  await qemuImg(imgPath, [...args, file, String(sizeBytes)]);
}

export type ImageSnapshotOp = 'create' | 'apply' | 'delete';

/** `qemu-img snapshot -c|-a|-d TAG` on a stopped VM's qcow2 image. */
export async function imageSnapshot(
  imgPath: string,
  file: string,
  op: ImageSnapshotOp,
  tag: string,
): Promise<void> {
  const flag = { create: '-c', apply: '-a', delete: '-d' }[op];
  // `snapshot` has no -f: --image-opts names the format, so the file is never probed.
  const opts = `driver=qcow2,file.driver=file,file.filename=${file.replaceAll(',', ',,')}`;
  await qemuImg(imgPath, ['snapshot', '-q', '--image-opts', flag, tag, opts]);
}

// ---------------------------------------------------------------------------------------------
// check

export type CheckStatus = 'clean' | 'leaks' | 'corrupt' | 'unsupported' | 'failed';

export interface CheckResult {
  status: CheckStatus;
  corruptions: number;
  leaks: number;
  checkErrors: number;
  /** Fixed by `-r` (when repair was asked). */
  corruptionsFixed: number;
  leaksFixed: number;
  message: string;
}

/**
 * Reads `qemu-img check --output=json` (pure; exported for tests). The exit status decides:
 * 0 consistent, 2 corruptions, 3 leaked clusters only (harmless, space lost), 63 the format has
 * no checks (raw), 1 the check itself failed. The JSON is on stdout even on failure.
 */
export function parseCheck(code: number | null, stdout: string, stderr: string): CheckResult {
  let r: Record<string, unknown> = {};
  try {
    r = record(JSON.parse(stdout));
  } catch {
    // 63 and 1 may print no JSON.
  }
  const corruptions = num(r['corruptions']);
  const leaks = num(r['leaks']);
  const checkErrors = num(r['check-errors']);
  const base = {
    corruptions,
    leaks,
    checkErrors,
    corruptionsFixed: num(r['corruptions-fixed']),
    leaksFixed: num(r['leaks-fixed']),
  };
  const detail =
    stderr
      .trim()
      .split('\n')
      .filter(Boolean)
      .pop()
      ?.replace(/^qemu-img: /, '') ?? '';
  switch (code) {
    case 0:
      return {
        ...base,
        status: 'clean',
        message:
          base.corruptionsFixed || base.leaksFixed
            ? `Repaired: ${base.corruptionsFixed} corruptions and ${base.leaksFixed} leaked clusters fixed.`
            : 'No errors.',
      };
    case 2:
      return {
        ...base,
        status: 'corrupt',
        message:
          `${corruptions} corruption${corruptions === 1 ? '' : 's'} found. Copy important data ` +
          'out of the VM, then repair (it may lose the damaged data).',
      };
    case 3:
      return {
        ...base,
        status: 'leaks',
        message: `${leaks} leaked cluster${leaks === 1 ? '' : 's'}: harmless (some space is wasted); repair them to reclaim it.`,
      };
    case 63:
      return {
        ...base,
        status: 'unsupported',
        message: detail || 'This image format has no consistency checks.',
      };
    default:
      return {
        ...base,
        status: 'failed',
        message: `The check could not run: ${detail || `qemu-img exited with ${code ?? 'a signal'}`}`,
      };
  }
}

export async function checkImage(
  imgPath: string,
  file: string,
  format: string,
  opts: { shared?: boolean; repair?: 'leaks' | 'all' } = {},
): Promise<CheckResult> {
  const args = ['check', '--output=json', '-f', format];
  if (opts.shared) args.push('-U');
  if (opts.repair) args.push('-r', opts.repair);
  args.push(file);
  const result = await spawnCollect(imgPath, args);
  return parseCheck(result.code, result.stdout, result.stderr);
}

function spawnCollect(
  file: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? missing() : err);
    });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// ---------------------------------------------------------------------------------------------
// convert (import, full clone): a child process with progress and cancel

/**
 * `qemu-img convert -p` writes "    (12.34/100%)" records separated by "\r", also without a
 * terminal. Returns the last complete percentage in `text` as 0..1 (pure; exported for tests).
 */
export function lastConvertProgress(text: string): number | null {
  const all = [...text.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
  const last = all[all.length - 1];
  if (!last?.[1]) return null;
  return Math.min(1, Math.max(0, Number(last[1]) / 100));
}

export interface ConvertOptions {
  source: string;
  sourceFormat: string;
  target: string;
  targetFormat: 'qcow2' | 'raw' | 'vmdk';
  /**
   * The target's backing file (qcow2 only), as it will be recorded (relative to the target's
   * folder, or absolute): only what the source has above its own backing file is copied.
   */
  backing?: { file: string; format: string };
  /** qemu-img's -o for the target (an appliance's stream-optimized VMDK: subformat=streamOptimized). */
  targetOptions?: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/**
 * Copies an image into a new file (flattening any backing chain). On failure or cancel the
 * partial target is removed and qemu-img is killed: nothing half-written stays behind.
 */
export async function convertImage(imgPath: string, opts: ConvertOptions): Promise<void> {
  const args = [
    'convert',
    '-p',
    '-f',
    opts.sourceFormat,
    '-O',
    opts.targetFormat,
    ...(opts.backing ? ['-B', opts.backing.file, '-F', opts.backing.format] : []),
    ...(opts.targetOptions ? ['-o', opts.targetOptions] : []),
    opts.source,
    opts.target,
  ];
  try {
    await new Promise<void>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new VivariumError('CANCELLED', 'Cancelled'));
        return;
      }
      const child = spawn(imgPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let pending = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        pending = (pending + chunk).slice(-256);
        const fraction = lastConvertProgress(pending);
        if (fraction !== null) opts.onProgress?.(fraction);
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr = (stderr + d).slice(-8192);
      });
      const onAbort = (): void => {
        child.kill('SIGKILL');
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (err: NodeJS.ErrnoException) => {
        opts.signal?.removeEventListener('abort', onAbort);
        reject(err.code === 'ENOENT' ? missing() : err);
      });
      child.once('close', (code, signal) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (opts.signal?.aborted) reject(new VivariumError('CANCELLED', 'Cancelled'));
        else if (code === 0) resolve();
        else reject(failure(args, stderr, `qemu-img convert ended with ${code ?? signal ?? '?'}`));
      });
    });
  } catch (err) {
    await rm(opts.target, { force: true });
    throw err;
  }
}
