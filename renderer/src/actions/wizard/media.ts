/** The media step: a local file or a download (a task whose events fill the tasks store). */
import type { VmArch } from '../../../../common/contract';
import { getBridge, toApiError } from '../../bridge';
import { derive } from '../../features/wizard/model';
import { useHostStore } from '../../stores/host';
import { useTasksStore } from '../../stores/tasks';
import type { MediaKind, WizardSetup } from '../../stores/wizard';
import { applyTaskEvent, cancelTask } from '../tasks';
import { loadGuestDefaults } from './account';
import { detectIso } from './iso';
import { loadCachedMedia } from './media-cache';
import { get, notifyNext, set, takenNames, waitForTask } from './shared';

/** Ready to use (a cloud image) or installed from an ISO: each has its own media to fetch. */
export function setSetup(setup: WizardSetup): void {
  if (get().setup === setup) return;
  set({ setup, mediaId: null, downloadTaskId: null, downloadError: null });
  if (setup === 'cloud') void loadGuestDefaults();
}

export function setMediaKind(mediaKind: MediaKind): void {
  set({ mediaKind });
  if (mediaKind === 'local' && get().isoPath.trim()) void detectIso();
}

export function setMediaId(mediaId: string): void {
  set({ mediaId, downloadTaskId: null, downloadError: null });
}

/** The guest architecture: its own media to download, its preset's hardware. */
export function setArch(arch: VmArch): void {
  if (get().arch === arch) return;
  set({ arch, mediaId: null, downloadTaskId: null, downloadError: null });
}

/** media.download for the chosen media: a task whose events fill the tasks store. */
export async function startDownload(): Promise<void> {
  const s = get();
  const host = useHostStore.getState().info;
  const d = derive(s, useTasksStore.getState().tasks, takenNames(), null, host);
  if (!s.osId || !d.media.chosen) return;
  set({ downloadError: null });
  try {
    const task = await getBridge().call('media.download', {
      os: s.osId,
      ...(s.versionId ? { version: s.versionId } : {}),
      media: d.media.chosen.id,
    });
    applyTaskEvent(task);
    set({ downloadTaskId: task.id });
    void waitForTask(task.id).then((done) => {
      if (done.state === 'succeeded') void loadCachedMedia();
    });
  } catch (err) {
    const e = toApiError(err);
    set({ downloadError: e.message });
    notifyNext(
      'Couldn’t start the download',
      err,
      'Try again, or use an ISO file you already have.',
    );
  }
}

export function cancelDownload(): void {
  const id = get().downloadTaskId;
  if (id) void cancelTask(id);
}
