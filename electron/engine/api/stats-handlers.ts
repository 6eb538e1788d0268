/** The contract's statistics methods: subscriptions, history, the host's figures, the balloon. */
import type { StatsService } from '../stats/service';
import type { HandlerGroup } from './handlers';

export function statsHandlers(
  stats: StatsService,
): HandlerGroup<
  | 'stats.subscribe'
  | 'stats.unsubscribe'
  | 'stats.history'
  | 'stats.host'
  | 'vm.balloon'
  | 'vm.cmdline'
> {
  return {
    'stats.subscribe': ({ subscription }) => Promise.resolve(stats.subscribe(subscription)),
    'stats.unsubscribe': ({ subscription }) =>
      Promise.resolve({ unsubscribed: stats.unsubscribe(subscription) }),
    'stats.history': ({ vm, seconds }) => Promise.resolve(stats.history(vm, seconds)),
    'stats.host': () => stats.host(),
    'vm.balloon': ({ vm, targetMiB }) => stats.balloon(vm, targetMiB),
    'vm.cmdline': ({ vm }) => stats.cmdline(vm),
  };
}
