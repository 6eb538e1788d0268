/**
 * `vivarium snapshot|disk|clone ...`. Long work (snapshots, imports, clones) runs as an
 * engine task: a progress bar on stderr when it is a terminal, or with --json one JSON object
 * per progress event on stderr (stdout keeps the one JSON result). Ctrl-C cancels what can be
 * cancelled (imports, full clones) and removes the partial files.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import {
  DISK_BUSES,
  DISK_CACHES,
  type DiskCache,
  type DiskCheckReport,
  type SnapshotList,
  type SnapshotNode,
  type StorageTaskResults,
  type VmSummary,
} from '../../common/contract';
import { VivariumError } from '../engine';
import type { CliKit } from './kit';
import type { JsonOpt } from './output';
import { followTask } from './progress';

// ---------------------------------------------------------------------------------------------
// Snapshots

function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The tree drawn with box characters; "*" marks "you are here" (pure; exported for tests). */
export function snapshotTable(
  list: SnapshotList,
  kit: Pick<CliKit, 'table' | 'formatBytes'>,
): string {
  const byId = new Map(list.snapshots.map((s) => [s.id, s]));
  const rows: string[][] = [];
  const walk = (id: string, prefix: string, last: boolean, depth: number): void => {
    const s = byId.get(id);
    if (!s) return;
    const branch = depth === 0 ? '' : `${prefix}${last ? '└─ ' : '├─ '}`;
    const flags = [s.status !== 'ok' ? s.status : '', s.external ? 'external' : '']
      .filter(Boolean)
      .join(', ');
    rows.push([
      list.current === s.id ? '*' : ' ',
      `${branch}${s.name}${flags ? ` (${flags})` : ''}`,
      s.kind,
      when(s.createdAt),
      s.kind === 'disk' ? '-' : s.vmStateSize === null ? '?' : kit.formatBytes(s.vmStateSize),
      s.id,
    ]);
    const childPrefix = depth === 0 ? '' : `${prefix}${last ? '   ' : '│  '}`;
    s.children.forEach((c, i) => walk(c, childPrefix, i === s.children.length - 1, depth + 1));
  };
  list.roots.forEach((r) => walk(r, '', true, 0));
  return kit.table(['', 'NAME', 'KIND', 'TAKEN', 'MEMORY', 'ID'], rows);
}

function describeNode(s: SnapshotNode): string {
  return `"${s.name}" (${s.kind === 'live' ? 'live: memory and disks' : 'disks only'}, id ${s.id})`;
}

// ---------------------------------------------------------------------------------------------
// Disks

function parseBus(value: string): (typeof DISK_BUSES)[number] {
  if ((DISK_BUSES as readonly string[]).includes(value))
    return value as (typeof DISK_BUSES)[number];
  throw new InvalidArgumentError(`Choose one of ${DISK_BUSES.join(', ')}.`);
}

function parseCache(value: string): DiskCache {
  if ((DISK_CACHES as readonly string[]).includes(value)) return value as DiskCache;
  throw new InvalidArgumentError(`Choose one of ${DISK_CACHES.join(', ')}.`);
}

const BUS_HELP = `how the guest sees it: ${DISK_BUSES.join(', ')} (a running q35 VM takes virtio and scsi)`;
const CACHE_HELP = `cache mode: ${DISK_CACHES.join(', ')} (default writeback, QEMU's own)`;

type DiskOpts = JsonOpt & { bus?: (typeof DISK_BUSES)[number]; cache?: DiskCache };

function checkLine(r: DiskCheckReport): string {
  return `${r.disk}: ${r.status}. ${r.message}`;
}

export function registerStorageCommands(kit: CliKit): void {
  const program = kit.program;
  const run = <A extends unknown[]>(fn: (...args: A) => Promise<void>) => kit.run(fn);
  const call: CliKit['call'] = (method, params, flags) => kit.call(method, params, flags);

  // snapshot ...
  const snapshot = program
    .command('snapshot')
    .description('take, list, revert and delete snapshots of a VM');
  const sub = (nameAndArgs: string, description: string) =>
    snapshot
      .command(nameAndArgs)
      .description(description)
      .option('--json', 'machine-readable output on stdout');

  sub('list', 'show the snapshot tree; * marks where the VM is now')
    .alias('ls')
    .argument('<name>', 'the VM')
    .action(
      run(async (vm: string, o: JsonOpt) => {
        const list = await call('snapshot.list', { vm }, { vm: 'NAME' });
        if (o.json) return kit.printJson(list);
        const lines: string[] = [];
        lines.push(list.snapshots.length ? snapshotTable(list, kit) : `No snapshots of ${vm} yet.`);
        if (!list.canSnapshot.ok)
          lines.push(`Cannot take a snapshot now: ${list.canSnapshot.reason}`);
        else if (!list.snapshots.length)
          lines.push(`Take one with: vivarium snapshot create ${vm} NAME`);
        kit.writeOut(lines.join('\n'));
      }),
    );

  sub('create', 'take a snapshot: live (memory too) when the VM runs, of the disks when it is off')
    .alias('take')
    .argument('<name>', 'the VM')
    .argument('<tag>', 'a name for the snapshot')
    .option('--description <text>', 'what this moment is')
    .action(
      run(async (vm: string, name: string, o: JsonOpt & { description?: string }) => {
        const task = await call(
          'snapshot.create',
          { vm, name, ...(o.description !== undefined ? { description: o.description } : {}) },
          { vm: 'NAME', name: 'TAG', description: '--description' },
        );
        const snap = await followTask<StorageTaskResults['snapshot.create']>(
          kit,
          task,
          Boolean(o.json),
        );
        if (o.json) return kit.printJson(snap);
        kit.writeOut(`Took snapshot ${describeNode(snap)} of ${vm}.`);
      }),
    );

  sub(
    'revert',
    'go back to a snapshot (what happened since is lost; a VM that is off is started there)',
  )
    .alias('restore')
    .argument('<name>', 'the VM')
    .argument('<tag>', 'the snapshot: its name or id')
    .action(
      run(async (vm: string, snap: string, o: JsonOpt) => {
        const task = await call(
          'snapshot.revert',
          { vm, snapshot: snap },
          { vm: 'NAME', snapshot: 'TAG' },
        );
        const res = await followTask<StorageTaskResults['snapshot.revert']>(
          kit,
          task,
          Boolean(o.json),
        );
        if (o.json) return kit.printJson(res);
        const pid = res.pid !== null ? ` (pid ${res.pid})` : '';
        kit.writeOut(`${vm} reverted to ${describeNode(res.snapshot)}: ${res.state}${pid}.`);
      }),
    );

  sub('delete', 'delete a snapshot; its children move up to its parent')
    .alias('rm')
    .argument('<name>', 'the VM')
    .argument('<tag>', 'the snapshot: its name or id')
    .action(
      run(async (vm: string, snap: string, o: JsonOpt) => {
        const task = await call(
          'snapshot.delete',
          { vm, snapshot: snap },
          { vm: 'NAME', snapshot: 'TAG' },
        );
        const res = await followTask<StorageTaskResults['snapshot.delete']>(
          kit,
          task,
          Boolean(o.json),
        );
        if (o.json) return kit.printJson(res);
        const moved = res.reparented.length;
        kit.writeOut(
          `Deleted snapshot ${snap}${moved ? `; ${moved} snapshot${moved === 1 ? '' : 's'} moved up to its parent` : ''}.`,
        );
      }),
    );

  sub('update', 'rename a snapshot or change its description')
    .argument('<name>', 'the VM')
    .argument('<tag>', 'the snapshot: its name or id')
    .option('--name <new>', 'a new name')
    .option('--description <text>', 'a new description')
    .action(
      run(
        async (vm: string, snap: string, o: JsonOpt & { name?: string; description?: string }) => {
          const node = await call(
            'snapshot.update',
            {
              vm,
              snapshot: snap,
              ...(o.name !== undefined ? { name: o.name } : {}),
              ...(o.description !== undefined ? { description: o.description } : {}),
            },
            { vm: 'NAME', snapshot: 'TAG', name: '--name', description: '--description' },
          );
          if (o.json) return kit.printJson(node);
          kit.writeOut(`Updated ${describeNode(node)}.`);
        },
      ),
    );

  sub('thumbnail', "save the snapshot's screen image as a PNG")
    .argument('<name>', 'the VM')
    .argument('<tag>', 'the snapshot: its name or id')
    .argument('<file>', 'the PNG to write')
    .action(
      run(async (vm: string, snap: string, file: string, o: JsonOpt) => {
        const thumb = await call(
          'snapshot.thumbnail',
          { vm, snapshot: snap },
          { vm: 'NAME', snapshot: 'TAG' },
        );
        if (!thumb.pngBase64)
          throw new VivariumError(
            'NOT_FOUND',
            `Snapshot ${snap} has no screen image (taken while the VM was off, or outside Vivarium).`,
          );
        const target = resolve(file);
        await writeFile(target, Buffer.from(thumb.pngBase64, 'base64'));
        if (o.json)
          return kit.printJson({ file: target, width: thumb.width, height: thumb.height });
        kit.writeOut(`Saved a ${thumb.width}x${thumb.height} screen image to ${target}`);
      }),
    );

  // clone
  kit
    .cmd(
      'clone',
      'copy a VM that is off: a full copy, or --linked (instant, shares a read-only base disk)',
    )
    .argument('<name>', 'the VM to clone')
    .argument('<new>', 'the name of the copy')
    .option('--linked', 'an overlay on a frozen base instead of a copy: instant and small')
    .action(
      run(async (vm: string, name: string, o: JsonOpt & { linked?: boolean }) => {
        const task = await call(
          'vm.clone',
          { vm, name, linked: Boolean(o.linked) },
          { vm: 'NAME', name: 'NEW' },
        );
        const clone: VmSummary = await followTask<StorageTaskResults['vm.clone']>(
          kit,
          task,
          Boolean(o.json),
        );
        if (o.json) return kit.printJson(clone);
        kit.writeOut(
          `Cloned ${vm} as ${clone.name} (${o.linked ? 'linked' : 'full copy'}, id ${clone.id}).`,
        );
      }),
    );

  // disk ...
  const disk = program
    .command('disk')
    .description("import, add, resize, check and detach a VM's disks");
  const dsub = (nameAndArgs: string, description: string) =>
    disk
      .command(nameAndArgs)
      .description(description)
      .option('--json', 'machine-readable output on stdout');

  dsub('list', "show a VM's disks, their sizes and linked clones")
    .alias('ls')
    .argument('<name>', 'the VM')
    .action(
      run(async (vm: string, o: JsonOpt) => {
        const st = await call('disk.list', { vm }, { vm: 'NAME' });
        if (o.json) return kit.printJson(st);
        const size = (n: number | null) => (n === null ? '?' : kit.formatBytes(n));
        const lines = [
          kit.table(
            ['DISK', 'FORMAT', 'BUS', 'CACHE', 'SIZE', 'USED', 'SNAPSHOTS', 'FILE'],
            st.disks.map((d) => [
              d.id,
              d.format + (d.readOnly ? ' (ro)' : ''),
              d.bus,
              d.cache,
              size(d.virtualSize),
              size(d.actualSize),
              String(d.snapshotCount),
              d.exists ? d.file : `${d.file} (missing)`,
            ]),
          ),
        ];
        if (st.linkedTo) lines.push(`Linked clone of ${st.linkedTo.name}.`);
        if (st.linkedClones.length)
          lines.push(
            `Linked clones on its base: ${st.linkedClones.map((c) => c.name).join(', ')}.`,
          );
        kit.writeOut(lines.join('\n'));
      }),
    );

  dsub(
    'import',
    'copy a qcow2, raw/img, VMDK, VDI, VHDX or VHD image into a VM as a new qcow2 disk (plugged in live where the VM runs and the bus allows)',
  )
    .argument('<name>', 'the VM')
    .argument('<file>', 'the image to import')
    .addOption(new Option('--bus <bus>', BUS_HELP).argParser(parseBus))
    .addOption(new Option('--cache <mode>', CACHE_HELP).argParser(parseCache))
    .action(
      run(async (vm: string, file: string, o: DiskOpts) => {
        const task = await call(
          'disk.import',
          {
            vm,
            file: resolve(file),
            ...(o.bus ? { bus: o.bus } : {}),
            ...(o.cache ? { cache: o.cache } : {}),
          },
          { vm: 'NAME', file: 'FILE', bus: '--bus', cache: '--cache' },
        );
        const summary = await followTask<StorageTaskResults['disk.import']>(
          kit,
          task,
          Boolean(o.json),
        );
        if (o.json) return kit.printJson(summary);
        const added = summary.config.disks[summary.config.disks.length - 1];
        kit.writeOut(
          `Imported ${file} into ${summary.name} as ${added?.id ?? 'a new disk'} (qcow2).`,
        );
      }),
    );

  dsub(
    'add',
    'add a new thin qcow2 disk of SIZE (or --file: an existing qcow2/raw image where it is); a running q35 VM gets it live on virtio or scsi',
  )
    .argument('<name>', 'the VM')
    .argument('[size]', 'like 20G')
    .option('--file <image>', 'use this existing image instead of making a new one')
    .option('--read-only', 'the guest cannot write it')
    .addOption(new Option('--bus <bus>', BUS_HELP).argParser(parseBus))
    .addOption(new Option('--cache <mode>', CACHE_HELP).argParser(parseCache))
    .action(
      run(
        async (
          vm: string,
          size: string | undefined,
          o: DiskOpts & { file?: string; readOnly?: boolean },
        ) => {
          const summary = await call(
            'disk.add',
            {
              vm,
              ...(size !== undefined ? { size } : {}),
              ...(o.file !== undefined ? { file: resolve(o.file) } : {}),
              readOnly: Boolean(o.readOnly),
              ...(o.bus ? { bus: o.bus } : {}),
              ...(o.cache ? { cache: o.cache } : {}),
            },
            { vm: 'NAME', size: 'SIZE', file: '--file', bus: '--bus', cache: '--cache' },
          );
          if (o.json) return kit.printJson(summary);
          const added = summary.config.disks[summary.config.disks.length - 1];
          const live = summary.runtime.state === 'running' || summary.runtime.state === 'paused';
          kit.writeOut(
            `Added ${added?.id ?? 'a disk'} (${size ?? o.file ?? ''}, ${added?.bus ?? ''}) to ${summary.name}${live ? ', plugged in while it runs' : ''}.`,
          );
        },
      ),
    );

  dsub('set', "change a disk's bus or cache mode (VM off)")
    .argument('<name>', 'the VM')
    .argument('<disk>', 'the disk id, like disk1')
    .addOption(new Option('--bus <bus>', BUS_HELP).argParser(parseBus))
    .addOption(new Option('--cache <mode>', CACHE_HELP).argParser(parseCache))
    .action(
      run(async (vm: string, id: string, o: DiskOpts) => {
        const summary = await call(
          'disk.update',
          {
            vm,
            disk: id,
            ...(o.bus ? { bus: o.bus } : {}),
            ...(o.cache ? { cache: o.cache } : {}),
          },
          { vm: 'NAME', disk: 'DISK', bus: '--bus', cache: '--cache' },
        );
        if (o.json) return kit.printJson(summary);
        const d = summary.config.disks.find((x) => x.id === id);
        kit.writeOut(`${id} of ${summary.name}: bus ${d?.bus ?? '?'}, cache ${d?.cache ?? '?'}.`);
      }),
    );

  dsub(
    'detach',
    'detach a disk (--delete also deletes its image); a running q35 VM unplugs a plugged-in virtio or scsi disk, once the guest lets go',
  )
    .argument('<name>', 'the VM')
    .argument('<disk>', 'the disk id, like disk1')
    .option('--delete', "delete the image too (only images in the VM's folder)")
    .action(
      run(async (vm: string, id: string, o: JsonOpt & { delete?: boolean }) => {
        const summary = await call(
          'disk.detach',
          { vm, disk: id, deleteFile: Boolean(o.delete) },
          { vm: 'NAME', disk: 'DISK' },
        );
        if (o.json) return kit.printJson(summary);
        kit.writeOut(
          `Detached ${id} from ${summary.name}${o.delete ? ' and deleted its image' : ''}.`,
        );
      }),
    );

  dsub(
    'resize',
    'grow a disk: SIZE is the new size (30G) or the growth (+10G); live on a running VM (the guest sees it)',
  )
    .argument('<name>', 'the VM')
    .argument('<size>', 'the new size or +growth')
    .option('--disk <id>', 'which disk (default: the first)')
    .option(
      '--shrink',
      'allow making it smaller (shrink the guest filesystems first: data past the end is lost)',
    )
    .action(
      run(async (vm: string, size: string, o: JsonOpt & { disk?: string; shrink?: boolean }) => {
        const info = await call(
          'disk.resize',
          { vm, size, shrink: Boolean(o.shrink), ...(o.disk ? { disk: o.disk } : {}) },
          { vm: 'NAME', size: 'SIZE', disk: '--disk' },
        );
        if (o.json) return kit.printJson(info);
        kit.writeOut(
          `${info.id} of ${vm} is now ${info.virtualSize === null ? '?' : kit.formatBytes(info.virtualSize)}. Grow the partition inside the guest to use it.`,
        );
      }),
    );

  dsub('check', "check a VM's disk images for consistency (qemu-img check); exit 1 on corruption")
    .argument('<name>', 'the VM')
    .option('--disk <id>', 'only this disk')
    .addOption(
      new Option('--repair <what>', 'repair (VM off): leaks, or all').choices(['leaks', 'all']),
    )
    .action(
      run(async (vm: string, o: JsonOpt & { disk?: string; repair?: 'leaks' | 'all' }) => {
        const reports = await call(
          'disk.check',
          { vm, repair: o.repair ?? 'none', ...(o.disk ? { disk: o.disk } : {}) },
          { vm: 'NAME', disk: '--disk', repair: '--repair' },
        );
        if (o.json) kit.printJson(reports);
        else
          kit.writeOut(reports.length ? reports.map(checkLine).join('\n') : `${vm} has no disks.`);
        // With --json the report is the answer (one JSON document on stdout); without, exit 1.
        const bad = reports.filter((r) => r.status === 'corrupt' || r.status === 'failed');
        if (bad.length && !o.json) {
          throw new VivariumError(
            'QEMU_FAILED',
            `${bad.map((r) => r.disk).join(', ')} did not pass the check: copy important data out, then repair with --repair all.`,
          );
        }
      }),
    );
}
