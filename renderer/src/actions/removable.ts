/**
 * The VM's CD and USB devices: each call returns what the engine answered, or its refusal as a
 * message for the panel to show beside the control that asked (the panels keep no store: the
 * VM's config arrives with its `vm.state` event, the live facts are read when shown).
 */
import type {
  CdromChange,
  Params,
  RemovableResults,
  UsbAttachment,
  UsbHostList,
} from '../../../common/contract';
import { getBridge, toApiError, uploadFile, type UploadProgress } from '../bridge';
import { loadMedia } from './media';
import { notify } from './notifications';

export type Outcome<T> = { ok: true; value: T } | { ok: false; message: string };

async function attempt<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, message: toApiError(err).message };
  }
}

/** A short word that it worked; the panel shows the engine's note (a forced eject) itself. */
function announceCd(vmName: string, r: CdromChange, label: string | null): void {
  notify(
    {
      kind: 'info',
      title: r.medium === null ? `Ejected the CD of “${vmName}”` : `${label ?? 'The disc'} is in`,
      message:
        r.medium === null
          ? r.applied === 'live'
            ? 'Out of the running guest; it starts with an empty drive too.'
            : 'It starts with an empty drive.'
          : r.applied === 'live'
            ? 'In the running guest now, and kept for its next start.'
            : 'The VM has it when it starts.',
    },
    5000,
  );
}

export function insertCd(
  vm: { id: string; name: string },
  file: string,
  label: string | null,
): Promise<Outcome<CdromChange>> {
  return attempt(async () => {
    const r = await getBridge().call('cdrom.insert', { vm: vm.id, file });
    announceCd(vm.name, r, label);
    void loadMedia();
    return r;
  });
}

export function ejectCd(vm: { id: string; name: string }): Promise<Outcome<CdromChange>> {
  return attempt(async () => {
    const r = await getBridge().call('cdrom.eject', { vm: vm.id });
    announceCd(vm.name, r, null);
    void loadMedia();
    return r;
  });
}

/** Sends an ISO from the browser to the server's media cache (as the wizard does): its path there. */
export function uploadIsoForCd(
  file: File,
  onProgress: (p: UploadProgress) => void,
): { done: Promise<Outcome<string>>; abort: () => void } {
  const handle = uploadFile(file, onProgress);
  return {
    done: attempt(async () => {
      const r = await handle.done;
      void loadMedia();
      return r.file;
    }),
    abort: () => handle.abort(),
  };
}

export function loadHostUsb(): Promise<Outcome<UsbHostList>> {
  return attempt(() => getBridge().call('usb.host', {}));
}

export function loadVmUsb(vmId: string): Promise<Outcome<UsbAttachment[]>> {
  return attempt(() => getBridge().call('usb.list', { vm: vmId }));
}

export function attachUsb(
  vm: { id: string; name: string },
  device: Params<'usb.attach'>['device'],
): Promise<Outcome<RemovableResults['usb.attach']>> {
  return attempt(async () => {
    const r = await getBridge().call('usb.attach', { vm: vm.id, device });
    notify(
      {
        kind: 'info',
        title: `Attached ${r.attached.label}`,
        message:
          r.applied === 'live'
            ? `In “${vm.name}” now, and at its next start.`
            : `“${vm.name}” gets it at its next start.`,
      },
      5000,
    );
    return r;
  });
}

export function detachUsb(
  vm: { id: string; name: string },
  id: string,
): Promise<Outcome<RemovableResults['usb.detach']>> {
  return attempt(async () => {
    const r = await getBridge().call('usb.detach', { vm: vm.id, device: id });
    notify({ kind: 'info', title: `Detached ${r.detached.label}`, message: '' }, 4000);
    return r;
  });
}
