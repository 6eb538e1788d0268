/** The last step: vm.create with the user's choices, the chosen disk, then start or customize. */
import type { CreateVmRequest, MediaDownloadResult, VmSummary } from '../../../../common/contract';
import { getBridge, toApiError } from '../../bridge';
import { cloudCreate } from '../../features/wizard/cloud';
import { diskSizeText } from '../../features/wizard/lib';
import { derive, type Derived } from '../../features/wizard/model';
import { useHostStore } from '../../stores/host';
import { upsertVm, useLibraryStore } from '../../stores/library';
import { useTasksStore } from '../../stores/tasks';
import type { DiskMode, WizardStep } from '../../stores/wizard';
import { notify } from '../notifications';
import { applyTaskEvent } from '../tasks';
import { closeDialog, openVm } from '../ui';
import { startDownload } from './media';
import { get, notifyNext, set, takenNames, waitForTask } from './shared';
import { goToStep } from './steps';

/** Which step a field the engine refused lives on. */
const FIELD_STEP: Record<string, WizardStep> = {
  name: 'name',
  memoryMiB: 'resources',
  cpus: 'resources',
  diskSize: 'resources',
  iso: 'media',
  os: 'os',
  'cloud.image': 'media',
  cloud: 'account',
  network: 'account',
};

/** The step of a field the engine named ('cloud.sshKeys.0' is on the account step). */
function fieldStep(field: string): WizardStep | undefined {
  const parts = field.split('.');
  return FIELD_STEP[parts.slice(0, 2).join('.')] ?? FIELD_STEP[parts[0]!];
}

function current(): Derived {
  const host = useHostStore.getState().info;
  return derive(
    get(),
    useTasksStore.getState().tasks,
    takenNames(),
    host?.totalMemoryMiB ?? null,
    host,
  );
}

/**
 * vm.create with the profile's os and the user's choices, then the disk they asked for, then
 * (for "Create and start") vm.start. Opens the VM's Display tab, or Settings to customize. A
 * ready-to-use guest first gets its cloud image (downloaded and verified unless cached), and
 * opens on its Overview, where its "Ready" line and ssh command appear.
 */
export async function createFromWizard(then: 'start' | 'customize'): Promise<void> {
  const s = get();
  if (s.creating) return;
  const d = current();
  const blocked = d.steps.find((step) => d.blockers[step]);
  if (blocked) {
    goToStep(blocked);
    return;
  }
  if (!d.defaults) return;
  const cloud = s.setup === 'cloud';
  // Another architecture: the profile's hardware as that architecture's preset has it (what the
  // summary showed), said explicitly since the profiles themselves are x86's.
  const otherArch = d.arch.arch !== 'x86_64' && d.hardware;
  const request: CreateVmRequest = {
    name: s.name.trim(),
    os: d.defaults.os,
    memoryMiB: s.memoryMiB,
    cpus: s.cpus,
    diskSize: cloud || s.diskMode === 'new' ? diskSizeText(s.diskGiB) : '0',
    ...(otherArch ? { arch: d.arch.arch, ...otherArch } : {}),
  };
  if (!cloud && d.media.file && s.mediaKind !== 'none') request.iso = d.media.file;
  set({ creating: then, createError: null });

  if (cloud) {
    const image = await cloudImage();
    if (!image) return;
    request.cloud = cloudCreate(
      s.account,
      d.account.guestDefaults,
      request.name,
      image,
      s.cloudDisk,
    );
  }

  let vm: VmSummary;
  const api = getBridge();
  try {
    vm = await api.call('vm.create', request);
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, vm) }));
  } catch (err) {
    const e = toApiError(err);
    const fields = e.fields ?? {};
    const step = Object.keys(fields).map(fieldStep).find(Boolean);
    set({ creating: null, createError: { message: e.message, fields }, ...(step ? { step } : {}) });
    if (step === 'name') return; // the field says it; nothing else to do
    notifyNext(
      'Couldn’t create the VM',
      e,
      step
        ? 'The wizard shows the field to change.'
        : 'Change the choices in the wizard and try again.',
    );
    return;
  }

  // The disk the user chose instead of a new one.
  const diskOk =
    cloud || (await attachChosenDisk(vm, s.diskMode, s.diskFile.trim(), d.defaults.diskBus));
  const name = vm.name;
  if (then === 'customize' || !diskOk) {
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'settings');
    notify(
      {
        kind: 'info',
        title: `Created “${name}”`,
        message: cloud
          ? 'Adjust its settings, then start it from the top bar: its first boot sets it up, ready to ssh into.'
          : 'Adjust its settings, then start it from the top bar to see the installer.',
      },
      8000,
    );
    return;
  }
  try {
    const started = await api.call('vm.start', { vm: vm.id });
    useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, started) }));
    set({ creating: null });
    closeDialog();
    openVm(vm.id, cloud ? 'overview' : 'display');
    notify(
      {
        kind: 'info',
        title: `Started “${name}”`,
        message: cloud
          ? 'Its first boot sets it up (cloud-init). This tab shows the ssh command once it answers.'
          : request.iso
            ? 'Its installer appears on this tab. When the install is done, use “Eject install media and boot from disk” on the Overview tab.'
            : 'Its screen appears on this tab.',
      },
      9000,
    );
  } catch (err) {
    set({ creating: null });
    closeDialog();
    openVm(vm.id, 'overview');
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `“${name}” was created but did not start`,
      message: `${e.message} Its Overview shows what QEMU said: fix it in Settings, then start it.`,
      code: e.code,
      action: { type: 'openVm', vmId: vm.id, tab: 'settings', label: 'Open its settings' },
    });
  }
}

/**
 * The cached cloud image's path: the one already verified, the download under way, or a new
 * download (its progress shows in the wizard). Null, with the reason shown, when it failed.
 */
async function cloudImage(): Promise<string | null> {
  const d = current();
  if (d.media.file) return d.media.file;
  if (!d.media.downloading) await startDownload();
  const id = get().downloadTaskId;
  const task = id ? useTasksStore.getState().tasks[id] : undefined;
  if (!id || !task) {
    // startDownload said why (a notification and the media step's message).
    set({
      creating: null,
      step: 'media',
      createError: { message: get().downloadError ?? 'The download did not start.', fields: {} },
    });
    return null;
  }
  const done = await waitForTask(id);
  const file =
    done.state === 'succeeded' ? ((done.result as MediaDownloadResult | null)?.file ?? null) : null;
  if (file) return file;
  const message =
    done.state === 'cancelled'
      ? 'The cloud image’s download was cancelled: download it again to create the VM.'
      : `The cloud image could not be downloaded: ${done.error?.message ?? 'the download failed'}. Try again; it resumes where it stopped.`;
  set({ creating: null, step: 'media', createError: { message, fields: {} } });
  return null;
}

async function attachChosenDisk(
  vm: VmSummary,
  mode: DiskMode,
  file: string,
  bus: VmSummary['config']['disks'][number]['bus'],
): Promise<boolean> {
  if (mode !== 'existing' && mode !== 'import') return true;
  const api = getBridge();
  try {
    if (mode === 'existing') {
      const updated = await api.call('disk.add', { vm: vm.id, file, bus });
      useLibraryStore.setState((st) => ({ vms: upsertVm(st.vms, updated) }));
      return true;
    }
    const task = await api.call('disk.import', { vm: vm.id, file, bus });
    applyTaskEvent(task);
    const done = await waitForTask(task.id);
    if (done.state === 'succeeded') return true;
    notify({
      kind: 'error',
      title: `“${vm.name}” was created, but its disk was not imported`,
      message: `${done.error?.message ?? 'The import did not finish.'} Add a disk in its Settings, then start it.`,
    });
    return false;
  } catch (err) {
    const e = toApiError(err);
    notify({
      kind: 'error',
      title: `“${vm.name}” was created, but its disk was not attached`,
      message: `${e.message} Add a disk in its Settings, then start it.`,
      code: e.code,
    });
    return false;
  }
}
