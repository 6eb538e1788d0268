/**
 * The contract's zod schemas, for the views that validate forms as the engine will: Settings and
 * New VM. Only lazily loaded chunks may import this file, so zod stays out of the library's
 * initial bundle (tests/bench/ui.bench.ts checks the size).
 */
import './zod-config';

// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- values, on purpose: see above
export {
  BOOT_DEVICES,
  CloudCreateSchema,
  CreateVmRequestSchema,
  FIRMWARES,
  MACHINE_TYPES,
  migrationMethods,
  NIC_MODELS,
  SOUND_MODELS,
  VIDEO_MODELS,
  VmPatchSchema,
} from '../../../common/contract';
