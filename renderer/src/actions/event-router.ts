import type { ApiEvent } from '../../../common/contract';
import { assertNever } from '../lib/assert-never';
import { addHostNotice } from './host';
import { applyVmEvent } from './library';
import { applyNetworkEvent } from './networks';
import { applySettingsEvent } from './settings';
import { applyStatsSample } from './stats';
import { applyTaskEvent } from './tasks';

/**
 * The one place the engine's events enter the stores: each kind goes to the action that owns its
 * store. A new kind of event is a compile error until it is routed here.
 */
export function applyEvent(event: ApiEvent): void {
  switch (event.type) {
    case 'vm.state':
    case 'vm.added':
    case 'vm.removed':
      applyVmEvent(event);
      return;
    case 'task':
      applyTaskEvent(event.task);
      return;
    case 'host.notice':
      addHostNotice(event.message);
      return;
    case 'network.changed':
    case 'network.removed':
      applyNetworkEvent(event);
      return;
    case 'settings':
      applySettingsEvent(event.settings);
      return;
    case 'stats.sample':
      applyStatsSample(event);
      return;
    default:
      assertNever(event);
  }
}
