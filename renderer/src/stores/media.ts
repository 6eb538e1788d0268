import { create } from 'zustand';
import type { CachedMedia, OsFamily, PartialDownload } from '../../../common/contract';

export type Loadable<T> =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ready'; value: T }
  | { status: 'error'; message: string };

/** What the Host view shows of a cached image's OS: the catalogue's name and logo. */
export interface MediaOs {
  name: string;
  logo: string;
  family: OsFamily;
  /** Version names and their media's labels, by id. */
  versions: Record<string, { name: string; media: Record<string, string> }>;
}

export interface MediaState {
  /** The install-media cache (`media.list`); kept while a refresh is in flight. */
  cached: Loadable<CachedMedia[]>;
  /** Unfinished downloads (`media.partials`). */
  partials: Loadable<PartialDownload[]>;
  /** Catalogue facts by OS id (`catalog.get`); null when the catalogue does not know the id. */
  os: Record<string, MediaOs | null>;
  /** Partial downloads being resumed: the `media.download` task's id, by partial key. */
  resuming: Record<string, string>;
  /** Partial downloads whose discard is in flight, by key. */
  discarding: string[];
}

/** The install-media cache as the engine reported it; only `actions/media.ts` writes to it. */
export const useMediaStore = create<MediaState>()(() => ({
  cached: { status: 'idle' },
  partials: { status: 'idle' },
  os: {},
  resuming: {},
  discarding: [],
}));
