/**
 * links.json: which VMs' disks are overlays on the frozen bases in a VM's folder (its linked
 * clones), and the other way round. A VM holding the base of a live clone cannot be deleted.
 * The freezing itself is storage/clones.ts's. Every write of a VM's links.json happens under
 * that VM's lock (Vm.locked), from a copy read under it.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { VivariumError } from '../errors';
import type { VmFiles } from '../paths';
import { fileExists, readJsonFile, writeFileAtomic } from './atomic-file';
import type { VmRegistry } from './registry';
import type { Vm } from './vm';

export const LinksSchema = z.object({
  version: z.literal(1).default(1),
  /** VMs whose disks are overlays on bases in this VM's folder. */
  clones: z
    .array(z.object({ id: z.string(), name: z.string(), bases: z.array(z.string()) }))
    .default([]),
  /** The VM whose bases this VM's disks are overlays on. */
  linkedTo: z.object({ id: z.string(), name: z.string() }).nullable().default(null),
  /** Disks of this VM that are overlays on its own frozen base (file name in the folder). */
  overlays: z.record(z.string(), z.string()).default({}),
});
export type Links = z.infer<typeof LinksSchema>;

export async function loadLinks(files: VmFiles): Promise<Links> {
  try {
    return LinksSchema.parse(await readJsonFile(files.linksFile));
  } catch {
    return LinksSchema.parse({});
  }
}

export async function saveLinks(files: VmFiles, links: Links): Promise<void> {
  await writeFileAtomic(files.linksFile, `${JSON.stringify(links, null, 2)}\n`, false);
}

/** Clones whose VM folder still exists (a deleted clone drops out here). */
export async function liveClones(registry: VmRegistry, links: Links): Promise<Links['clones']> {
  const alive = await Promise.all(
    links.clones.map((c) => fileExists(join(registry.paths.vmsDir, c.id, 'vm.json'))),
  );
  return links.clones.filter((_, i) => alive[i]);
}

export async function describeLinks(
  registry: VmRegistry,
  vm: Vm,
): Promise<{
  linkedClones: Array<{ id: string; name: string }>;
  linkedTo: { id: string; name: string } | null;
}> {
  const links = await loadLinks(vm.files);
  const clones = await liveClones(registry, links);
  const name = (id: string, fallback: string): string => {
    try {
      return registry.resolve(id).config.name;
    } catch {
      return fallback;
    }
  };
  return {
    linkedClones: clones.map((c) => ({ id: c.id, name: name(c.id, c.name) })),
    linkedTo: links.linkedTo
      ? { id: links.linkedTo.id, name: name(links.linkedTo.id, links.linkedTo.name) }
      : null,
  };
}

/** Refuses to delete a VM whose frozen disks are the base of linked clones (vm.delete calls it). */
export async function assertNotLinkedBase(registry: VmRegistry, vm: Vm): Promise<void> {
  const links = await loadLinks(vm.files);
  if (links.clones.length === 0) return;
  const clones = await liveClones(registry, links);
  if (clones.length !== links.clones.length) {
    // Read again under the VM's lock: a clone made meanwhile by another process stays listed.
    await vm.locked(async () => {
      const fresh = await loadLinks(vm.files);
      const alive = new Set(clones.map((c) => c.id));
      const gone = links.clones.filter((c) => !alive.has(c.id)).map((c) => c.id);
      await saveLinks(vm.files, {
        ...fresh,
        clones: fresh.clones.filter((c) => !gone.includes(c.id)),
      });
    });
  }
  if (clones.length === 0) return;
  const names = clones.map((c) => {
    try {
      return `"${registry.resolve(c.id).config.name}"`;
    } catch {
      return `"${c.name}"`;
    }
  });
  throw new VivariumError(
    'BAD_STATE',
    `"${vm.config.name}" holds the base disk of its linked clone${clones.length > 1 ? 's' : ''} ${names.join(', ')}: ` +
      'delete those first (or replace them with full clones), then delete it.',
  );
}
