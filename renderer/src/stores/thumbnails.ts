import { create } from 'zustand';

export interface Thumbnail {
  /** A data: URL of the PNG. */
  src: string;
  width: number;
  height: number;
  at: number;
}

/** Live screen thumbnails of running VMs, by VM id; only `actions/thumbnails.ts` writes to it. */
export const useThumbnailStore = create<Record<string, Thumbnail>>()(() => ({}));
