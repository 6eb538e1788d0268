/** The resources step: the profile's defaults for this computer, and the user's changes. */
import { getBridge, toApiError } from '../../bridge';
import { diskSizeGiB } from '../../features/wizard/lib';
import type { DiskMode } from '../../stores/wizard';
import { get, notifyNext, set } from './shared';

let defaultsSeq = 0;

/** catalog.defaults for the chosen OS and version; the fields start from its answer. */
export async function loadDefaults(): Promise<void> {
  const { osId, versionId } = get();
  if (!osId) return;
  const key = `${osId}@${versionId ?? ''}`;
  if (get().defaultsFor === key && get().defaults.status === 'ready') return;
  const seq = ++defaultsSeq;
  set({ defaults: { status: 'loading' }, defaultsFor: key });
  try {
    const value = await getBridge().call('catalog.defaults', {
      os: osId,
      ...(versionId ? { version: versionId } : {}),
    });
    if (seq !== defaultsSeq) return;
    const diskGiB = diskSizeGiB(value.diskSize);
    set({
      defaults: { status: 'ready', value },
      memoryMiB: value.memoryMiB,
      cpus: value.cpus,
      diskGiB: diskGiB > 0 ? diskGiB : Math.max(1, value.limits.diskGiB.recommended),
      diskMode: diskGiB > 0 ? 'new' : 'none',
    });
  } catch (err) {
    if (seq !== defaultsSeq) return;
    set({ defaults: { status: 'error', message: toApiError(err).message } });
    notifyNext(
      'Couldn’t read the OS’s recommended hardware',
      err,
      'Go back and pick the OS again, or choose “Generic / other OS”.',
    );
  }
}

export function setMemory(memoryMiB: number): void {
  set({ memoryMiB });
}

export function setCpus(cpus: number): void {
  set({ cpus });
}

export function setDiskGiB(diskGiB: number): void {
  set({ diskGiB });
}

export function setDiskMode(diskMode: DiskMode): void {
  set({ diskMode });
}

export function setCloudDisk(cloudDisk: 'overlay' | 'copy'): void {
  set({ cloudDisk });
}

export function setDiskFile(diskFile: string): void {
  set({ diskFile });
}

/** Back to what the profile recommends on this computer. */
export function resetResources(): void {
  const d = get().defaults;
  if (d.status !== 'ready') return;
  const diskGiB = diskSizeGiB(d.value.diskSize);
  set({
    memoryMiB: d.value.memoryMiB,
    cpus: d.value.cpus,
    diskGiB: diskGiB > 0 ? diskGiB : Math.max(1, d.value.limits.diskGiB.recommended),
    diskMode: diskGiB > 0 ? 'new' : 'none',
  });
}
