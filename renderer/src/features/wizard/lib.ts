import {
  DISK_BUS_LABELS,
  FIRMWARE_LABELS,
  MACHINE_LABELS,
  NIC_MODEL_LABELS,
  SOUND_MODEL_LABELS,
  VIDEO_MODEL_LABELS,
} from '../../../../common/labels';
/**
 * Pure helpers of the New-VM wizard: names, sizes, resource checks. No React, no engine calls.
 */
import type {
  CatalogEntry,
  CatalogVersion,
  CreateDefaults,
  DetectionCandidate,
  MediaSpec,
  OsFamily,
} from '../../../../common/contract';
import { formatMemory } from '../../../../common/format';
import { nameCharactersProblem, nameKey } from '../../../../common/rules/vm-names';

/** The family filter chips, in order; `all` shows everything. */
export const FAMILY_CHIPS: ReadonlyArray<{ id: OsFamily | 'all'; label: string }> = [
  { id: 'all', label: 'All' },
  { id: 'linux', label: 'Linux' },
  { id: 'windows', label: 'Windows' },
  { id: 'bsd', label: 'BSD' },
  { id: 'solaris', label: 'Solaris' },
  { id: 'dos', label: 'DOS' },
  { id: 'alternative', label: 'Alternative' },
  { id: 'other', label: 'Other' },
];

export const GENERIC_ID = 'generic';

/** 'Debian 13 "trixie"' -> 'Debian 13'; 'Arch Linux (monthly image)' -> 'Arch Linux'. */
export function baseName(name: string): string {
  const short = name
    .replace(/\s*"[^"]*"/g, '')
    .replace(/\s*“[^”]*”/g, '')
    .replace(/\s*\([^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return short || name.trim();
}

/** A name for the VM from the OS, made unique against `taken` (case-insensitively, as the engine). */
export function suggestName(base: string, taken: readonly string[]): string {
  const used = new Set(taken.map((n) => n.toLocaleLowerCase()));
  const clean = (base.trim() || 'New VM').slice(0, 70);
  if (!used.has(clean.toLocaleLowerCase())) return clean;
  for (let i = 2; ; i++) {
    const candidate = `${clean} (${i})`;
    if (!used.has(candidate.toLocaleLowerCase())) return candidate;
  }
}

/** The engine's name rules (VmNameSchema), checked here so the field answers as one types. */
export function nameProblem(name: string, taken: readonly string[]): string | null {
  const n = name.trim();
  if (!n) return 'Give the VM a name';
  if (n.length > 80) return 'Keep the name under 80 characters';
  const chars = nameCharactersProblem(n);
  if (chars) return chars;
  const folded = nameKey(n);
  const clash = taken.find((t) => nameKey(t) === folded);
  if (clash) return `A VM called “${clash}” already exists: pick another name`;
  return null;
}

/** A file's name without its folder and extension: '/x/debian-13.1.0-amd64.iso' -> 'debian-13.1.0-amd64'. */
export function fileStem(path: string): string {
  const file = path.split(/[\\/]/).pop() ?? path;
  return file.replace(/\.(iso|img|raw|qcow2|vmdk|vdi|vhdx?)$/i, '') || file;
}

export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** '32G' -> 32, '512M' -> 0.5, '0' -> 0 (what `catalog.defaults` gives as diskSize). */
export function diskSizeGiB(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)/i.exec(size.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const factor = unit === 'T' ? 1024 : unit === 'M' ? 1 / 1024 : unit === 'K' ? 1 / 1024 ** 2 : 1;
  return Math.round(n * factor * 100) / 100;
}

/** What `vm.create` takes for a disk of `gib`: '20G', '1536M', or '0'. */
export function diskSizeText(gib: number): string {
  if (gib <= 0) return '0';
  return Number.isInteger(gib) ? `${gib}G` : `${Math.ceil(gib * 1024)}M`;
}

/** Versions a person can pick: everything but legacy ones, unless that is all there is. */
export function pickableVersions(entry: CatalogEntry): CatalogVersion[] {
  const offered = entry.versions.filter((v) => v.status !== 'legacy');
  return offered.length ? offered : entry.versions;
}

export function defaultVersionId(entry: CatalogEntry): string | null {
  return pickableVersions(entry)[0]?.id ?? null;
}

/** Install media Vivarium can fetch by itself (has URLs), x86_64 first; cloud images are not. */
export function downloadableMedia(version: CatalogVersion | undefined): MediaSpec[] {
  return fetchable(version).filter((m) => m.kind !== 'cloud');
}

/** Cloud images Vivarium can fetch for the version (ready-to-use guests), x86_64 first. */
export function cloudMedia(version: CatalogVersion | undefined): MediaSpec[] {
  return fetchable(version).filter((m) => m.kind === 'cloud');
}

function fetchable(version: CatalogVersion | undefined): MediaSpec[] {
  if (!version) return [];
  return version.media
    .filter((m) => m.urls.length > 0)
    .sort((a, b) => (a.arch === b.arch ? 0 : a.arch === 'x86_64' ? -1 : 1));
}

/** A media's host, for "from cdimage.debian.org". */
export function mediaHost(m: MediaSpec): string | null {
  const url = m.urls[0];
  if (!url) return null;
  try {
    return new URL(url.replace(/\{[^}]*\}/g, 'x')).host;
  } catch {
    return null;
  }
}

export const CONFIDENCE: Record<
  DetectionCandidate['confidence'],
  { label: string; tone: 'good' | 'warn' | 'neutral'; explain: string }
> = {
  exact: {
    label: 'Exact match',
    tone: 'good',
    explain: 'The image names this OS and version.',
  },
  family: {
    label: 'OS recognised',
    tone: 'warn',
    explain: 'The OS is clear; the exact version is not, so its current profile is used.',
  },
  none: {
    label: 'Not recognised',
    tone: 'neutral',
    explain:
      'Nothing in the catalogue matched, so the VM gets the Generic profile: hardware almost every PC OS has drivers for. You can go on, or pick the OS yourself for a better fit.',
  },
};

export type Severity = 'error' | 'warn' | 'info';
export interface Check {
  severity: Severity;
  message: string;
}

/**
 * What to say next to each resource field. Errors are what the engine would refuse (more than
 * the host has); warnings are advice (below the OS's minimum, little left for the host). A cloud
 * image's disk only grows, so for one the OS's minimum disk is a floor.
 */
export function resourceChecks(
  d: CreateDefaults,
  osName: string,
  values: { memoryMiB: number; cpus: number; diskGiB: number | null },
  hostMemoryMiB: number | null,
  cloud = false,
): { memory: Check[]; cpus: Check[]; disk: Check[] } {
  const memory: Check[] = [];
  const cpus: Check[] = [];
  const disk: Check[] = [];
  const m = d.limits.memoryMiB;
  const hostMiB = hostMemoryMiB ?? m.max;
  if (!Number.isFinite(values.memoryMiB) || values.memoryMiB < 16) {
    memory.push({ severity: 'error', message: 'Give the VM at least 16 MiB.' });
  } else if (values.memoryMiB > hostMiB) {
    memory.push({
      severity: 'error',
      message: `This computer has ${formatMemory(hostMiB)}: give the VM less.`,
    });
  } else {
    if (values.memoryMiB < m.min) {
      memory.push({
        severity: 'warn',
        message: `Below ${osName}’s minimum of ${formatMemory(m.min)}: ${cloud ? 'the guest' : 'the installer'} may fail or crawl.`,
      });
    } else if (values.memoryMiB < m.recommended) {
      memory.push({
        severity: 'info',
        message: `${osName} runs better with ${formatMemory(m.recommended)}.`,
      });
    }
    if (values.memoryMiB > hostMiB * 0.75) {
      memory.push({
        severity: 'warn',
        message: `That leaves this computer only ${formatMemory(hostMiB - values.memoryMiB)} for itself and other VMs.`,
      });
    }
  }
  const c = d.limits.cpus;
  if (!Number.isInteger(values.cpus) || values.cpus < 1) {
    cpus.push({ severity: 'error', message: 'A VM needs at least one CPU.' });
  } else if (values.cpus > c.max) {
    cpus.push({
      severity: 'error',
      message: `This computer has ${c.max} CPUs: give the VM at most ${c.max}.`,
    });
  } else if (values.cpus < c.min) {
    cpus.push({ severity: 'warn', message: `${osName} wants at least ${c.min} CPUs.` });
  } else if (values.cpus === c.max && c.max > 1) {
    cpus.push({
      severity: 'info',
      message: 'All of this computer’s CPUs: it may feel slow while the VM is busy.',
    });
  }
  const g = d.limits.diskGiB;
  if (values.diskGiB !== null) {
    if (!Number.isFinite(values.diskGiB) || values.diskGiB <= 0) {
      disk.push({ severity: 'error', message: 'Give the disk a size, or choose “No disk”.' });
    } else {
      if (cloud && values.diskGiB < g.min) {
        disk.push({
          severity: 'error',
          message: `The cloud image’s disk can only grow: give it at least ${g.min} GiB.`,
        });
      } else if (values.diskGiB < g.min) {
        disk.push({
          severity: 'warn',
          message: `Below ${osName}’s minimum of ${g.min} GiB: the installer may refuse it.`,
        });
      }
      if (g.free !== null && values.diskGiB > g.free) {
        disk.push({
          severity: 'warn',
          message: `Only ${g.free} GiB are free. The disk is thin (it grows as the guest writes), but it can run out of room.`,
        });
      }
    }
  }
  return { memory, cpus, disk };
}

export function worst(checks: readonly Check[]): Severity | null {
  if (checks.some((c) => c.severity === 'error')) return 'error';
  if (checks.some((c) => c.severity === 'warn')) return 'warn';
  if (checks.length) return 'info';
  return null;
}

/** Labels for the hardware the profile picks: the app's one vocabulary (common/labels.ts). */
export const HARDWARE_LABELS = {
  machine: MACHINE_LABELS,
  firmware: FIRMWARE_LABELS,
  diskBus: DISK_BUS_LABELS,
  nicModel: NIC_MODEL_LABELS,
  video: VIDEO_MODEL_LABELS,
  sound: SOUND_MODEL_LABELS,
} as const;
