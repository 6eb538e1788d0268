/**
 * The New-VM wizard's actions: catalogue search, OS and version choice, ISO detection, media
 * downloads (tasks), the profile's defaults, and creating the VM. Also the after-install
 * "eject the install media and boot from the disk" action the VM window offers.
 */
import type {
  CreateVmRequest,
  DetectionCandidate,
  OsFamily,
  TaskInfo,
  VmSummary,
} from '../../../common/contract';
import {
  getBridge,
  localFiles,
  pathForFile,
  toApiError,
  uploadFile,
  type UploadHandle,
} from '../bridge';
import { isGuestUp } from '../../../common/vm-state';
import { useHostStore } from '../stores/host';
import { upsertVm, useLibraryStore } from '../stores/library';
import { useTasksStore } from '../stores/tasks';
import {
  WIZARD_INITIAL,
  WIZARD_STEPS,
  useWizardStore,
  type DiskMode,
  type MediaKind,
  type WizardSource,
  type WizardState,
  type WizardStep,
} from '../stores/wizard';
import {
  diskSizeGiB,
  diskSizeText,
  defaultVersionId,
  downloadableMedia,
} from '../features/wizard/lib';
import { derive, entryOf, suggestedName } from '../features/wizard/model';
import { findVm } from '../stores/library';
import { notify } from './notifications';
import { applyTaskEvent, cancelTask } from './tasks';
import { closeDialog, openVm } from './ui';

const set = (patch: Partial<WizardState> | ((s: WizardState) => Partial<WizardState>)) =>
  useWizardStore.setState(patch);
const get = () => useWizardStore.getState();
const takenNames = () => useLibraryStore.getState().vms.map((v) => v.name);

/** An error notification with the engine's message and what to do next. */
function notifyNext(title: string, err: unknown, next: string): void {
  const e = toApiError(err);
  notify({ kind: 'error', title, message: `${e.message} ${next}`, code: e.code });
}

/** A fresh draft each time the wizard opens; the catalogue and the cache list are reloaded. */
export function startWizard(): void {
  stopUpload();
  set({ ...WIZARD_INITIAL });
  void searchCatalog();
  void loadCachedMedia();
}

export function showManualForm(manual: boolean): void {
  set({ manual });
}

// ---------------------------------------------------------------------------------------------
// Step 1: the catalogue

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

export function setSource(source: WizardSource): void {
  const s = get();
  if (s.source === source) return;
  if (source === 'iso') {
    set({ source, mediaKind: 'local' });
    // An ISO checked earlier decides the OS again.
    const d = s.detection;
    if (d?.state.status === 'ready' && d.file === s.isoPath.trim())
      void applyCandidate(d.state.value.best);
    else if (s.isoPath.trim()) void detectIso();
  } else {
    set({ source });
    chooseMediaKind();
  }
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

/** Download when the version has media Vivarium can fetch, else the user's own file. */
function chooseMediaKind(): void {
  const s = get();
  if (s.source === 'iso') {
    set({ mediaKind: 'local' });
    return;
  }
  const entry = entryOf(s, s.osId);
  const version = entry?.versions.find((v) => v.id === s.versionId);
  const canDownload = downloadableMedia(version).length > 0;
  const haveIso = s.isoPath.trim() !== '' && s.detection?.state.status === 'ready';
  set({ mediaKind: haveIso ? 'local' : canDownload ? 'download' : 'local' });
}

// ---------------------------------------------------------------------------------------------
// Local ISO files

export function setIsoPath(isoPath: string): void {
  set({ isoPath });
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

/** "Pick it from the catalogue": keeps the ISO as the install media. */
export function pickFromCatalog(): void {
  set({ source: 'catalog', mediaKind: 'local' });
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
  // A check in flight is for the path being replaced.
  detectSeq++;
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
    detectSeq++;
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

export async function loadCachedMedia(): Promise<void> {
  try {
    const value = await getBridge().call('media.list', {});
    set({ cached: { status: 'ready', value } });
  } catch (err) {
    set({ cached: { status: 'error', message: toApiError(err).message } });
  }
}

// ---------------------------------------------------------------------------------------------
// Step 2: install media

export function setMediaKind(mediaKind: MediaKind): void {
  set({ mediaKind });
  if (mediaKind === 'local' && get().isoPath.trim()) void detectIso();
}

export function setMediaId(mediaId: string): void {
  set({ mediaId, downloadTaskId: null, downloadError: null });
}

/** media.download for the chosen media: a task whose events fill the tasks store. */
export async function startDownload(): Promise<void> {
  const s = get();
  const d = derive(s, useTasksStore.getState().tasks, takenNames(), null);
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

/** Resolves when the task has ended (from the tasks store, which task events keep current). */
function waitForTask(id: string): Promise<TaskInfo> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const t = useTasksStore.getState().tasks[id];
      if (t && t.state !== 'running') {
        resolve(t);
        return true;
      }
      return false;
    };
    if (check()) return;
    const unsubscribe = useTasksStore.subscribe(() => {
      if (check()) unsubscribe();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Step 3: resources

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

// ---------------------------------------------------------------------------------------------
// Step 4: name

export function setName(name: string): void {
  set((s) => ({
    name,
    nameEdited: name.trim() !== '',
    createError: s.createError?.fields['name'] ? null : s.createError,
  }));
}

/** Offers a name from the OS until the user types their own. */
function refreshName(): void {
  if (get().nameEdited) return;
  set({ name: suggestedName(get(), takenNames()) });
}

// ---------------------------------------------------------------------------------------------
// Moving between steps

export function goToStep(step: WizardStep): void {
  if (step === 'name') refreshName();
  set({ step });
}

export function nextStep(): void {
  const i = WIZARD_STEPS.indexOf(get().step);
  const next = WIZARD_STEPS[i + 1];
  if (next) goToStep(next);
}

export function previousStep(): void {
  const i = WIZARD_STEPS.indexOf(get().step);
  const prev = WIZARD_STEPS[i - 1];
  if (prev) goToStep(prev);
}

// ---------------------------------------------------------------------------------------------
// Step 5: create

/** Which step a field the engine refused lives on. */
const FIELD_STEP: Record<string, WizardStep> = {
  name: 'name',
  memoryMiB: 'resources',
  cpus: 'resources',
  diskSize: 'resources',
  iso: 'media',
  os: 'os',
};

/**
 * vm.create with the profile's os and the user's choices, then the disk they asked for, then
 * (for "Create and start") vm.start. Opens the VM's Display tab, or Settings to customize.
 */
export async function createFromWizard(then: 'start' | 'customize'): Promise<void> {
  const s = get();
  if (s.creating) return;
  const host = useHostStore.getState().info;
  const d = derive(s, useTasksStore.getState().tasks, takenNames(), host?.totalMemoryMiB ?? null);
  const blocked = WIZARD_STEPS.find((step) => d.blockers[step]);
  if (blocked) {
    goToStep(blocked);
    return;
  }
  if (!d.defaults) return;
  const request: CreateVmRequest = {
    name: s.name.trim(),
    os: d.defaults.os,
    memoryMiB: s.memoryMiB,
    cpus: s.cpus,
    diskSize: s.diskMode === 'new' ? diskSizeText(s.diskGiB) : '0',
  };
  if (d.media.file && s.mediaKind !== 'none') request.iso = d.media.file;
  set({ creating: then, createError: null });

  let vm: VmSummary;
  const api = getBridge();
  try {
    vm = await api.call('vm.create', request);
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, vm) }));
  } catch (err) {
    const e = toApiError(err);
    const fields = e.fields ?? {};
    const step = Object.keys(fields)
      .map((f) => FIELD_STEP[f])
      .find(Boolean);
    set({ creating: null, createError: { message: e.message, fields }, ...(step ? { step } : {}) });
    if (step === 'name') return; // the field says it; nothing else to do
    notifyNext(
      'Couldn’t create the VM',
      e,
      step
        ? 'The wizard shows the field to change.'
        : 'Change the choices in the wizard and try again.',
    );
    return;
  }

  // The disk the user chose instead of a new one.
  const diskOk = await attachChosenDisk(vm, s.diskMode, s.diskFile.trim(), d.defaults.diskBus);
  const name = vm.name;
  if (then === 'customize' || !diskOk) {
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'settings');
    notify(
      {
        kind: 'info',
        title: `Created “${name}”`,
        message: 'Adjust its settings, then start it from the top bar to see the installer.',
      },
      8000,
    );
    return;
  }
  try {
    const started = await api.call('vm.start', { vm: vm.id });
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, started) }));
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'display');
    notify(
      {
        kind: 'info',
        title: `Started “${name}”`,
        message: request.iso
          ? 'Its installer appears on this tab. When the install is done, use “Eject install media and boot from disk” on the Overview tab.'
          : 'Its screen appears on this tab.',
      },
      9000,
    );
  } catch (err) {
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'overview');
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `“${name}” was created but did not start`,
      message: `${e.message} Its Overview shows what QEMU said: fix it in Settings, then start it.`,
      code: e.code,
      action: { type: 'openVm', vmId: vm.id, tab: 'settings', label: 'Open its settings' },
    });
  }
}

async function attachChosenDisk(
  vm: VmSummary,
  mode: DiskMode,
  file: string,
  bus: VmSummary['config']['disks'][number]['bus'],
): Promise<boolean> {
  if (mode !== 'existing' && mode !== 'import') return true;
  const api = getBridge();
  try {
    if (mode === 'existing') {
      const updated = await api.call('disk.add', { vm: vm.id, file, bus });
      useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, updated) }));
      return true;
    }
    const task = await api.call('disk.import', { vm: vm.id, file, bus });
    applyTaskEvent(task);
    const done = await waitForTask(task.id);
    if (done.state === 'succeeded') return true;
    notify({
      kind: 'error',
      title: `“${vm.name}” was created, but its disk was not imported`,
      message: `${done.error?.message ?? 'The import did not finish.'} Add a disk in its Settings, then start it.`,
    });
    return false;
  } catch (err) {
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `“${vm.name}” was created, but its disk was not attached`,
      message: `${e.message} Add a disk in its Settings, then start it.`,
      code: e.code,
    });
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// After the install

/** How long the guest gets to shut down by itself before its power is cut. */
const EJECT_SHUTDOWN_MS = 15_000;

/**
 * Removes the install media and boots from the disk: a running VM is shut down first (powered
 * off when the guest ignores the power button), its CD-ROM emptied and the boot order set to the
 * disk, then it starts again. Returns whether it all went through.
 */
export async function ejectInstallMedia(vmId: string): Promise<boolean> {
  const api = getBridge();
  const vm = findVm(vmId);
  const name = vm?.name ?? vmId;
  let step = 'shut it down';
  try {
    if (vm && (isGuestUp(vm.runtime.state) || vm.runtime.state === 'stopping')) {
      if (vm.runtime.state !== 'stopping') {
        const res = await api.call('vm.shutdown', { vm: vmId, timeoutMs: EJECT_SHUTDOWN_MS });
        if (!res.stopped) await api.call('vm.powerOff', { vm: vmId });
      } else {
        await api.call('vm.powerOff', { vm: vmId });
      }
    }
    step = 'eject the install media';
    const updated = await api.call('vm.update', {
      vm: vmId,
      patch: { cdrom: null, bootOrder: ['disk'] },
    });
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, updated) }));
    step = 'start it from the disk';
    const started = await api.call('vm.start', { vm: vmId });
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, started) }));
    notify(
      {
        kind: 'info',
        title: `“${name}” now boots from its disk`,
        message: 'The install media is ejected. Attach another ISO in Settings when you need one.',
      },
      6000,
    );
    return true;
  } catch (err) {
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `Couldn’t ${step}`,
      message: `${e.message} ${
        step === 'shut it down'
          ? 'Power the VM off from the top bar, then try again.'
          : step === 'start it from the disk'
            ? 'The media is ejected; start the VM from the top bar once the problem is fixed.'
            : 'Empty the CD-ROM in Settings (the VM must be off).'
      }`,
      code: e.code,
    });
    return false;
  }
}
