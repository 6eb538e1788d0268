import type { CachedMedia, PartialDownload, TaskInfo } from '../../../common/contract';
import { getBridge, toApiError } from '../bridge';
import { formatBytes } from '../../../common/format';
import { useHostStore } from '../stores/host';
import { useLibraryStore } from '../stores/library';
import { useMediaStore, type MediaOs } from '../stores/media';
import { useTasksStore } from '../stores/tasks';
import { notify, notifyError } from './notifications';
import { applyTaskEvent } from './tasks';

const set = useMediaStore.setState;
const get = useMediaStore.getState;

let loadSeq = 0;
/** OS ids whose catalogue entry was asked for (answered or not). */
const osAsked = new Set<string>();

/** The cache and the unfinished downloads (the newest request wins); lists stay while it runs. */
export async function loadMedia(): Promise<void> {
  const seq = ++loadSeq;
  set((s) => ({
    cached: s.cached.status === 'ready' ? s.cached : { status: 'loading' },
    partials: s.partials.status === 'ready' ? s.partials : { status: 'loading' },
  }));
  const api = getBridge();
  const [cached, partials] = await Promise.allSettled([
    api.call('media.list', {}),
    api.call('media.partials', {}),
  ]);
  if (seq !== loadSeq) return;
  set((s) => ({
    cached:
      cached.status === 'fulfilled'
        ? { status: 'ready', value: cached.value }
        : s.cached.status === 'ready'
          ? s.cached
          : { status: 'error', message: toApiError(cached.reason).message },
    partials:
      partials.status === 'fulfilled'
        ? { status: 'ready', value: partials.value }
        : s.partials.status === 'ready'
          ? s.partials
          : { status: 'error', message: toApiError(partials.reason).message },
  }));
  if (cached.status === 'fulfilled') void loadMediaOs(cached.value);
}

/** Catalogue names and logos for the OSes the cached images belong to, each asked for once. */
function loadMediaOs(media: readonly CachedMedia[]): Promise<void> {
  return loadOsFacts(media.map((m) => m.os).filter((os): os is string => !!os));
}

/**
 * The catalogue's name and logo of OS ids (an entry id, or a VM's "debian-12"), each asked for
 * once: the one picture of an OS in every view.
 */
export async function loadOsFacts(osIds: readonly string[]): Promise<void> {
  const ids = [...new Set(osIds)].filter((id) => !osAsked.has(id));
  await Promise.all(
    ids.map(async (id) => {
      osAsked.add(id);
      let found: MediaOs | null = null;
      try {
        const e = await getBridge().call('catalog.get', { id });
        found = {
          name: e.name,
          logo: e.logo,
          family: e.family,
          versions: Object.fromEntries(
            e.versions.map((v) => [
              v.id,
              { name: v.name, media: Object.fromEntries(v.media.map((m) => [m.id, m.label])) },
            ]),
          ),
        };
      } catch (err) {
        // Unknown to this catalogue (an entry that was removed): the id stands in for the name.
        if (toApiError(err).code !== 'NOT_FOUND') osAsked.delete(id);
      }
      set((s) => ({ os: { ...s.os, [id]: found } }));
    }),
  );
}

/**
 * Deletes a cached image; `eject` first empties the CD-ROM of the VMs that hold it. Returns the
 * engine's refusal (a VM is running, the image is in use) for the dialog to show, or null.
 */
export async function deleteMedia(sha256: string, eject: boolean): Promise<string | null> {
  const media = findMedia(sha256);
  try {
    const r = await getBridge().call('media.delete', { sha256, eject });
    const ejected = r.ejectedFrom.map(vmName);
    notify(
      {
        kind: 'info',
        title: `Deleted ${media?.filename ?? 'the image'}`,
        message: [
          media ? `${formatBytes(media.bytes)} freed.` : '',
          ejected.length ? `Ejected from ${ejected.map((n) => `“${n}”`).join(', ')}.` : '',
        ]
          .filter(Boolean)
          .join(' '),
      },
      5000,
    );
    void loadMedia();
    return null;
  } catch (err) {
    // Whatever the refusal, the list may be out of date (a VM took or dropped the image).
    void loadMedia();
    return toApiError(err).message;
  }
}

/** Removes an unfinished download's bytes. */
export async function discardPartial(key: string): Promise<void> {
  set((s) => ({ discarding: [...s.discarding, key] }));
  try {
    await getBridge().call('media.discardPartial', { key });
  } catch (err) {
    notifyError('Couldn’t discard the download', err);
  } finally {
    set((s) => ({ discarding: s.discarding.filter((k) => k !== key) }));
    void loadMedia();
  }
}

/** Continues an unfinished download where it stopped: a task in the tasks panel. */
export async function resumePartial(partial: PartialDownload): Promise<void> {
  try {
    const task = await getBridge().call('media.download', {
      url: partial.url,
      ...(partial.sha256 ? { sha256: partial.sha256 } : {}),
    });
    if (!useTasksStore.getState().tasks[task.id]) applyTaskEvent(task);
    set((s) => ({ resuming: { ...s.resuming, [partial.key]: task.id } }));
    await taskEnd(task.id);
    set((s) => {
      const resuming = { ...s.resuming };
      delete resuming[partial.key];
      return { resuming };
    });
    void loadMedia();
  } catch (err) {
    notifyError(`Couldn’t resume ${partial.filename}`, err);
  }
}

/**
 * While the Host view is open: refreshes the lists when a download ends (the wizard's, or one
 * started elsewhere), when a VM's CD-ROM changes (the "in the CD-ROM of" chips) and when the
 * connection comes back (events were missed). Returns the unsubscribe.
 */
export function watchMedia(): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void loadMedia(), 150);
  };
  const offTasks = useTasksStore.subscribe((s, prev) => {
    for (const t of Object.values(s.tasks)) {
      const before = prev.tasks[t.id];
      if (isDownload(t) && t.state !== 'running' && before?.state !== t.state) soon();
    }
  });
  const offLibrary = useLibraryStore.subscribe((s, prev) => {
    if (cdromKey(s.vms) !== cdromKey(prev.vms)) soon();
  });
  const offConnection = useHostStore.subscribe((s, prev) => {
    if (s.connection === 'open' && prev.connection === 'reconnecting') soon();
  });
  return () => {
    clearTimeout(timer);
    offTasks();
    offLibrary();
    offConnection();
  };
}

function isDownload(t: TaskInfo): boolean {
  return t.kind === 'media.download' || t.kind === 'download';
}

function cdromKey(vms: ReturnType<typeof useLibraryStore.getState>['vms']): string {
  return vms.map((v) => `${v.id}\u0000${v.name}\u0000${v.config.cdrom ?? ''}`).join('\u0001');
}

function findMedia(sha256: string): CachedMedia | undefined {
  const c = get().cached;
  return c.status === 'ready' ? c.value.find((m) => m.sha256 === sha256) : undefined;
}

/** A VM's current name from its id (or name), as the engine reports VMs. */
function vmName(ref: string): string {
  const vms = useLibraryStore.getState().vms;
  return vms.find((v) => v.id === ref)?.name ?? vms.find((v) => v.name === ref)?.name ?? ref;
}

/** Resolves when the task has ended (task events keep the tasks store current). */
function taskEnd(id: string): Promise<TaskInfo> {
  return new Promise((resolve) => {
    const done = (): boolean => {
      const t = useTasksStore.getState().tasks[id];
      if (t && t.state !== 'running') {
        resolve(t);
        return true;
      }
      return false;
    };
    if (done()) return;
    const off = useTasksStore.subscribe(() => {
      if (done()) off();
    });
  });
}
