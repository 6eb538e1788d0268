/**
 * INTEGRATION POINT (for the lead): the networks as their files on disk say, until the network
 * service (vde switches, routers) is merged; then engine.ts passes that service instead and this
 * file goes. It reads `networks/<id>/network.json`, so cards can be attached to networks that
 * exist; it cannot run a network, so forwards on one are refused with the reason.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  NetworkConfigSchema,
  type NetworkConfig,
  type NetworkForward,
  type NetworkSummary,
} from '../../../common/contract';
import { VivariumError } from '../errors';
import { readJsonFile } from '../library/atomic-file';
import type { NetworkPort } from './forwards';

export class StoredNetworks implements NetworkPort {
  constructor(private readonly dir: string) {}

  async list(): Promise<NetworkSummary[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: NetworkSummary[] = [];
    for (const name of names) {
      const config = await readJsonFile(join(this.dir, name, 'network.json'))
        .then((raw) => NetworkConfigSchema.parse(raw))
        .catch(() => null);
      if (config) out.push(summary(config));
    }
    return out;
  }

  async get(name: string): Promise<NetworkSummary> {
    const found = (await this.list()).find((n) => n.config.name === name);
    if (!found) {
      throw new VivariumError(
        'NOT_FOUND',
        `There is no network called "${name}": create it first, or attach the card elsewhere`,
      );
    }
    return found;
  }

  requireNetwork(name: string): Promise<unknown> {
    return this.get(name);
  }

  addForward(network: string, _forward: NetworkForward): Promise<{ live: boolean }> {
    return Promise.reject(notYet(network));
  }

  removeForward(network: string): Promise<NetworkForward> {
    return Promise.reject(notYet(network));
  }
}

function summary(config: NetworkConfig): NetworkSummary {
  return { config, running: false, gateway: null, members: [] };
}

function notYet(network: string): VivariumError {
  return new VivariumError(
    'INVALID_REQUEST',
    `Forwards on the network "${network}" need its router, which this build cannot run yet: forward to a NAT card instead`,
  );
}
