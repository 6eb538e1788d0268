import { create } from 'zustand';
import type {
  CachedMedia,
  CatalogEntry,
  CatalogSummary,
  CreateDefaults,
  GuestDefaults,
  MediaDetection,
  OsFamily,
  VmArch,
} from '../../../common/contract';

/** The wizard's pages, in order; "Guest account" only for a ready-to-use guest. */
export const WIZARD_STEPS = ['os', 'media', 'account', 'resources', 'name', 'summary'] as const;
export type WizardStep = (typeof WIZARD_STEPS)[number];

/** How the guest gets its OS: a cloud image ready to use, or an installer from an ISO. */
export type WizardSetup = 'cloud' | 'iso';

/** The pages a setup goes through, in order. */
export function wizardSteps(setup: WizardSetup): readonly WizardStep[] {
  return setup === 'cloud' ? WIZARD_STEPS : WIZARD_STEPS.filter((s) => s !== 'account');
}

/** The login a ready-to-use guest's first boot makes, as the form holds it. */
export interface AccountDraft {
  user: string;
  /** The host's public keys (their files) the user left ticked. */
  keyFiles: string[];
  /** Public key lines pasted by the user, one a line. */
  pastedKeys: string;
  password: string;
  passwordConfirm: string;
  /** Only once edited: until then the host name follows the VM's name. */
  hostname: string;
  hostnameEdited: boolean;
  timezone: string;
  locale: string;
  keyboardLayout: string;
  keyboardVariant: string;
}

export const ACCOUNT_INITIAL: AccountDraft = {
  user: '',
  keyFiles: [],
  pastedKeys: '',
  password: '',
  passwordConfirm: '',
  hostname: '',
  hostnameEdited: false,
  timezone: '',
  locale: '',
  keyboardLayout: '',
  keyboardVariant: '',
};

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
  /**
   * The guest architecture the user picked; null follows the ISO's detected one, else the host's
   * own (model.ts `archChoice`).
   */
  arch: VmArch | null;
  /** Ready to use (a cloud image) or installed from an ISO; cloud only where the version has one. */
  setup: WizardSetup;
  mediaKind: MediaKind;
  mediaId: string | null;
  /** The media.download task for the chosen media, if one was started. */
  downloadTaskId: string | null;
  /** Why the last download attempt could not start. */
  downloadError: string | null;
  // Step 3 (cloud): the guest's login, prefilled from this host (host.guestDefaults).
  guestDefaults: Loadable<GuestDefaults>;
  account: AccountDraft;
  // Step 4.
  defaults: Loadable<CreateDefaults>;
  /** The os/version the defaults (and the fields below) were made for. */
  defaultsFor: string | null;
  memoryMiB: number;
  cpus: number;
  diskGiB: number;
  diskMode: DiskMode;
  diskFile: string;
  /** Cloud: the system disk is a thin overlay on the cached image, or a full copy of it. */
  cloudDisk: 'overlay' | 'copy';
  // Step 5.
  name: string;
  /** The user typed a name: stop suggesting. */
  nameEdited: boolean;
  // Step 6.
  creating: 'start' | 'customize' | null;
  /** What went wrong creating, with field messages from the engine. */
  createError: { message: string; fields: Record<string, string> } | null;
  /** Shown instead of the wizard: the plain form (Linux kernel boot, everything by hand). */
  manual: boolean;
  /** Shown instead of the wizard: "Import an appliance" (an .ova or .ovf). */
  appliance: boolean;
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
  arch: null,
  setup: 'iso',
  mediaKind: 'download',
  mediaId: null,
  downloadTaskId: null,
  downloadError: null,
  guestDefaults: { status: 'idle' },
  account: ACCOUNT_INITIAL,
  defaults: { status: 'idle' },
  defaultsFor: null,
  memoryMiB: 0,
  cpus: 0,
  diskGiB: 0,
  diskMode: 'new',
  diskFile: '',
  cloudDisk: 'overlay',
  name: '',
  nameEdited: false,
  creating: null,
  createError: null,
  manual: false,
  appliance: false,
};

/** The New-VM wizard's draft and what the engine answered; only `actions/wizard/` writes to it. */
export const useWizardStore = create<WizardState>()(() => ({
  ...WIZARD_INITIAL,
  catalog: { status: 'idle' },
  entries: {},
  cached: { status: 'idle' },
}));
