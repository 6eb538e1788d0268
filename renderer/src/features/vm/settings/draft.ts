/**
 * The Settings form's model, without React: a VM config becomes an editable draft (text where the
 * user types), and a draft becomes the patch vm.update takes (only what changed) with one error
 * per field. The rules are the engine's own, from common/rules.
 */
import { archConfigProblem, archDefaults, archPreset } from '../../../../../common/arch';
import type { HostInfo, VmArch, VmConfig, VmPatch } from '../../../../../common/contract';
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
  arch: VmConfig['arch'];
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
    arch: c.arch,
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
  if (d.arch !== c.arch) patch.arch = d.arch;
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
  // What the architecture's machine lacks; disks and cards move with an architecture change
  // (the engine gives them the new preset's bus), so only the form's own fields are checked.
  const archProblem = archConfigProblem({
    arch: draft.arch,
    machine: draft.machine,
    firmware: draft.firmware,
    video: draft.video,
    sound: draft.sound,
    tpm: draft.tpm,
    secureBoot: draft.secureBoot,
    disks: draft.arch === base.arch ? base.disks : [],
    nics: draft.arch === base.arch ? base.nics : [],
    kernelBoot: draft.kernelOn ? true : null,
  });
  if (archProblem) schemaErrors['arch'] ??= archProblem;
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

/**
 * The draft moved to another architecture: back to the VM's own values when it returns to its
 * own, else what of them the new preset has and the preset's choice for the rest (a firmware that
 * boots media unless a kernel is given directly).
 */
export function draftForArch(d: Draft, base: VmConfig, arch: VmArch): Draft {
  if (arch === base.arch) {
    const own = draftOf(base);
    const { machine, firmware, video, sound, tpm, secureBoot, cpuModel } = own;
    return { ...d, arch, machine, firmware, video, sound, tpm, secureBoot, cpuModel };
  }
  const p = archPreset(arch);
  const a = archDefaults(arch);
  const keep = <V>(list: readonly V[], value: V, fallback: V): V =>
    list.includes(value) ? value : fallback;
  const bootable = p.firmwares.find((f) => p.firmwareBootsMedia[f]) ?? a.firmware;
  const firmware = keep(p.firmwares, d.firmware, a.firmware);
  return {
    ...d,
    arch,
    machine: keep(p.machines, d.machine, a.machine),
    firmware: d.kernelOn || p.firmwareBootsMedia[firmware] ? firmware : bootable,
    video: keep(p.videos, d.video, a.video),
    sound: keep(p.sounds, d.sound, a.sound),
    tpm: d.tpm && p.tpm,
    secureBoot: d.secureBoot && p.secureBoot,
    cpuModel: a.cpuModel,
  };
}
