import { getBridge, toApiError } from '../../bridge';
import { set } from './shared';

/** The media cache's list, for the wizard's "already downloaded" choices. */
export async function loadCachedMedia(): Promise<void> {
  try {
    const value = await getBridge().call('media.list', {});
    set({ cached: { status: 'ready', value } });
  } catch (err) {
    set({ cached: { status: 'error', message: toApiError(err).message } });
  }
}
