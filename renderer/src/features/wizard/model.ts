/**
 * What the wizard's draft means: the chosen entry and version, where the install media stands,
 * what each step still needs, and the captions of the step rail. Pure functions of the stores.
 */
import type {
  CachedMedia,
  CatalogEntry,
  CatalogVersion,
  CreateDefaults,
  GuestDefaults,
  MediaDownloadResult,
  MediaSpec,
  TaskInfo,
  VmArch,
} from '../../../../common/contract';
import { ARCH_LABELS, vmArchOf } from '../../../../common/arch';
import {
  archChoice,
  hardwareOn,
  type ArchChoice,
  type ArchHost,
  type WizardHardware,
} from './arch';
import { formatMemory, plural } from '../../../../common/format';
import { wizardSteps, type WizardState, type WizardStep } from '../../stores/wizard';
import {
  accountHostname,
  accountKeys,
  accountProblems,
  firstAccountProblem,
  loginSummary,
  type AccountProblems,
} from './cloud';
import {
  baseName,
  cloudMedia,
  downloadableMedia,
  fileName,
  fileStem,
  GENERIC_ID,
  nameProblem,
  resourceChecks,
  suggestName,
} from './lib';

export interface MediaStatus {
  /** The media Vivarium can download for the chosen version and setup (cloud images or ISOs). */
  downloadable: MediaSpec[];
  chosen: MediaSpec | null;
  /** The chosen media, already verified in the cache. */
  cached: CachedMedia | null;
  task: TaskInfo | null;
  /** The file the VM's CD-ROM (or, for a cloud setup, its system disk) comes from, once known. */
  file: string | null;
  /** A download is running for it. */
  downloading: boolean;
}

export interface Derived {
  entry: CatalogEntry | null;
  version: CatalogVersion | null;
  /** "Debian 13", "Generic / other OS". */
  osName: string;
  media: MediaStatus;
  /** The pages this setup goes through. */
  steps: readonly WizardStep[];
  /** The guest architecture and what it means on this host. */
  arch: ArchChoice;
  /** The profile's hardware on that architecture (what Create asks for); null until loaded. */
  hardware: WizardHardware | null;
  /** The chosen version has a cloud image: "Ready to use" can be picked. */
  cloudAvailable: boolean;
  /** The ready-to-use guest's account (meaningful for a cloud setup). */
  account: {
    problems: AccountProblems;
    hostname: string;
    keys: string[];
    guestDefaults: GuestDefaults | null;
  };
  defaults: CreateDefaults | null;
  /** Why a step cannot be left forward yet (null: it can). */
  blockers: Record<WizardStep, string | null>;
  captions: Record<WizardStep, string | null>;
}

export function entryOf(s: WizardState, id: string | null): CatalogEntry | null {
  if (!id) return null;
  const e = s.entries[id];
  return e?.status === 'ready' ? e.value : null;
}

export function osNameOf(entry: CatalogEntry | null, version: CatalogVersion | null): string {
  if (!entry) return 'the OS';
  if (version) return baseName(version.name);
  return baseName(entry.name);
}

function mediaStatus(
  s: WizardState,
  entry: CatalogEntry | null,
  version: CatalogVersion | null,
  tasks: Record<string, TaskInfo>,
  arch: VmArch,
): MediaStatus {
  const cloud = s.setup === 'cloud';
  const downloadable = (
    cloud ? cloudMedia(version ?? undefined) : downloadableMedia(version ?? undefined)
  ).filter((m) => vmArchOf(m.arch) === arch);
  const chosen = downloadable.find((m) => m.id === s.mediaId) ?? downloadable[0] ?? null;
  const cachedList = s.cached.status === 'ready' ? s.cached.value : [];
  const cached =
    entry && version && chosen
      ? (cachedList.find(
          (c) => c.os === entry.id && c.version === version.id && c.mediaId === chosen.id,
        ) ?? null)
      : null;
  const task = s.downloadTaskId ? (tasks[s.downloadTaskId] ?? null) : null;
  const downloaded =
    task?.state === 'succeeded'
      ? ((task.result as MediaDownloadResult | null)?.file ?? null)
      : null;
  let file: string | null = null;
  if (cloud || s.mediaKind === 'download') file = downloaded ?? cached?.file ?? null;
  else if (s.mediaKind === 'local') file = localIsoReady(s) ? s.isoPath.trim() : null;
  return {
    downloadable,
    chosen,
    cached,
    task,
    file,
    downloading: (cloud || s.mediaKind === 'download') && task?.state === 'running',
  };
}

/** The local path was checked and the engine could read it. */
export function localIsoReady(s: WizardState): boolean {
  const path = s.isoPath.trim();
  return s.detection?.file === path && s.detection.state.status === 'ready';
}

export function derive(
  s: WizardState,
  tasks: Record<string, TaskInfo>,
  takenNames: readonly string[],
  hostMemoryMiB: number | null,
  host: ArchHost | null = null,
): Derived {
  const entry = entryOf(s, s.osId);
  const version = entry?.versions.find((v) => v.id === s.versionId) ?? null;
  const osName = osNameOf(entry, version);
  const arch = archChoice(s, entry, host);
  const media = mediaStatus(s, entry, version, tasks, arch.arch);
  const defaults = s.defaults.status === 'ready' ? s.defaults.value : null;

  const cloud = s.setup === 'cloud';
  const cloudAvailable = s.source === 'catalog' && cloudMedia(version ?? undefined).length > 0;
  const guestDefaults = s.guestDefaults.status === 'ready' ? s.guestDefaults.value : null;
  const account = {
    problems: cloud ? accountProblems(s.account, guestDefaults, s.name) : {},
    hostname: accountHostname(s.account, s.name),
    keys: accountKeys(s.account, guestDefaults),
    guestDefaults,
  };
  const blockers: Record<WizardStep, string | null> = {
    os: null,
    media: null,
    account: null,
    resources: null,
    name: null,
    summary: null,
  };
  const uploading = uploadRunning(s);
  if (s.source === 'iso') {
    const path = s.isoPath.trim();
    if (uploading) blockers.os = 'Uploading the ISO…';
    else if (!path) blockers.os = 'Give the path of an ISO file, or choose an OS instead';
    else if (!/^(\/|[A-Za-z]:[\\/])/.test(path))
      blockers.os = 'Use the full path (it starts with /)';
    else if (s.detection?.file !== path || s.detection.state.status === 'loading')
      blockers.os = 'Checking the file…';
    else if (s.detection.state.status === 'error') blockers.os = 'Fix the path to go on';
    else if (!entry) blockers.os = 'Loading the OS profile…';
  } else if (!s.osId) blockers.os = 'Pick an operating system to go on';
  else if (!entry) blockers.os = 'Loading…';

  const archName = ARCH_LABELS[arch.arch];
  if (cloud) {
    // The image downloads on Create when it was not fetched here first.
    if (!media.chosen)
      blockers.media = cloudMedia(version ?? undefined).length
        ? `No ${archName} cloud image for this version: pick another architecture, or install from an ISO`
        : 'No cloud image for this version: pick another version, or install from an ISO';
  } else if (s.mediaKind === 'download') {
    if (!media.chosen)
      blockers.media = downloadableMedia(version ?? undefined).length
        ? `Nothing to download for ${archName}: pick another architecture, or use an ISO file`
        : 'Nothing to download for this version: use an ISO file';
    else if (!media.file && !media.downloading)
      blockers.media = 'Download the install media, or use an ISO file you have';
  } else if (s.mediaKind === 'local') {
    const path = s.isoPath.trim();
    if (uploading) blockers.media = 'Uploading the ISO…';
    else if (!path) blockers.media = 'Give the path of the ISO file';
    else if (!localIsoReady(s))
      blockers.media =
        s.detection?.state.status === 'error' ? 'Fix the path to go on' : 'Checking the file…';
  }

  if (cloud) {
    if (s.guestDefaults.status === 'loading' || s.guestDefaults.status === 'idle')
      blockers.account = 'Reading this computer’s SSH keys and settings…';
    else blockers.account = firstAccountProblem(account.problems);
  }

  const newDisk = cloud || s.diskMode === 'new';
  if (!defaults) {
    blockers.resources =
      s.defaults.status === 'error' ? 'The OS profile could not be loaded' : 'Loading…';
  } else {
    const checks = resourceChecks(
      defaults,
      osName,
      {
        memoryMiB: s.memoryMiB,
        cpus: s.cpus,
        diskGiB: newDisk ? s.diskGiB : null,
      },
      hostMemoryMiB,
      cloud,
    );
    const error = [...checks.memory, ...checks.cpus, ...checks.disk].find(
      (c) => c.severity === 'error',
    );
    if (error) blockers.resources = error.message;
    else if (
      !cloud &&
      (s.diskMode === 'existing' || s.diskMode === 'import') &&
      !isAbsolute(s.diskFile)
    )
      blockers.resources = 'Give the full path of the disk image';
  }

  blockers.name = nameProblem(s.name, takenNames);
  // A cloud image still downloading is waited for by Create itself.
  if (media.downloading && !cloud) blockers.summary = 'Waiting for the download to finish…';
  if (arch.unavailable) blockers.summary = arch.unavailable;

  const diskCaption = newDisk ? `${s.diskGiB} GiB` : s.diskMode === 'none' ? 'no disk' : 'own disk';
  const captions: Record<WizardStep, string | null> = {
    os: entry ? osName : null,
    media: cloud
      ? media.downloading
        ? `Downloading… ${Math.round((media.task?.progress ?? 0) * 100)}%`
        : media.chosen
          ? `Ready to use${media.file ? ' · image cached' : ''}`
          : null
      : s.mediaKind === 'none'
        ? 'No install media'
        : s.mediaKind === 'local'
          ? uploading && s.upload
            ? `Uploading… ${uploadPercent(s.upload)}%`
            : s.isoPath.trim()
              ? fileName(s.isoPath.trim())
              : null
          : media.downloading
            ? `Downloading… ${Math.round((media.task?.progress ?? 0) * 100)}%`
            : media.file
              ? `${media.chosen?.label ?? 'Media'} · ready`
              : null,
    account:
      cloud && s.account.user.trim()
        ? `${s.account.user.trim()} · ${loginSummary(account.keys.length, s.account.password !== '')}`
        : null,
    resources: defaults
      ? `${formatMemory(s.memoryMiB)} · ${plural(s.cpus, 'CPU')} · ${diskCaption}`
      : null,
    name: s.name.trim() || null,
    summary: null,
  };
  return {
    entry,
    version,
    osName,
    media,
    steps: wizardSteps(s.setup),
    arch,
    hardware: defaults ? hardwareOn(defaults, arch.arch) : null,
    cloudAvailable,
    account,
    defaults,
    blockers,
    captions,
  };
}

/** An ISO is on its way from the browser (or the server is still checking it). */
export function uploadRunning(s: WizardState): boolean {
  return s.upload?.status === 'sending' || s.upload?.status === 'storing';
}

export function uploadPercent(u: { bytesSent: number; bytesTotal: number }): number {
  return u.bytesTotal > 0 ? Math.min(100, Math.floor((u.bytesSent / u.bytesTotal) * 100)) : 0;
}

export function isAbsolute(path: string): boolean {
  return /^(\/|[A-Za-z]:[\\/])/.test(path.trim());
}

/** The name the wizard offers for the current choice, unique in the library. */
export function suggestedName(s: WizardState, taken: readonly string[]): string {
  const entry = entryOf(s, s.osId);
  const version = entry?.versions.find((v) => v.id === s.versionId) ?? null;
  let base = 'New VM';
  if (entry && entry.id !== GENERIC_ID) base = osNameOf(entry, version);
  else if (s.isoPath.trim() && (s.source === 'iso' || s.mediaKind === 'local'))
    base = fileStem(s.isoPath.trim());
  return suggestName(base, taken);
}
