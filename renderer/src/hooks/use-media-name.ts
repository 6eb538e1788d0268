import { useEffect } from 'react';
import { cdromDisplayName } from '../../../common/media-names';
import { loadMedia } from '../actions/media';
import { useMediaStore } from '../stores/media';

/**
 * The name people know a CD-ROM image by (the upload's own name and its OS), never the cache's
 * sha256 folder; loads the media list the first time a view needs it.
 */
export function useMediaName(path: string | null): string | null {
  const cached = useMediaStore((s) => s.cached);
  const needed = path !== null && cached.status === 'idle';
  useEffect(() => {
    if (needed) void loadMedia();
  }, [needed]);
  return cdromDisplayName(path, cached.status === 'ready' ? cached.value : []);
}
