/**
 * The networks store follows the engine's events: `network.changed` puts a network in (sorted by
 * name, replacing the one with its id), `network.removed` takes it out. Plain Node, no DOM.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { NetworkConfigSchema, type NetworkSummary } from '../../common/contract';
import { applyEvent } from '../../renderer/src/actions/event-router';
import { useNetworksStore } from '../../renderer/src/stores/networks';

function net(id: string, name: string, running = false): NetworkSummary {
  return {
    config: NetworkConfigSchema.parse({
      configVersion: 1,
      id,
      name,
      subnet: '10.13.1.0/24',
      createdAt: '2026-01-01T00:00:00Z',
    }),
    running,
    gateway: null,
    members: [],
  };
}

const names = () => useNetworksStore.getState().list?.map((n) => n.config.name);

describe('network events', () => {
  beforeEach(() => {
    useNetworksStore.setState({ list: null, status: 'idle', error: null, nicsByVm: {} });
  });

  it('adds, replaces (also a rename) and removes networks, keeping them sorted', () => {
    applyEvent({ type: 'network.changed', network: net('aaaaaaaaaaa1', 'lab') });
    applyEvent({ type: 'network.changed', network: net('aaaaaaaaaaa2', 'dmz') });
    expect(names()).toEqual(['dmz', 'lab']);
    expect(useNetworksStore.getState().status).toBe('ready');
    applyEvent({ type: 'network.changed', network: net('aaaaaaaaaaa1', 'alpha', true) });
    expect(names()).toEqual(['alpha', 'dmz']);
    expect(useNetworksStore.getState().list?.[0]?.running).toBe(true);
    applyEvent({ type: 'network.removed', id: 'aaaaaaaaaaa2' });
    expect(names()).toEqual(['alpha']);
  });
});
