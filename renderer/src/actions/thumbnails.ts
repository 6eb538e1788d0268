import { getBridge } from '../bridge';
import { useLibraryStore } from '../stores/library';
import { useThumbnailStore } from '../stores/thumbnails';

/**
 * Live thumbnails without polling the whole list: only cards on screen, of VMs that run, each at
 * most every INTERVAL_MS, one screenshot at a time, and nothing while the page is hidden.
 */
const INTERVAL_MS = 5000;
const TICK_MS = 500;

/** Elements (with data-vm-id) that are on screen now. */
const visibleEls = new Set<HTMLElement>();
const lastTaken = new Map<string, number>();
let observer: IntersectionObserver | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let busy = false;

function ensureObserver(): IntersectionObserver {
  observer ??= new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const el = e.target as HTMLElement;
        if (e.isIntersecting) visibleEls.add(el);
        else visibleEls.delete(el);
      }
      schedule(0);
    },
    { rootMargin: '100px' },
  );
  return observer;
}

/** Call from a card's element (it must carry data-vm-id); returns the cleanup. */
export function watchThumbnail(el: HTMLElement): () => void {
  const obs = ensureObserver();
  obs.observe(el);
  return () => {
    obs.unobserve(el);
    visibleEls.delete(el);
  };
}

/** Drops a stopped VM's picture so a card never shows a stale screen as if it were live. */
export function forgetThumbnail(vmId: string): void {
  lastTaken.delete(vmId);
  if (useThumbnailStore.getState()[vmId]) {
    useThumbnailStore.setState((s) => {
      const next = { ...s };
      delete next[vmId];
      return next;
    }, true);
  }
}

function schedule(delay = TICK_MS): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    void tick();
  }, delay);
}

async function tick(): Promise<void> {
  if (busy) return;
  if (visibleEls.size === 0) return; // an observer callback starts us again
  if (document.visibilityState === 'hidden') {
    schedule(INTERVAL_MS);
    return;
  }
  const now = Date.now();
  const vms = useLibraryStore.getState().vms;
  // The one that waited longest goes first.
  let next: string | null = null;
  let oldest = Infinity;
  const ids = new Set([...visibleEls].map((el) => el.dataset['vmId'] ?? ''));
  for (const id of ids) {
    const vm = vms.find((v) => v.id === id);
    if (!vm || vm.runtime.state !== 'running') continue;
    const at = lastTaken.get(id) ?? 0;
    if (now - at >= INTERVAL_MS && at < oldest) {
      oldest = at;
      next = id;
    }
  }
  if (next) {
    busy = true;
    lastTaken.set(next, now);
    try {
      const shot = await getBridge().call('vm.screenshot', { vm: next });
      const still = useLibraryStore.getState().vms.find((v) => v.id === next);
      if (shot.pngBase64 && still?.runtime.state === 'running') {
        useThumbnailStore.setState({
          [next]: {
            src: `data:image/png;base64,${shot.pngBase64}`,
            width: shot.width,
            height: shot.height,
            at: Date.now(),
          },
        });
      }
    } catch {
      // Between states, or no display device: the card keeps its placeholder.
    } finally {
      busy = false;
    }
  }
  schedule();
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') schedule(0);
});
