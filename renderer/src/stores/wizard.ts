import { create } from 'zustand';
import type {
  CachedMedia,
  CatalogEntry,
  CatalogSummary,
  CreateDefaults,
  MediaDetection,
  OsFamily,
} from '../../../common/contract';

/** The wizard's pages, in order. */
export const WIZARD_STEPS = ['os', 'media', 'resources', 'name', 'summary'] as const;
export type WizardStep = (typeof WIZARD_STEPS)[number];

/** Step 1 starts from the catalogue or from an ISO the user already has. */
export type WizardSource = 'catalog' | 'iso';
/** Where the install media comes from. */
export type MediaKind = 'download' | 'local' | 'none';
/** The VM's disk: a new thin qcow2, an image used where it is, a copy imported, or none. */
export type DiskMode = 'new' | 'existing' | 'import' | 'none';

export type Loadable<T> =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ready'; value: T }
  | { status: 'error'; message: string };

/** An ISO on its way from the browser to the server's media cache (server mode). */
export interface IsoUpload {
  name: string;
  bytesTotal: number;
  bytesSent: number;
  /** Over the last few seconds; null until there is enough to tell. */
  bytesPerSecond: number | null;
  /** sending: bytes going out; storing: all sent, the server hashes and checks it. */
  status: 'sending' | 'storing' | 'done' | 'failed' | 'cancelled';
  /** done: the cache already held the same bytes. */
  reused: boolean;
  /** done: where it was stored on the computer that runs Vivarium. */
  file: string | null;
  error: string | null;
}

export interface Detection {
  /** The path that was checked (the field may have changed since). */
  file: string;
  state: Loadable<MediaDetection>;
}

export interface WizardState {
  step: WizardStep;
  source: WizardSource;
  // Step 1: the catalogue.
  query: string;
  family: OsFamily | 'all';
  showOsinfo: boolean;
  catalog: Loadable<CatalogSummary[]>;
  /** catalog.get answers by id. */
  entries: Record<string, Loadable<CatalogEntry>>;
  osId: string | null;
  versionId: string | null;
  // Step 1 (ISO) and step 2 (local media): a file on the computer that runs the engine.
  isoPath: string;
  detection: Detection | null;
  /** Media already in the cache (media.list). */
  cached: Loadable<CachedMedia[]>;
  /** The last ISO uploaded from the browser (server mode), while and after it goes. */
  upload: IsoUpload | null;
  // Step 2.
  mediaKind: MediaKind;
  mediaId: string | null;
  /** The media.download task for the chosen media, if one was started. */
  downloadTaskId: string | null;
  /** Why the last download attempt could not start. */
  downloadError: string | null;
  // Step 3.
  defaults: Loadable<CreateDefaults>;
  /** The os/version the defaults (and the fields below) were made for. */
  defaultsFor: string | null;
  memoryMiB: number;
  cpus: number;
  diskGiB: number;
  diskMode: DiskMode;
  diskFile: string;
  // Step 4.
  name: string;
  /** The user typed a name: stop suggesting. */
  nameEdited: boolean;
  // Step 5.
  creating: 'start' | 'customize' | null;
  /** What went wrong creating, with field messages from the engine. */
  createError: { message: string; fields: Record<string, string> } | null;
  /** Shown instead of the wizard: the plain form (Linux kernel boot, everything by hand). */
  manual: boolean;
}

export const WIZARD_INITIAL: Omit<WizardState, 'catalog' | 'entries' | 'cached'> = {
  step: 'os',
  source: 'catalog',
  query: '',
  family: 'all',
  showOsinfo: false,
  osId: null,
  versionId: null,
  isoPath: '',
  detection: null,
  upload: null,
  mediaKind: 'download',
  mediaId: null,
  downloadTaskId: null,
  downloadError: null,
  defaults: { status: 'idle' },
  defaultsFor: null,
  memoryMiB: 0,
  cpus: 0,
  diskGiB: 0,
  diskMode: 'new',
  diskFile: '',
  name: '',
  nameEdited: false,
  creating: null,
  createError: null,
  manual: false,
};

/** The New-VM wizard's draft and what the engine answered; only `actions/wizard/` writes to it. */
export const useWizardStore = create<WizardState>()(() => ({
  ...WIZARD_INITIAL,
  catalog: { status: 'idle' },
  entries: {},
  cached: { status: 'idle' },
}));
