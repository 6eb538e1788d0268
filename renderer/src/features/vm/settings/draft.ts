/**
 * The Settings form's model, without React: a VM config becomes an editable draft (text where the
 * user types), and a draft becomes the patch vm.update takes (only what changed) with one error
 * per field. The rules are the engine's own, from common/rules.
 */
import type { HostInfo, VmConfig, VmPatch } from '../../../../../common/contract';
import {
  fieldsNeedingStop,
  hostCpuProblem,
  hostMemoryProblem,
  SECURE_BOOT_NEEDS,
  secureBootFits,
} from '../../../../../common/rules/vm-settings';
import { fieldErrors } from '../../../../../common/validation';
import { VmPatchSchema, type BOOT_DEVICES } from '../../../lib/schemas';

export type Boot = (typeof BOOT_DEVICES)[number];

/** The form's state: text where the user types, parsed into a patch on every change. */
export interface Draft {
  name: string;
  notes: string;
  confirmDestructive: boolean;
  memoryMiB: string;
  cpuCount: string;
  cpuModel: string;
  machine: VmConfig['machine'];
  firmware: VmConfig['firmware'];
  cdrom: string;
  bootOrder: Boot[];
  video: VmConfig['video'];
  sound: VmConfig['sound'];
  usbTablet: boolean;
  balloon: boolean;
  tpm: boolean;
  secureBoot: boolean;
  accel: VmConfig['accel'];
  kernelOn: boolean;
  kernel: string;
  initrd: string;
  append: string;
  extraArgs: string;
}

export function draftOf(c: VmConfig): Draft {
  return {
    name: c.name,
    notes: c.notes,
    confirmDestructive: c.confirmDestructive,
    memoryMiB: String(c.memoryMiB),
    cpuCount: String(c.cpu.count),
    cpuModel: c.cpu.model,
    machine: c.machine,
    firmware: c.firmware,
    cdrom: c.cdrom ?? '',
    bootOrder: [...c.bootOrder],
    video: c.video,
    sound: c.sound,
    usbTablet: c.usbTablet,
    balloon: c.balloon,
    tpm: c.tpm,
    secureBoot: c.secureBoot,
    accel: c.accel,
    kernelOn: c.kernelBoot !== null,
    kernel: c.kernelBoot?.kernel ?? '',
    initrd: c.kernelBoot?.initrd ?? '',
    append: c.kernelBoot?.append ?? '',
    extraArgs: c.extraArgs.join('\n'),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Only what changed, plus errors for text that is not a number at all. */
export function patchOf(d: Draft, c: VmConfig): { patch: VmPatch; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const patch: VmPatch = {};
  const int = (raw: string, key: string): number => {
    const t = raw.trim();
    if (!/^-?\d+$/.test(t)) {
      errors[key] = 'Enter a whole number';
      return NaN;
    }
    return Number(t);
  };
  if (d.name !== c.name) patch.name = d.name;
  if (d.notes !== c.notes) patch.notes = d.notes;
  if (d.confirmDestructive !== c.confirmDestructive) {
    patch.confirmDestructive = d.confirmDestructive;
  }
  const mem = int(d.memoryMiB, 'memoryMiB');
  if (mem !== c.memoryMiB && !errors['memoryMiB']) patch.memoryMiB = mem;
  const cpus = int(d.cpuCount, 'cpuCount');
  if (cpus !== c.cpu.count && !errors['cpuCount']) patch.cpuCount = cpus;
  if (d.cpuModel !== c.cpu.model) patch.cpuModel = d.cpuModel;
  if (d.machine !== c.machine) patch.machine = d.machine;
  if (d.firmware !== c.firmware) patch.firmware = d.firmware;
  const cdrom = d.cdrom.trim() === '' ? null : d.cdrom.trim();
  if (cdrom !== c.cdrom) patch.cdrom = cdrom;
  if (!same(d.bootOrder, c.bootOrder)) patch.bootOrder = d.bootOrder;
  if (d.video !== c.video) patch.video = d.video;
  if (d.sound !== c.sound) patch.sound = d.sound;
  if (d.usbTablet !== c.usbTablet) patch.usbTablet = d.usbTablet;
  if (d.balloon !== c.balloon) patch.balloon = d.balloon;
  if (d.tpm !== c.tpm) patch.tpm = d.tpm;
  if (d.secureBoot !== c.secureBoot) patch.secureBoot = d.secureBoot;
  if (d.accel !== c.accel) patch.accel = d.accel;
  const kernelBoot = d.kernelOn
    ? {
        kernel: d.kernel.trim(),
        ...(d.initrd.trim() ? { initrd: d.initrd.trim() } : {}),
        append: d.append,
      }
    : null;
  if (!same(kernelBoot, c.kernelBoot)) patch.kernelBoot = kernelBoot;
  const extra = d.extraArgs
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (!same(extra, c.extraArgs)) patch.extraArgs = extra;
  return { patch, errors };
}

/** What the form shows about a draft: the patch, its errors and why it cannot be saved now. */
export interface DraftCheck {
  patch: VmPatch;
  /** Dotted field path -> message (the contract's, the host's and the form's own). */
  errors: Record<string, string>;
  /** The fields the patch changes. */
  changed: string[];
  /** Changed fields a VM with a QEMU process refuses (empty while it is off). */
  blocked: string[];
  valid: boolean;
}

/**
 * Checks a draft as vm.update will: the contract's schema, what this host has, Secure Boot's
 * firmware, and (when `qemuRunning`) the fields that need the VM shut down.
 */
export function checkDraft(
  draft: Draft,
  base: VmConfig,
  host: Pick<HostInfo, 'totalMemoryMiB' | 'cpus'> | null,
  qemuRunning: boolean,
): DraftCheck {
  const { patch, errors } = patchOf(draft, base);
  const parsed = VmPatchSchema.safeParse(patch);
  const schemaErrors = parsed.success ? {} : fieldErrors(parsed.error.issues);
  if (patch.memoryMiB !== undefined && host) {
    const problem = hostMemoryProblem(patch.memoryMiB, host.totalMemoryMiB);
    if (problem) schemaErrors['memoryMiB'] ??= problem;
  }
  if (patch.cpuCount !== undefined && host) {
    const problem = hostCpuProblem(patch.cpuCount, host.cpus);
    if (problem) schemaErrors['cpuCount'] ??= problem;
  }
  if (draft.secureBoot && !secureBootFits(draft)) schemaErrors['secureBoot'] ??= SECURE_BOOT_NEEDS;
  const allErrors = { ...schemaErrors, ...errors };
  const changed = Object.keys(patch);
  return {
    patch,
    errors: allErrors,
    changed,
    blocked: qemuRunning ? fieldsNeedingStop(changed) : [],
    valid: Object.keys(allErrors).length === 0,
  };
}
