import { CONFIG_VERSION, VmConfigSchema, type VmConfig } from '../../../common/contract';
import { macFromVmId } from '../../../common/rules/networks';
import { VivariumError } from '../errors';

/** Pure vN -> vN+1 steps, indexed by the version they upgrade from. */
const steps: Record<number, (raw: Record<string, unknown>) => Record<string, unknown>> = {
  /**
   * v1 had one `network` (user-mode NAT or none); v2 has a list of cards, each with its own MAC.
   * A card that never had a MAC keeps the one QEMU was given, derived from the VM's id.
   */
  1: (raw) => {
    const { network, ...rest } = raw;
    const net = (typeof network === 'object' && network !== null ? network : {}) as Record<
      string,
      unknown
    >;
    if (net.mode === 'none') return { ...rest, configVersion: 2, nics: [] };
    const mac = typeof net.mac === 'string' ? net.mac : macFromVmId(String(raw.id));
    const nic = {
      model: net.model ?? 'virtio-net-pci',
      mac,
      attach: {
        kind: 'nat',
        forwards: Array.isArray(net.portForwards) ? net.portForwards : [],
        internet: net.internet ?? true,
      },
    };
    return { ...rest, configVersion: 2, nics: [nic] };
  },
  /**
   * v3 versions the devices every VM gets (DEVICE_LAYOUT_LATEST): a VM made before keeps the
   * layout its saved state and live snapshots were taken with.
   */
  2: (raw) => ({ ...raw, configVersion: 3, layout: 1 }),
};

/** Brings a stored config to the current version and validates it; refuses configs from a newer app. */
export function migrateConfig(raw: unknown, source = 'vm.json'): VmConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new VivariumError('INVALID_REQUEST', `${source} is not a VM configuration object`);
  }
  let config = raw as Record<string, unknown>;
  let version = typeof config.configVersion === 'number' ? config.configVersion : 1;
  if (version > CONFIG_VERSION) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `${source} was written by a newer Vivarium (config version ${version}); update Vivarium to open it.`,
    );
  }
  while (version < CONFIG_VERSION) {
    const step = steps[version];
    if (!step) throw new VivariumError('INTERNAL', `No migration from config version ${version}`);
    config = step(config);
    version += 1;
  }
  const parsed = VmConfigSchema.safeParse({ ...config, configVersion: version });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VivariumError(
      'INVALID_REQUEST',
      `${source} is invalid at ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'unknown'} (a backup may be in vm.json.bak)`,
    );
  }
  return parsed.data;
}
