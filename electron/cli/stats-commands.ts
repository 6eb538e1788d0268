/**
 * What the VMs cost the host, from the command line: `top` (a refreshing table, sorted by CPU),
 * `balloon` (a running guest's memory) and `cmdline` (the QEMU command line to run by hand). The
 * figures come from this command's own engine, which samples while `top` subscribes.
 */
import type { HostStats, VmStatsSample } from '../../common/contract';
import { formatMiB } from '../../common/format';
import type { CliKit } from './kit';
import { parseMemory } from './options';
import { type JsonOpt } from './output';
import { waitForSignal } from './signals';

const MiB = 1024 * 1024;

interface TopOpts extends JsonOpt {
  once?: boolean;
}

const mib = (bytes: number | null | undefined): number | null =>
  bytes === null || bytes === undefined ? null : Math.round((bytes / MiB) * 10) / 10;
const round1 = (n: number | null): number | null => (n === null ? null : Math.round(n * 10) / 10);

/** One VM's sample as `top --json` prints it: flat, one object per line. */
export function topRecord(s: VmStatsSample): Record<string, unknown> {
  const guest = 'available' in s.guest ? null : s.guest;
  return {
    t: s.t,
    name: s.name,
    vmId: s.vmId,
    pid: s.pid,
    cpuPercent: round1(s.cpuPercent),
    vcpuPercent: s.vcpuPercent.map((v) => round1(v) ?? 0),
    threads: s.threads,
    uptimeSeconds: s.uptimeSeconds === null ? null : Math.round(s.uptimeSeconds),
    rssMiB: mib(s.rssBytes),
    pssMiB: mib(s.pssBytes),
    guestTotalMiB: mib(guest?.totalBytes),
    guestAvailableMiB: mib(guest?.availableBytes),
    balloonMiB: 'actualBytes' in s.balloon ? mib(s.balloon.actualBytes) : null,
    diskReadBytes: s.disk.readBytes,
    diskWriteBytes: s.disk.writeBytes,
    diskReadOps: s.disk.readOps,
    diskWriteOps: s.disk.writeOps,
    netRxBytes: 'rxBytes' in s.net ? s.net.rxBytes : null,
    netTxBytes: 'txBytes' in s.net ? s.net.txBytes : null,
  };
}

function percent(n: number | null): string {
  return n === null ? '-' : `${n.toFixed(1)}%`;
}

function hostLine(h: HostStats): string {
  const m = h.memory;
  const ksm = h.ksm.available
    ? h.ksm.run === 1
      ? `KSM on, saving ${formatMiB(Math.round(h.ksm.savedBytes / MiB))}`
      : 'KSM off'
    : 'KSM unavailable';
  return (
    `Host: CPU ${percent(h.cpuPercent)} of ${h.cpus}, memory ${formatMiB(Math.round(m.usedBytes / MiB))} used of ` +
    `${formatMiB(Math.round(m.totalBytes / MiB))}, ${formatMiB(Math.round(h.promisedBytes / MiB))} promised to ` +
    `${h.runningVms} VM(s) (overcommit ${h.overcommitRatio.toFixed(2)}), ${ksm}`
  );
}

function topTable(kit: CliKit, host: HostStats, vms: VmStatsSample[]): string {
  const sorted = [...vms].sort((a, b) => (b.cpuPercent ?? -1) - (a.cpuPercent ?? -1));
  const rows = sorted.map((s) => {
    const available = 'available' in s.guest ? null : s.guest.availableBytes;
    const guest = available === null ? '-' : kit.formatBytes(available);
    return [
      s.name,
      String(s.pid),
      percent(s.cpuPercent),
      s.vcpuPercent.map((v) => v.toFixed(0)).join('/') || '-',
      s.rssBytes === null ? '-' : kit.formatBytes(s.rssBytes),
      guest,
      `${kit.formatBytes(s.disk.readBytes)} / ${kit.formatBytes(s.disk.writeBytes)}`,
    ];
  });
  const body = rows.length
    ? kit.table(['NAME', 'PID', 'CPU', 'VCPU%', 'RSS', 'GUEST AVAIL', 'DISK R / W'], rows)
    : 'No VM is running.';
  return `${hostLine(host)}\n\n${body}`;
}

async function cmdTop(kit: CliKit, opts: TopOpts): Promise<void> {
  const engine = await kit.engine();
  const { subscription, leaseMs } = await engine.call('stats.subscribe', {});
  // The first reading of each VM only starts its counters: take it now, so the first event
  // already has percentages.
  await engine.stats.tick();
  const renew = setInterval(() => {
    void engine.call('stats.subscribe', { subscription }).catch(() => undefined);
  }, leaseMs / 3);
  let resolveOnce: () => void = () => undefined;
  const once = new Promise<void>((r) => (resolveOnce = r));
  const tty = process.stdout.isTTY && !opts.json && !opts.once;
  const off = engine.onEvent((event) => {
    if (event.type !== 'stats.sample') return;
    if (opts.json) {
      for (const s of event.vms) kit.writeOut(JSON.stringify(topRecord(s)));
    } else {
      // Home and clear, like top, when a person watches; plain blocks when piped.
      kit.writeOut(`${tty ? '\x1b[H\x1b[2J' : ''}${topTable(kit, event.host, event.vms)}\n`);
    }
    if (opts.once) resolveOnce();
  });
  try {
    await (opts.once ? once : Promise.race([once, waitForSignal()]));
  } finally {
    off();
    clearInterval(renew);
    await engine.call('stats.unsubscribe', { subscription });
  }
}

async function cmdBalloon(kit: CliKit, name: string, size: number, opts: JsonOpt): Promise<void> {
  const result = await kit.call(
    'vm.balloon',
    { vm: name, targetMiB: size },
    { targetMiB: '<size>' },
  );
  if (opts.json) return kit.printJson(result);
  kit.writeOut(
    `"${name}" is being set to ${formatMiB(Math.round(result.targetBytes / MiB))} ` +
      `(it has ${formatMiB(Math.round(result.actualBytes / MiB))} now; the guest gives memory back over a few seconds).`,
  );
}

async function cmdCmdline(kit: CliKit, name: string, opts: JsonOpt): Promise<void> {
  const line = await kit.call('vm.cmdline', { vm: name });
  if (opts.json) return kit.printJson(line);
  kit.writeOut(line.command);
  process.stderr.write(`# pid ${line.pid}, ${line.threads ?? '?'} threads. ${line.note}\n`);
}

export function registerStatsCommands(kit: CliKit): void {
  const { cmd, run } = kit;
  cmd('top', 'what the running VMs cost the host, refreshed every 2 s (sorted by CPU)')
    .option('--once', 'print one sample and exit')
    .action(run((o: TopOpts) => cmdTop(kit, o)));
  cmd('balloon', "set a running guest's memory through its balloon (up to its configured memory)")
    .argument('<name>')
    .argument('<size>', 'the memory the guest keeps, in MiB or like 512M, 1G', parseMemory)
    .action(run((name: string, size: number, o: JsonOpt) => cmdBalloon(kit, name, size, o)));
  cmd('cmdline', "print a running VM's full QEMU command line, quoted for a shell")
    .argument('<name>')
    .action(run((name: string, o: JsonOpt) => cmdCmdline(kit, name, o)));
}
