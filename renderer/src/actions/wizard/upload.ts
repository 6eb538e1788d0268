/** A file the user dropped or chose: used in place (Electron) or uploaded to the media cache. */
import { localFiles, pathForFile, toApiError, uploadFile, type UploadHandle } from '../../bridge';
import { applyCandidate, forgetDetection, setIsoPath } from './iso';
import { loadCachedMedia } from './media-cache';
import { refreshName } from './name';
import { get, set } from './shared';

/**
 * A file the user dropped or chose. Electron knows where it lives (the engine runs on the same
 * computer), so it is used in place; a browser may be on another computer, so it is uploaded to
 * the server's media cache. False: nothing to do with it (Electron without a path).
 */
export function takeIsoFile(file: File): boolean {
  if (localFiles() === 'path') {
    const path = pathForFile(file);
    if (!path) return false;
    setIsoPath(path);
    return true;
  }
  void uploadIso(file);
  return true;
}

let upload: UploadHandle | null = null;
let uploadSeq = 0;

/** Ends the running upload, if any (the wizard closed or started afresh). */
export function stopUpload(): void {
  uploadSeq++;
  upload?.abort();
  upload = null;
}

/** The user's Cancel: the server drops what it received. */
export function cancelUpload(): void {
  upload?.abort();
}

/**
 * Sends `file` to the server's media cache with progress; then the wizard goes on exactly as if
 * the user had typed the stored file's path, with the server's detection as the check.
 */
export async function uploadIso(file: File): Promise<void> {
  stopUpload();
  const seq = uploadSeq;
  forgetDetection();
  // The speed over a sliding window: the first burst (socket buffers) does not count.
  const samples: Array<{ t: number; bytes: number }> = [];
  const handle = uploadFile(file, ({ sent, total }) => {
    if (seq !== uploadSeq) return;
    const t = Date.now();
    samples.push({ t, bytes: sent });
    while (samples.length > 2 && t - samples[0]!.t > 4000) samples.shift();
    const first = samples[0]!;
    const bytesPerSecond =
      t - first.t >= 750 ? ((sent - first.bytes) * 1000) / (t - first.t) : null;
    set((s) =>
      s.upload
        ? {
            upload: {
              ...s.upload,
              bytesSent: sent,
              bytesTotal: total,
              bytesPerSecond,
              status: sent >= total ? 'storing' : 'sending',
            },
          }
        : {},
    );
  });
  upload = handle;
  set({
    isoPath: '',
    detection: null,
    upload: {
      name: file.name,
      bytesTotal: file.size,
      bytesSent: 0,
      bytesPerSecond: null,
      status: 'sending',
      reused: false,
      file: null,
      error: null,
    },
  });
  try {
    const r = await handle.done;
    if (seq !== uploadSeq) return;
    upload = null;
    forgetDetection();
    set((s) => ({
      upload: s.upload
        ? { ...s.upload, status: 'done', bytesSent: r.bytes, reused: r.reused, file: r.file }
        : null,
      isoPath: r.file,
      detection: { file: r.file, state: { status: 'ready', value: r.detection } },
    }));
    void loadCachedMedia();
    if (get().source === 'iso') await applyCandidate(r.detection.best);
    else refreshName();
  } catch (err) {
    if (seq !== uploadSeq) return;
    upload = null;
    const e = toApiError(err);
    set((s) => ({
      upload: s.upload
        ? {
            ...s.upload,
            status: e.code === 'CANCELLED' ? 'cancelled' : 'failed',
            error: e.message,
          }
        : null,
    }));
  }
}
