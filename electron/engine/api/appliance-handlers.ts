/** The contract's appliance methods (OVA/OVF in and out), on the appliance service. */
import type { ApplianceService } from '../interop/ova/service';
import type { HandlerGroup } from './handlers';

export type ApplianceMethod = 'appliance.inspect' | 'appliance.import' | 'appliance.export';

export function applianceHandlers(appliances: ApplianceService): HandlerGroup<ApplianceMethod> {
  return {
    'appliance.inspect': ({ file }) => appliances.inspect(file),
    'appliance.import': ({ file, name }) => appliances.import(file, name),
    'appliance.export': ({ vm, file }) => appliances.export(vm, file),
  };
}
