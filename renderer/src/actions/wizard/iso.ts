/** A local ISO file: its path, what media.detect finds in it, and paths from a drop. */
import type { DetectionCandidate } from '../../../../common/contract';
import { getBridge, toApiError } from '../../bridge';
import { refreshName } from './name';
import { selectOs } from './os';
import { get, set } from './shared';

/** Another file: its own detected architecture applies again (an earlier pick was for the old one). */
export function setIsoPath(isoPath: string): void {
  if (isoPath.trim() !== get().isoPath.trim()) set({ isoPath, arch: null });
  else set({ isoPath });
}

let detectSeq = 0;

/** media.detect on the path in the field; in ISO mode the best match becomes the OS. */
export async function detectIso(): Promise<void> {
  const file = get().isoPath.trim();
  const seq = ++detectSeq;
  if (!file) {
    set({ detection: null });
    return;
  }
  if (!/^(\/|[A-Za-z]:[\\/])/.test(file)) {
    set({
      detection: {
        file,
        state: { status: 'error', message: 'Use the full path of the file (it starts with /).' },
      },
    });
    return;
  }
  const current = get().detection;
  if (current?.file === file && current.state.status !== 'error') return;
  set({ detection: { file, state: { status: 'loading' } } });
  try {
    const value = await getBridge().call('media.detect', { file });
    if (seq !== detectSeq) return;
    set({ detection: { file, state: { status: 'ready', value } } });
    if (get().source === 'iso') await applyCandidate(value.best);
    else refreshName();
  } catch (err) {
    if (seq !== detectSeq) return;
    set({ detection: { file, state: { status: 'error', message: toApiError(err).message } } });
  }
}

/** The user picked another of the detected OSes (or the best one was applied). */
export async function applyCandidate(c: DetectionCandidate): Promise<void> {
  set({ mediaKind: 'local' });
  await selectOs(c.os, c.version ?? undefined);
  set({ mediaKind: 'local' });
}

/** A path from a drop: file managers put file:// URIs in text/uri-list. */
export function pathFromDrop(data: DataTransfer): string | null {
  const uris = data.getData('text/uri-list') || data.getData('text/plain');
  for (const line of uris.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    if (t.startsWith('file://')) {
      try {
        const url = new URL(t);
        const path = decodeURIComponent(url.pathname);
        return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
      } catch {
        continue;
      }
    }
    if (/^(\/|[A-Za-z]:[\\/])/.test(t)) return t;
  }
  // Electron before 32 put the path on the File; browsers never do.
  const file = data.files.item(0);
  const path: unknown = file ? Reflect.get(file, 'path') : undefined;
  return typeof path === 'string' && path ? path : null;
}

/** A detection in flight is for a path being replaced (an upload takes over): its answer is dropped. */
export function forgetDetection(): void {
  detectSeq++;
}
