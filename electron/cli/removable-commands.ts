/**
 * `vivarium cdrom VM insert FILE | eject` (the VM's CD, live while it runs) and `vivarium usb
 * list | attach VM DEV | detach VM DEV` (the host's USB devices with whether you may open them;
 * a VM's USB devices, live while it runs and kept for its next start). DEV is vendor:product,
 * bus-port, or an image file for a USB drive.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { CdromChange, HostUsbDevice, UsbAttachment } from '../../common/contract';
import { USB_ENTRY_ID, parseUsbHostSpec } from '../../common/rules/usb';
import type { CliKit } from './kit';
import { shellQuote, UsageError, type JsonOpt } from './output';

interface AttachOpts extends JsonOpt {
  readOnly?: boolean;
  format?: 'raw' | 'qcow2';
}

function changeLines(vm: string, r: CdromChange): string[] {
  const what =
    r.medium === null ? `Ejected the CD of ${vm}` : `${vm} has ${r.medium} in its CD drive`;
  const when = r.applied === 'live' ? ' (in the running guest, and kept for its next start)' : '';
  return [`${what}${when}.`, ...(r.note ? [r.note] : [])];
}

export function hostDeviceLines(d: HostUsbDevice): string[] {
  const speed = d.speedMbps ? `, ${d.speedMbps} Mb/s` : '';
  const lines = [`${d.place}  ${d.label}${speed}  ${d.path}`];
  if (d.access === 'ok') {
    lines.push('  you may open it');
  } else {
    lines.push(
      d.access === 'missing'
        ? `  no device node ${d.path} (a container without /dev/bus/usb?)`
        : `  you may not open it; a udev rule in ${d.fix?.file ?? '/etc/udev/rules.d/'} fixes that:`,
    );
    for (const c of d.fix?.commands ?? []) lines.push(`    ${c}`);
    if (d.fix) lines.push(`  ${d.fix.note}`);
  }
  return lines;
}

function attachmentLine(a: UsbAttachment): string {
  const state =
    a.live === null ? '' : a.live ? ' (in the running guest)' : ' (not in the running guest)';
  const unplugged = a.unplugged ? ' (not plugged in now)' : '';
  return `${a.config.id}  ${a.label}${unplugged}${state}`;
}

/** An image file named on the command line, made absolute against the current folder. */
function filePath(arg: string): string {
  return resolve(process.cwd(), arg);
}

export function registerRemovableCommands(kit: CliKit): void {
  const { program, run } = kit;

  const CD_ACTIONS = ['insert', 'eject', 'show'] as const;
  type CdAction = (typeof CD_ACTIONS)[number];
  const isCdAction = (w: string | undefined): w is CdAction =>
    (CD_ACTIONS as readonly string[]).includes(w ?? '');
  program
    .command('cdrom')
    .description("a VM's CD: insert, change or eject a disc, live while it runs")
    .usage('VM insert FILE | VM eject | VM [show]')
    .argument('<vm>', 'the VM')
    .argument('[action]', 'insert, eject or show (the default)')
    .argument('[file]', 'the ISO image to insert (replacing the disc there)')
    .option('--json', 'machine-readable output on stdout')
    .action(
      run(
        async (
          first: string,
          second: string | undefined,
          third: string | undefined,
          o: JsonOpt,
        ) => {
          // `cdrom VM insert FILE` as documented; `cdrom insert VM FILE` reads the same.
          const [vm, action, file] = isCdAction(second)
            ? [first, second, third]
            : isCdAction(first) && second !== undefined
              ? [second, first, third]
              : [first, second ?? 'show', third];
          if (!isCdAction(action)) {
            throw new UsageError(
              `Unknown cdrom action "${action}": use insert FILE, eject or show.`,
            );
          }
          if (action === 'insert') {
            if (file === undefined)
              throw new UsageError('Name the ISO to insert: vivarium cdrom VM insert FILE');
            const r = await kit.call(
              'cdrom.insert',
              { vm, file: filePath(file) },
              { vm: 'VM', file: 'FILE' },
            );
            if (o.json) return kit.printJson(r);
            return kit.writeOut(changeLines(vm, r).join('\n'));
          }
          if (file !== undefined) throw new UsageError(`cdrom ${action} takes no file.`);
          if (action === 'eject') {
            const r = await kit.call('cdrom.eject', { vm }, { vm: 'VM' });
            if (o.json) return kit.printJson(r);
            return kit.writeOut(changeLines(vm, r).join('\n'));
          }
          const r = await kit.call('cdrom.get', { vm }, { vm: 'VM' });
          if (o.json) return kit.printJson(r);
          kit.writeOut(
            !r.drive
              ? `${vm} has no CD drive now: a disc put in while it is stopped brings one (vivarium cdrom ${shellQuote(vm)} insert FILE).`
              : r.medium === null
                ? `The CD drive of ${vm} is empty.`
                : `${vm} has ${r.medium} in its CD drive.`,
          );
        },
      ),
    );

  const usb = program
    .command('usb')
    .description(
      "USB devices: the host's (with whether you may open them) and a VM's, attached live and kept for its next start",
    );
  usb
    .command('list')
    .alias('ls')
    .description("the host's USB devices, or with a VM, the VM's")
    .argument('[vm]', 'a VM: list its USB devices instead')
    .option('--json', 'machine-readable output on stdout')
    .action(
      run(async (vm: string | undefined, o: JsonOpt) => {
        if (vm !== undefined) {
          const list = await kit.call('usb.list', { vm }, { vm: 'VM' });
          if (o.json) return kit.printJson(list);
          kit.writeOut(
            list.length === 0 ? `${vm} has no USB devices.` : list.map(attachmentLine).join('\n'),
          );
          return;
        }
        const host = await kit.call('usb.host', {});
        if (o.json) return kit.printJson(host);
        const lines = host.devices.flatMap(hostDeviceLines);
        if (host.message) lines.push(host.message);
        kit.writeOut(lines.join('\n'));
      }),
    );
  usb
    .command('attach')
    .description('attach a host device, or an image file as a USB drive')
    .argument('<vm>', 'the VM')
    .argument('<dev>', 'vendor:product or bus-port (see `usb list`), or an image file')
    .option('--read-only', 'a USB drive the guest cannot write')
    .addOption(
      new Option(
        '--format <format>',
        'the image format of a USB drive (default: read from it)',
      ).choices(['raw', 'qcow2']),
    )
    .option('--json', 'machine-readable output on stdout')
    .action(
      run(async (vm: string, dev: string, o: AttachOpts) => {
        const host = parseUsbHostSpec(dev) !== null;
        if (host && (o.readOnly || o.format)) {
          throw new UsageError('--read-only and --format are for USB drives made from image files');
        }
        const device = host
          ? { kind: 'host' as const, device: dev }
          : {
              kind: 'drive' as const,
              file: filePath(dev),
              readOnly: o.readOnly ?? false,
              ...(o.format ? { format: o.format } : {}),
            };
        const r = await kit.call(
          'usb.attach',
          { vm, device },
          { vm: 'VM', device: 'DEV', 'device.file': 'DEV', 'device.device': 'DEV' },
        );
        if (o.json) return kit.printJson(r);
        kit.writeOut(
          `Attached to ${vm} as ${r.attached.config.id}: ${r.attached.label}${r.applied === 'live' ? ' (in the running guest, and kept for its next start)' : ''}.`,
        );
      }),
    );
  usb
    .command('detach')
    .description('detach a USB device from a VM')
    .argument('<vm>', 'the VM')
    .argument('<dev>', 'its id (usb1), vendor:product, bus-port, or the image file of a USB drive')
    .option('--json', 'machine-readable output on stdout')
    .action(
      run(async (vm: string, dev: string, o: JsonOpt) => {
        const named = USB_ENTRY_ID.test(dev) || parseUsbHostSpec(dev) !== null;
        const r = await kit.call(
          'usb.detach',
          { vm, device: named ? dev : filePath(dev) },
          { vm: 'VM', device: 'DEV' },
        );
        if (o.json) return kit.printJson(r);
        kit.writeOut(
          `Detached ${r.detached.config.id} (${r.detached.label}) from ${vm}${r.applied === 'live' ? ', out of the running guest too' : ''}.`,
        );
      }),
    );
}
