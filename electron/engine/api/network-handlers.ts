/** The contract's network, card and forward methods, on the network services. */
import { VivariumError } from '../errors';
import type { HandlerGroup } from './handlers';

export type NetworkMethod =
  | 'network.list'
  | 'network.get'
  | 'network.create'
  | 'network.update'
  | 'network.delete'
  | 'network.bridgeCheck'
  | 'nic.list'
  | 'nic.add'
  | 'nic.update'
  | 'nic.remove'
  | 'forward.list'
  | 'forward.add'
  | 'forward.remove'
  | 'forward.ssh';

// Interim: the network services land in the next steps of this change.
const later = (): Promise<never> =>
  Promise.reject(new VivariumError('INTERNAL', 'Networks are being built: not in this build yet'));

export function networkHandlers(): HandlerGroup<NetworkMethod> {
  return {
    'network.list': later,
    'network.get': later,
    'network.create': later,
    'network.update': later,
    'network.delete': later,
    'network.bridgeCheck': later,
    'nic.list': later,
    'nic.add': later,
    'nic.update': later,
    'nic.remove': later,
    'forward.list': later,
    'forward.add': later,
    'forward.remove': later,
    'forward.ssh': later,
  };
}
