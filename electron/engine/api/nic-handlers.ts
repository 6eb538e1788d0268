/** The contract's card and forward methods, on the card and forward services. */
import type { ForwardService } from '../network/forwards';
import type { NicService } from '../network/nics';
import type { HandlerGroup } from './handlers';

export type NicMethod =
  | 'nic.list'
  | 'nic.add'
  | 'nic.update'
  | 'nic.remove'
  | 'forward.list'
  | 'forward.add'
  | 'forward.remove'
  | 'forward.ssh';

export function nicHandlers(nics: NicService, forwards: ForwardService): HandlerGroup<NicMethod> {
  return {
    'nic.list': ({ vm }) => nics.list(vm),
    'nic.add': ({ vm, nic }) => nics.add(vm, nic),
    'nic.update': ({ vm, index, patch }) => nics.update(vm, index, patch),
    'nic.remove': ({ vm, index }) => nics.remove(vm, index),
    'forward.list': ({ vm }) => forwards.list(vm),
    'forward.add': (req) => forwards.add(req),
    'forward.remove': (req) => forwards.remove(req),
    'forward.ssh': (req) => forwards.ssh(req),
  };
}
