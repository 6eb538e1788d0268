/**
 * Network configs on disk: `<home>/networks/<id>/network.json`, one folder per network (ids make
 * paths, names are for people). Written atomically, private to the user. Names are unique
 * whatever their case and subnets never overlap: both checked against the disk, under the
 * library lock, so two processes creating at once make one network, not two.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  NETWORK_CONFIG_VERSION,
  NetworkConfigSchema,
  type NetworkConfig,
} from '../../../common/contract/networks';
import { parseSubnet, subnetsOverlap } from '../../../common/rules/networks';
import { VivariumError } from '../errors';
import { isNodeError, readJsonFile, writeFileAtomic } from '../library/atomic-file';
import type { EnginePaths } from '../paths';

const NETWORK_DIR = /^[0-9a-f]{12}$/;

/** Names compare like VM names: case and surrounding spaces do not make a new one. */
export function networkKey(name: string): string {
  return name.trim().toLowerCase();
}

export function networksDir(paths: EnginePaths): string {
  return join(paths.home, 'networks');
}

export function networkDir(paths: EnginePaths, id: string): string {
  return join(networksDir(paths), id);
}

export function networkConfigFile(paths: EnginePaths, id: string): string {
  return join(networkDir(paths, id), 'network.json');
}

/** Why `candidate` cannot sit beside `others` (name taken, subnet overlapping), or null. */
export function networkConflict(
  candidate: Pick<NetworkConfig, 'id' | 'name' | 'subnet'>,
  others: readonly NetworkConfig[],
): { field: 'name' | 'subnet'; message: string } | null {
  const mine = parseSubnet(candidate.subnet);
  for (const other of others) {
    if (other.id === candidate.id) continue;
    if (networkKey(other.name) === networkKey(candidate.name)) {
      return {
        field: 'name',
        message: `A network called "${other.name}" already exists: pick another name.`,
      };
    }
    const theirs = parseSubnet(other.subnet);
    if (mine.ok && theirs.ok && subnetsOverlap(mine.value, theirs.value)) {
      return {
        field: 'subnet',
        message: `${mine.value.cidr} overlaps ${other.subnet} of the network "${other.name}": pick another subnet (or leave it out for a free one).`,
      };
    }
  }
  return null;
}

export class NetworkStore {
  constructor(private readonly paths: EnginePaths) {}

  /** Every network on disk now; folders whose config cannot be read are left out. */
  async list(): Promise<NetworkConfig[]> {
    let names: string[];
    try {
      names = await readdir(networksDir(this.paths));
    } catch (err) {
      if (isNodeError(err) && err.code === 'ENOENT') return [];
      throw err;
    }
    const configs = await Promise.all(
      names.filter((n) => NETWORK_DIR.test(n)).map((id) => this.read(id).catch(() => null)),
    );
    return configs
      .filter((c): c is NetworkConfig => c !== null)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async read(id: string): Promise<NetworkConfig> {
    return NetworkConfigSchema.parse(await readJsonFile(networkConfigFile(this.paths, id)));
  }

  /** By id, then exact name, then name ignoring case. */
  async find(ref: string): Promise<NetworkConfig | null> {
    const all = await this.list();
    return (
      all.find((n) => n.id === ref) ??
      all.find((n) => n.name === ref) ??
      all.find((n) => networkKey(n.name) === networkKey(ref)) ??
      null
    );
  }

  newConfig(fields: Pick<NetworkConfig, 'name' | 'subnet' | 'dhcp' | 'nat'>): NetworkConfig {
    return NetworkConfigSchema.parse({
      configVersion: NETWORK_CONFIG_VERSION,
      id: randomBytes(6).toString('hex'),
      ...fields,
      forwards: [],
      createdAt: new Date().toISOString(),
    });
  }

  /** Writes a config (new or changed) after checking it against every other network on disk. */
  async write(config: NetworkConfig): Promise<NetworkConfig> {
    const parsed = NetworkConfigSchema.parse(config);
    const conflict = networkConflict(parsed, await this.list());
    if (conflict) {
      throw new VivariumError(
        conflict.field === 'name' ? 'NAME_TAKEN' : 'INVALID_REQUEST',
        conflict.message,
        { [conflict.field]: conflict.message },
      );
    }
    await mkdir(networksDir(this.paths), { recursive: true, mode: 0o700 });
    await mkdir(networkDir(this.paths, parsed.id), { recursive: true, mode: 0o700 });
    await writeFileAtomic(
      networkConfigFile(this.paths, parsed.id),
      `${JSON.stringify(parsed, null, 2)}\n`,
    );
    return parsed;
  }

  async remove(id: string): Promise<void> {
    if (!NETWORK_DIR.test(id)) throw new VivariumError('INTERNAL', `Not a network id: ${id}`);
    await rm(networkDir(this.paths, id), { recursive: true, force: true });
  }
}
