import type { HardwareProfile, ResourceSpec } from '../../common/contract';

/**
 * What a test-only catalogue entry says beyond the common part: its id, name and versions, and
 * any other top-level field of a catalogue file's entry (description, homepage, aliases, detect,
 * notes, ...), which is copied as given.
 */
export interface CatalogEntryParts {
  id: string;
  name: string;
  versions: unknown[];
  description?: string;
  /** Changes to the hardware profile (q35, BIOS, virtio disk, e1000, std video, HDA, tablet). */
  profile?: Partial<HardwareProfile>;
  /** Changes to the minimum resources (128 MiB, 1 CPU, no disk). */
  minimum?: Partial<ResourceSpec>;
  /** Changes to the recommended resources (256 MiB, 1 CPU, 1 GiB disk). */
  recommended?: Partial<ResourceSpec>;
  [field: string]: unknown;
}

/**
 * A catalogue entry as a catalogue file holds it (for VIVARIUM_CATALOG_EXTRA or the engine's
 * catalog.extraFiles): a Linux x86_64 entry from the vendor "Vivarium tests" with the tiny test
 * guest's hardware, plus the parts the test names.
 */
export function catalogEntry(parts: CatalogEntryParts): Record<string, unknown> {
  const { id, name, versions, description, profile, minimum, recommended, ...more } = parts;
  return {
    id,
    name,
    vendor: 'Vivarium tests',
    family: 'linux',
    description: description ?? 'The tiny busybox guest the tests build.',
    logo: 'linux',
    architectures: ['x86_64'],
    profile: {
      machine: 'q35',
      firmware: 'bios',
      diskBus: 'virtio',
      nicModel: 'e1000',
      video: 'std',
      sound: 'hda',
      input: 'usb-tablet',
      ...profile,
    },
    resources: {
      minimum: { memoryMiB: 128, cpus: 1, diskGiB: 0, ...minimum },
      recommended: { memoryMiB: 256, cpus: 1, diskGiB: 1, ...recommended },
    },
    versions,
    ...more,
  };
}
