/** The contract's network methods, on the network service. */
import type { NetworkService } from '../network/service';
import type { HandlerGroup } from './handlers';

export type NetworkMethod =
  | 'network.list'
  | 'network.get'
  | 'network.create'
  | 'network.update'
  | 'network.delete'
  | 'network.bridgeCheck';

export function networkHandlers(networks: NetworkService): HandlerGroup<NetworkMethod> {
  return {
    'network.list': () => networks.list(),
    'network.get': ({ network }) => networks.get(network),
    'network.create': (req) => networks.create(req),
    'network.update': ({ network, patch }) => networks.update(network, patch),
    'network.delete': ({ network, detach }) => networks.delete(network, detach),
    'network.bridgeCheck': ({ bridge }) => networks.bridgeCheck(bridge),
  };
}
