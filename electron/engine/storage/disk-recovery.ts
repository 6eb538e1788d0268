/**
 * Finishing or undoing disk work a kill interrupted (storage/disks.ts records the steps):
 *   - add, import: the new file in the VM's folder is attached once vm.json names it; until then
 *     it is a file no VM uses (a half-converted import, say) and goes;
 *   - resize: one qemu-img call, which qcow2 and raw both make whole or not at all; the user is
 *     told the size the disk has now, and a qcow2 is checked (and its leaks repaired).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { formatBytes } from '../../../common/format';
import type { IntentRecord } from '../library/intents';
import { checkImage, imageInfo } from './qemu-img';

export const NewDiskDataSchema = z.object({
  vmId: z.string(),
  vmName: z.string(),
  dir: z.string(),
  /** The new file's name in the VM's folder. */
  file: z.string(),
});
export type NewDiskData = z.infer<typeof NewDiskDataSchema>;

export const DiskResizeDataSchema = z.object({
  vmName: z.string(),
  diskId: z.string(),
  file: z.string(),
  format: z.string(),
  from: z.number(),
  to: z.number(),
});
export type DiskResizeData = z.infer<typeof DiskResizeDataSchema>;

export async function recoverNewDisk(record: IntentRecord): Promise<string | null> {
  const d = NewDiskDataSchema.parse(record.data);
  const config = await readFile(join(d.dir, 'vm.json'), 'utf8')
    .then((text) => JSON.parse(text) as { disks?: Array<{ file?: unknown }> })
    .catch(() => null);
  if (config?.disks?.some((disk) => disk.file === d.file)) return null;
  await rm(join(d.dir, d.file), { force: true });
  const what = record.op === 'disk.import' ? 'Importing a disk into' : 'Adding a disk to';
  return `${what} "${d.vmName}" was interrupted (at step ${record.step}) and has been undone: its unfinished ${d.file} was removed.`;
}

export async function recoverResize(record: IntentRecord, img: string | null): Promise<string> {
  const d = DiskResizeDataSchema.parse(record.data);
  let now = '';
  if (img) {
    const info = await imageInfo(img, d.file, { format: d.format, shared: true }).catch(() => null);
    if (info) now = ` It is ${formatBytes(info.virtualSize)} now.`;
    if (d.format === 'qcow2') {
      await checkImage(img, d.file, 'qcow2', { repair: 'leaks' }).catch(() => undefined);
    }
  }
  return (
    `Resizing disk ${d.diskId} of "${d.vmName}" from ${formatBytes(d.from)} to ${formatBytes(d.to)} ` +
    `was interrupted.${now} Check it with: vivarium disk check "${d.vmName}"`
  );
}
