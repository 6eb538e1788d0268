/** The contract's shared-folder and clipboard methods, on the share service. */
import type { ShareService } from '../shares/service';
import type { HandlerGroup } from './handlers';

export type ShareMethod = 'share.list' | 'share.add' | 'share.remove' | 'clipboard.set';

export function shareHandlers(shares: ShareService): HandlerGroup<ShareMethod> {
  return {
    'share.list': ({ vm }) => shares.list(vm),
    'share.add': (req) => shares.add(req),
    'share.remove': ({ vm, tag }) => shares.remove(vm, tag),
    'clipboard.set': ({ vm, on }) => shares.setClipboard(vm, on),
  };
}
