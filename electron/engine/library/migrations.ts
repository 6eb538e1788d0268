import { CONFIG_VERSION, VmConfigSchema, type VmConfig } from '../../../common/contract';
import { VivariumError } from '../errors';

/** Pure vN -> vN+1 steps, indexed by the version they upgrade from. */
const steps: Record<number, (raw: Record<string, unknown>) => Record<string, unknown>> = {};

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
