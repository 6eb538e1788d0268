/** The contract's CD and USB methods, on the removable-device services. */
import type { CdromService } from '../devices/cdrom';
import type { UsbService } from '../devices/usb';
import type { HandlerGroup } from './handlers';

export type RemovableMethod =
  | 'cdrom.get'
  | 'cdrom.insert'
  | 'cdrom.eject'
  | 'usb.host'
  | 'usb.list'
  | 'usb.attach'
  | 'usb.detach';

export function removableHandlers(
  cdrom: CdromService,
  usb: UsbService,
): HandlerGroup<RemovableMethod> {
  return {
    'cdrom.get': ({ vm }) => cdrom.get(vm),
    'cdrom.insert': ({ vm, file }) => cdrom.insert(vm, file),
    'cdrom.eject': ({ vm }) => cdrom.eject(vm),
    'usb.host': () => usb.host(),
    'usb.list': ({ vm }) => usb.list(vm),
    'usb.attach': ({ vm, device }) => usb.attach(vm, device),
    'usb.detach': ({ vm, device }) => usb.detach(vm, device),
  };
}
