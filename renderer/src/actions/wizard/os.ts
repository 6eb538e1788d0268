/** The OS step: catalogue search, the OS and version, and where the install media comes from. */
import type { OsFamily } from '../../../../common/contract';
import { getBridge, toApiError } from '../../bridge';
import { cloudMedia, defaultVersionId, downloadableMedia } from '../../features/wizard/lib';
import { entryOf } from '../../features/wizard/model';
import { loadGuestDefaults } from './account';
import { refreshName } from './name';
import { loadDefaults } from './resources';
import { get, notifyNext, set } from './shared';

let searchSeq = 0;

/** catalog.list for the current query and family; the previous list stays until the answer. */
export async function searchCatalog(): Promise<void> {
  const seq = ++searchSeq;
  const { query, family } = get();
  if (get().catalog.status !== 'ready') set({ catalog: { status: 'loading' } });
  try {
    const list = await getBridge().call('catalog.list', {
      ...(query.trim() ? { query: query.trim() } : {}),
      ...(family !== 'all' ? { family } : {}),
      includeOsinfo: true,
    });
    if (seq === searchSeq) set({ catalog: { status: 'ready', value: list } });
  } catch (err) {
    if (seq === searchSeq) set({ catalog: { status: 'error', message: toApiError(err).message } });
  }
}

export function setQuery(query: string): void {
  set({ query });
}

export function setFamily(family: OsFamily | 'all'): void {
  set({ family });
  void searchCatalog();
}

export function setShowOsinfo(showOsinfo: boolean): void {
  set({ showOsinfo });
}

/** Loads a catalogue entry once (catalog.get); later calls reuse it. */
async function loadEntry(id: string): Promise<boolean> {
  const known = get().entries[id];
  if (known?.status === 'ready') return true;
  set((s) => ({ entries: { ...s.entries, [id]: { status: 'loading' } } }));
  try {
    const value = await getBridge().call('catalog.get', { id });
    set((s) => ({ entries: { ...s.entries, [id]: { status: 'ready', value } } }));
    return true;
  } catch (err) {
    const message = toApiError(err).message;
    set((s) => ({ entries: { ...s.entries, [id]: { status: 'error', message } } }));
    notifyNext(
      'Couldn’t load that OS from the catalogue',
      err,
      'Pick it again, or choose “Generic / other OS”.',
    );
    return false;
  }
}

/** Picks an OS in the catalogue: its default version, and where its media will come from. */
export async function selectOs(id: string, version?: string | null): Promise<void> {
  const s = get();
  if (s.osId === id && version === undefined) return;
  set({ osId: id, versionId: null, mediaId: null, downloadTaskId: null, downloadError: null });
  if (!(await loadEntry(id)) || get().osId !== id) return;
  const entry = entryOf(get(), id)!;
  const versionId =
    version && entry.versions.some((v) => v.id === version) ? version : defaultVersionId(entry);
  set({ versionId });
  chooseMediaKind();
  refreshName();
  await loadDefaults();
}

export async function selectVersion(versionId: string): Promise<void> {
  set({ versionId, mediaId: null, downloadTaskId: null, downloadError: null });
  chooseMediaKind();
  refreshName();
  await loadDefaults();
}

/**
 * Ready to use when the version has a cloud image (the two-minute path) and no ISO was given;
 * otherwise an install: download when the version has media Vivarium can fetch, else the user's
 * own file.
 */
export function chooseMediaKind(): void {
  const s = get();
  if (s.source === 'iso') {
    set({ mediaKind: 'local', setup: 'iso' });
    return;
  }
  const entry = entryOf(s, s.osId);
  const version = entry?.versions.find((v) => v.id === s.versionId);
  const canDownload = downloadableMedia(version).length > 0;
  const haveIso = s.isoPath.trim() !== '' && s.detection?.state.status === 'ready';
  const cloud = !haveIso && cloudMedia(version).length > 0;
  set({
    mediaKind: haveIso ? 'local' : canDownload ? 'download' : 'local',
    setup: cloud ? 'cloud' : 'iso',
  });
  if (cloud) void loadGuestDefaults();
}
