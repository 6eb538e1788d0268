/**
 * The VM commands: `host`, `list`, `create`, `set`, `status`, `start|pause|resume|reset`, `stop`,
 * `screenshot` and `delete`, each one engine call (or two) with a human answer or, with `--json`,
 * the flat facts scripts want.
 */
import { ARCH_LABELS, archPreset, firmwareLabel } from '../../common/arch';
import { label, labelWithValue } from '../../common/labels';
import { archUnavailableReason } from '../../common/rules/guest-arch';
import { baseName, cdromDisplayName } from '../../common/media-names';
import { resolve } from 'node:path';
import { Option } from 'commander';
import {
  FIRMWARES,
  MACHINE_TYPES,
  NIC_MODELS,
  SOUND_MODELS,
  VM_ARCHES,
  type HostInfo,
  type HostStats,
  type Params,
  type VmArch,
  type VmSummary,
} from '../../common/contract';
import { formatMiB } from '../../common/format';
import { isGuestUp } from '../../common/vm-state';
import { VivariumError } from '../engine';
import { call } from './engine-access';
import {
  CLOUD_FLAGS,
  cloudCreatedHint,
  cloudRequest,
  collectKeyFile,
  wantsCloud,
  type CloudOpts,
} from './cloud-commands';
import type { CliKit } from './kit';
import { cardLines } from './nic-commands';
import { savedAgo } from './savestate-commands';
import { parseMemory, parseNumber } from './options';
import {
  formatBytes,
  oneLine,
  printJson,
  PROG,
  shellQuote,
  table,
  UsageError,
  writeOut,
  type JsonOpt,
} from './output';

/** The machine-readable view of a VM: the flat facts scripts want, plus the full config. */
function vmJson(vm: VmSummary) {
  const { runtime: rt, config } = vm;
  return {
    id: vm.id,
    name: vm.name,
    state: rt.state,
    pid: rt.pid ?? null,
    accel: rt.accel ?? null,
    startedAt: rt.startedAt ?? null,
    /** When a `saved` VM was saved to disk. */
    savedAt: rt.savedAt ?? null,
    os: config.os,
    arch: config.arch,
    cpus: config.cpu.count,
    memoryMiB: config.memoryMiB,
    dir: vm.dir,
    accelNotice: rt.accelNotice ?? null,
    lastError: rt.lastError ?? null,
    lastExit: rt.lastExit ?? null,
    /** The guest answered over SSH (or its agent did) since this start. */
    ready: vm.guest?.ready ?? false,
    /** The command line to log in, once the guest is ready. */
    ssh: vm.guest?.ready ? (vm.guest.ssh?.command ?? null) : null,
    guest: vm.guest,
    config,
  };
}

function describeState(vm: VmSummary): string {
  const rt = vm.runtime;
  const bits: string[] = [];
  if (rt.pid != null) {
    bits.push(`pid ${rt.pid}`);
    if (rt.accel) bits.push(rt.accel);
  }
  return bits.length ? `${rt.state} (${bits.join(', ')})` : rt.state;
}

function formatUptime(startedAt: string | null): string | null {
  if (!startedAt) return null;
  const ms = Date.now() - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return null;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function printVm(vm: VmSummary, opts: JsonOpt, human: string): void {
  if (opts.json) printJson(vmJson(vm));
  else writeOut(human);
}

async function cmdHost(opts: JsonOpt): Promise<void> {
  const info: HostInfo = await call('host.info', { refresh: false });
  // What the running VMs cost the host: memory, what they were promised, KSM, huge pages.
  const usage = await call('stats.host', {});
  if (opts.json) return printJson({ ...info, usage });
  const x86 = info.qemu.binaries.find((b) => b.arch === 'x86_64') ?? info.qemu.binaries[0];
  const lines: string[] = [];
  lines.push(
    info.qemuMissing
      ? `QEMU:         not usable: ${oneLine(info.qemuMissing)}`
      : `QEMU:         ${x86 ? `${x86.version} (${x86.path})` : 'not found'}`,
  );
  for (const b of info.qemu.binaries.filter((b) => b !== x86)) {
    lines.push(`              ${b.arch}: ${b.version} (${b.path})`);
  }
  lines.push(
    `qemu-img:     ${info.qemu.img ? `${info.qemu.img.version} (${info.qemu.img.path})` : 'not found'}`,
  );
  lines.push('Accelerators:');
  for (const a of info.accelerators) {
    const status = a.usable
      ? 'usable'
      : a.present
        ? `present, not usable${a.reason ? `: ${oneLine(a.reason)}` : ''}`
        : `not available${a.reason ? `: ${oneLine(a.reason)}` : ''}`;
    lines.push(
      `  ${a.name.padEnd(5)} ${status}${a.name === info.bestAccelerator ? '  (used)' : ''}`,
    );
  }
  lines.push(
    `Host:         ${info.platform} ${info.arch}, ${info.cpus} CPUs, ${formatMiB(info.totalMemoryMiB)} RAM` +
      (info.freeDiskBytes != null ? `, ${formatBytes(info.freeDiskBytes)} free disk` : ''),
  );
  lines.push(...usageLines(usage));
  lines.push(`Data:         ${info.dataDir}`);
  const fw = info.firmware;
  lines.push(`BIOS:         ${fw.seabios ?? 'not found'}`);
  lines.push(`UEFI:         ${fw.ovmfCode ?? 'not found (install ovmf for UEFI guests)'}`);
  lines.push(...archLines(info));
  if (info.notices.length) {
    lines.push('Notices:');
    for (const n of info.notices) lines.push(`  - ${oneLine(n)}`);
  }
  writeOut(lines.join('\n'));
}

/** One line per guest architecture: ready or what to install, and how it runs here. */
function archLines(info: HostInfo): string[] {
  if (!info.arches?.length) return [];
  const lines = ['Guest architectures:'];
  for (const a of info.arches) {
    const runs = a.native ? `native (${a.accelerator})` : 'emulated (TCG)';
    const state = a.ready
      ? `ready, ${runs}`
      : `not ready: ${a.qemu ? 'firmware missing' : `${archPreset(a.arch).qemuBinary} missing`}`;
    lines.push(`  ${a.arch.padEnd(8)} ${label('arch', a.arch)}: ${state}`);
    if (a.install) lines.push(`           install: ${a.install}`);
  }
  return lines;
}

function usageLines(u: HostStats): string[] {
  const mib = (bytes: number) => formatMiB(Math.round(bytes / (1024 * 1024)));
  const lines = [
    `Memory:       ${mib(u.memory.usedBytes)} used, ${mib(u.memory.availableBytes)} available; ` +
      `${mib(u.promisedBytes)} promised to ${u.runningVms} running VM(s) ` +
      `(overcommit ${u.overcommitRatio.toFixed(2)})`,
  ];
  if (!u.ksm.available) lines.push(`KSM:          unavailable: ${u.ksm.reason}`);
  else if (u.ksm.run === 1) lines.push(`KSM:          on, saving ${mib(u.ksm.savedBytes)}`);
  else lines.push(`KSM:          off (to merge identical guest pages: ${u.ksm.enableCommand})`);
  lines.push(
    `Huge pages:   ${u.thp.available ? `transparent, ${u.thp.mode}` : `unavailable: ${u.thp.reason}`}`,
  );
  return lines;
}

async function cmdList(opts: JsonOpt): Promise<void> {
  const vms = await call('vm.list', {});
  if (opts.json) return printJson(vms.map(vmJson));
  if (vms.length === 0) {
    writeOut(`No VMs yet. Create one with: ${PROG} create NAME --iso PATH`);
    return;
  }
  writeOut(
    table(
      ['NAME', 'STATE', 'ARCH', 'CPUS', 'MEMORY', 'OS'],
      vms.map((vm) => [
        vm.name,
        vm.runtime.state === 'saved'
          ? `saved ${savedAgo(vm.runtime.savedAt)}`.trim()
          : vm.runtime.state,
        vm.config.arch,
        String(vm.config.cpu.count),
        formatMiB(vm.config.memoryMiB),
        vm.config.os,
      ]),
    ),
  );
}

interface CreateOpts extends JsonOpt, CloudOpts {
  iso?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  memory?: number;
  cpus?: number;
  disk?: string;
  os?: string;
  arch?: VmArch;
  firmware?: (typeof FIRMWARES)[number];
  machine?: (typeof MACHINE_TYPES)[number];
  sound?: (typeof SOUND_MODELS)[number];
  tpm?: boolean;
  secureBoot?: boolean;
  network?: string;
  nicModel?: (typeof NIC_MODELS)[number];
}

async function cmdCreate(kit: CliKit, name: string, opts: CreateOpts): Promise<void> {
  const cloudWanted = wantsCloud(opts);
  if (!opts.iso && !opts.kernel && !cloudWanted) {
    throw new UsageError(
      'Give the install media: --iso PATH, or --kernel PATH [--initrd PATH]; or a cloud image: --cloud OS or --cloud-image FILE',
    );
  }
  if (cloudWanted && (opts.iso || opts.kernel)) {
    throw new UsageError('A VM from a cloud image boots its disk: leave out --iso and --kernel');
  }
  if (opts.arch !== undefined) {
    // Said before anything is downloaded or made: the emulator (or its firmware) is missing.
    const why = archUnavailableReason(await call('host.info', { refresh: false }), opts.arch);
    if (why) throw new VivariumError('QEMU_MISSING', why);
  }
  const cloud = cloudWanted ? await cloudRequest(kit, opts) : null;
  if (!opts.kernel && (opts.initrd !== undefined || opts.append !== undefined)) {
    throw new UsageError('--initrd and --append need --kernel PATH');
  }
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  const req: Params<'vm.create'> = {
    name,
    ...(opts.os !== undefined && { os: opts.os }),
    ...(opts.iso !== undefined && { iso: abs(opts.iso) }),
    ...(opts.kernel !== undefined && { kernel: abs(opts.kernel) }),
    ...(opts.initrd !== undefined && { initrd: abs(opts.initrd) }),
    ...(opts.append !== undefined && { append: opts.append }),
    ...(opts.memory !== undefined && { memoryMiB: opts.memory }),
    ...(opts.cpus !== undefined && { cpus: opts.cpus }),
    ...(opts.disk !== undefined && { diskSize: opts.disk }),
    ...(opts.arch !== undefined && { arch: opts.arch }),
    ...(opts.firmware !== undefined && { firmware: opts.firmware }),
    ...(opts.machine !== undefined && { machine: opts.machine }),
    ...(opts.sound !== undefined && { sound: opts.sound }),
    ...(opts.tpm !== undefined && { tpm: opts.tpm }),
    ...(opts.secureBoot !== undefined && { secureBoot: opts.secureBoot }),
    ...(opts.network !== undefined && { network: opts.network }),
    ...(opts.nicModel !== undefined && { nicModel: opts.nicModel }),
    ...(cloud && { cloud: cloud.cloud }),
    ...(cloud?.os !== undefined && opts.os === undefined && { os: cloud.os }),
  };
  const vm = await call('vm.create', req, {
    ...CLOUD_FLAGS,
    name: 'NAME',
    os: '--os',
    iso: '--iso',
    kernel: '--kernel',
    initrd: '--initrd',
    append: '--append',
    memoryMiB: '--memory',
    cpus: '--cpus',
    diskSize: '--disk',
    arch: '--arch',
    firmware: '--firmware',
    machine: '--machine',
    sound: '--sound',
    tpm: '--tpm',
    secureBoot: '--secure-boot',
    network: '--network',
    nicModel: '--nic-model',
  });
  const c = vm.config;
  const cpus = `${c.cpu.count} CPU${c.cpu.count === 1 ? '' : 's'}`;
  const disks = c.disks.length ? `, ${c.disks.length} disk${c.disks.length === 1 ? '' : 's'}` : '';
  const host = c.arch === 'x86_64' ? null : await call('host.info', { refresh: false });
  const notice = host?.arches?.find((a) => a.arch === c.arch)?.notice;
  printVm(
    vm,
    opts,
    `Created ${vm.name} (${vm.id}): ${cpus}, ${formatMiB(c.memoryMiB)}${disks}, ${describeHardware(c)}.\n` +
      (notice ? `Note: ${oneLine(notice)}\n` : '') +
      (c.cloudInit ? cloudCreatedHint(vm) : `Start it with: ${PROG} start ${shellQuote(vm.name)}`),
  );
}

/**
 * "Q35 (modern, PCIe) (q35), UEFI (OVMF) (uefi), Secure Boot, TPM 2.0, Standard VGA (std)": the
 * machine, firmware and devices in one phrase, each label with the value its option takes.
 */
function describeHardware(c: VmSummary['config']): string {
  // The firmware by its name on the VM's architecture: UEFI is OVMF on x86, AAVMF on ARM.
  const bits = [
    labelWithValue('machine', c.machine),
    `${firmwareLabel(c.arch, c.firmware)} (${c.firmware})`,
  ];
  // x86-64 goes without saying, as it did before there was a choice.
  if (c.arch !== 'x86_64') bits.unshift(ARCH_LABELS[c.arch]);
  if (c.secureBoot) bits.push('Secure Boot');
  if (c.tpm) bits.push('TPM 2.0');
  bits.push(labelWithValue('video', c.video));
  if (c.sound !== 'none') bits.push(labelWithValue('sound', c.sound));
  return bits.join(', ');
}

interface SetOpts extends JsonOpt {
  name?: string;
  arch?: VmArch;
  memory?: number;
  cpus?: number;
  firmware?: (typeof FIRMWARES)[number];
  machine?: (typeof MACHINE_TYPES)[number];
  sound?: (typeof SOUND_MODELS)[number];
  tpm?: boolean;
  secureBoot?: boolean;
  /** Whether the app asks before Power off, Reset and Revert (the CLI never asks). */
  askFirst?: boolean;
  balloon?: boolean;
  /** Gone from `set`: forwards are `forward add|rm` now (they change live). */
  forward?: string;
  forwards?: boolean;
  public?: boolean;
}

async function cmdSet(ref: string, opts: SetOpts): Promise<void> {
  const patch: Params<'vm.update'>['patch'] = {
    ...(opts.name !== undefined && { name: opts.name }),
    ...(opts.arch !== undefined && { arch: opts.arch }),
    ...(opts.memory !== undefined && { memoryMiB: opts.memory }),
    ...(opts.cpus !== undefined && { cpuCount: opts.cpus }),
    ...(opts.firmware !== undefined && { firmware: opts.firmware }),
    ...(opts.machine !== undefined && { machine: opts.machine }),
    ...(opts.sound !== undefined && { sound: opts.sound }),
    ...(opts.tpm !== undefined && { tpm: opts.tpm }),
    ...(opts.secureBoot !== undefined && { secureBoot: opts.secureBoot }),
    ...(opts.askFirst !== undefined && { confirmDestructive: opts.askFirst }),
    ...(opts.balloon !== undefined && { balloon: opts.balloon }),
  };
  if (opts.forward !== undefined || opts.forwards === false || opts.public) {
    const vm = shellQuote(ref);
    throw new UsageError(
      `Port forwards have their own commands, which also change them while the VM runs: ${PROG} forward add ${vm} RULE [--public], ${PROG} forward rm ${vm} HOSTPORT, ${PROG} forward list ${vm}`,
    );
  }
  if (Object.keys(patch).length === 0) {
    throw new UsageError(
      'Nothing to change: give --name, --arch, --memory, --cpus, --firmware, --machine, --sound, --tpm/--no-tpm, --secure-boot/--no-secure-boot or --ask-first/--no-ask-first (cards: vivarium nic; forwards: vivarium forward)',
    );
  }
  const vm = await call(
    'vm.update',
    { vm: ref, patch },
    {
      vm: 'NAME',
      'patch.name': '--name',
      'patch.arch': '--arch',
      'patch.memoryMiB': '--memory',
      'patch.cpuCount': '--cpus',
      'patch.firmware': '--firmware',
      'patch.machine': '--machine',
      'patch.sound': '--sound',
      'patch.tpm': '--tpm',
      'patch.secureBoot': '--secure-boot',
      'patch.confirmDestructive': '--ask-first',
    },
  );
  const c = vm.config;
  const cpus = `${c.cpu.count} CPU${c.cpu.count === 1 ? '' : 's'}`;
  printVm(
    vm,
    opts,
    `Updated ${vm.name}: ${cpus}, ${formatMiB(c.memoryMiB)}, ${describeHardware(c)}.`,
  );
}

async function cmdStatus(ref: string, opts: JsonOpt): Promise<void> {
  const vm = await call('vm.get', { vm: ref }, { vm: 'NAME' });
  const cards = await call('nic.list', { vm: vm.id });
  if (opts.json) return printJson({ ...vmJson(vm), nics: cards });
  const rt = vm.runtime;
  const c = vm.config;
  const lines = [`Name:    ${vm.name}`, `Id:      ${vm.id}`, `State:   ${describeState(vm)}`];
  const up = isGuestUp(rt.state) ? formatUptime(rt.startedAt) : null;
  if (up) lines.push(`Uptime:  ${up}`);
  lines.push(`Arch:    ${c.arch}${rt.accel ? ` (${rt.accel})` : ''}`);
  lines.push(
    `Machine: ${c.cpu.count} CPU${c.cpu.count === 1 ? '' : 's'}, ${formatMiB(c.memoryMiB)}, ${describeHardware(c)}, OS ${c.os}`,
  );
  if (c.cdrom) {
    // An uploaded image lives in a sha256 folder of the cache: its own name says what it is.
    const name = cdromDisplayName(c.cdrom, await call('media.list', {}));
    lines.push(
      name === baseName(c.cdrom) ? `CD-ROM:  ${c.cdrom}` : `CD-ROM:  ${name}  (${c.cdrom})`,
    );
  }
  const guest = vm.guest;
  if (guest?.ready) {
    const after = guest.readySeconds !== null ? ` in ${guest.readySeconds} s` : '';
    lines.push(
      `Ready:   yes${after}${guest.via ? ` (${guest.via === 'ssh' ? 'SSH' : 'guest agent'} answered)` : ''}`,
    );
  } else if (guest && isGuestUp(rt.state)) {
    lines.push('Ready:   not yet (the guest has not answered over SSH)');
  }
  if (guest?.ssh)
    lines.push(`SSH:     ${guest.ssh.command}   (or: ${PROG} ssh ${shellQuote(vm.name)})`);
  const os = guest?.agent?.os;
  if (os) lines.push(`Guest:   ${os.prettyName ?? `${os.name} ${os.version ?? ''}`.trim()}`);
  if (guest?.agent?.addresses.length) lines.push(`Address: ${guest.agent.addresses.join(', ')}`);
  if (c.kernelBoot) lines.push(`Kernel:  ${c.kernelBoot.kernel}`);
  // Aligned with the other facts: "Card 1:  ..." with its forwards below.
  if (cards.length === 0) lines.push('Network: no network cards');
  for (const l of cards.length ? cardLines(cards) : []) {
    lines.push(l.startsWith(' ') ? `       ${l}` : l.replace(/^(Card \d+:) /, '$1  '));
  }
  lines.push(`Folder:  ${vm.dir}`);
  if (rt.accelNotice) lines.push(`Notice:  ${oneLine(rt.accelNotice)}`);
  if (rt.lastExit && rt.state === 'crashed') {
    const how = rt.lastExit.signal
      ? `signal ${rt.lastExit.signal}`
      : `exit code ${rt.lastExit.code}`;
    lines.push(
      `Exit:    ${how}${rt.lastExit.stderrTail ? `: ${oneLine(rt.lastExit.stderrTail)}` : ''}`,
    );
  }
  if (rt.lastError) lines.push(`Error:   ${oneLine(rt.lastError)}`);
  writeOut(lines.join('\n'));
}

type SimpleOp = 'vm.start' | 'vm.pause' | 'vm.resume' | 'vm.reset';

async function cmdSimple(method: SimpleOp, ref: string, opts: JsonOpt): Promise<void> {
  const vm = await call(method, { vm: ref }, { vm: 'NAME' });
  const verb = {
    'vm.start': 'started',
    'vm.pause': 'paused',
    'vm.resume': 'resumed',
    'vm.reset': 'reset',
  }[method];
  let human = `${vm.name} ${verb}: ${describeState(vm)}`;
  if (method === 'vm.start' && vm.runtime.accelNotice) {
    human += `\nNote: ${oneLine(vm.runtime.accelNotice)}`;
  }
  printVm(vm, opts, human);
}

/**
 * Like `stop` of a stopped VM, `start` of a running one says so and succeeds: a script (or a
 * second terminal that raced the first) wanted it running, and it runs.
 */
async function cmdStart(ref: string, opts: JsonOpt): Promise<void> {
  try {
    const before = await call('vm.get', { vm: ref }, { vm: 'NAME' });
    if (before.runtime.state !== 'saved') return await cmdSimple('vm.start', ref, opts);
    const vm = await call('vm.start', { vm: ref }, { vm: 'NAME' });
    printVm(vm, opts, `${vm.name} resumed from its saved state: ${describeState(vm)}`);
  } catch (err) {
    if (!(err instanceof VivariumError) || err.code !== 'BAD_STATE') throw err;
    const vm = await call('vm.get', { vm: ref }, { vm: 'NAME' });
    if (vm.runtime.state !== 'running') throw err;
    printVm(vm, opts, `${vm.name} is already running: ${describeState(vm)}`);
  }
}

interface StopOpts extends JsonOpt {
  force?: boolean;
  timeout?: number;
}

async function cmdStop(ref: string, opts: StopOpts): Promise<void> {
  const before = await call('vm.get', { vm: ref }, { vm: 'NAME' });
  if (before.runtime.state === 'stopped') {
    printVm(before, opts, `${before.name} is already stopped`);
    return;
  }
  if (before.runtime.state === 'saved') {
    const name = shellQuote(before.name);
    printVm(
      before,
      opts,
      `${before.name} is saved to disk, not running: ${PROG} start ${name} resumes it, ` +
        `${PROG} discard-state ${name} drops the saved state.`,
    );
    return;
  }
  if (opts.force) {
    const vm = await call('vm.powerOff', { vm: ref }, { vm: 'NAME' });
    printVm(vm, opts, `${vm.name} powered off: ${describeState(vm)}`);
    return;
  }
  const seconds = opts.timeout ?? 60;
  const timeoutMs = Math.round(seconds * 1000);
  const res = await call('vm.shutdown', { vm: ref, timeoutMs }, { timeoutMs: '--timeout' });
  if (!res.stopped) {
    const why = oneLine(res.reason ?? `The guest did not power off within ${seconds} s`).replace(
      /[.\s]+$/,
      '',
    );
    throw new VivariumError(
      'TIMEOUT',
      `${why}. To power it off anyway: ${PROG} stop ${shellQuote(before.name)} --force`,
    );
  }
  const vm = await call('vm.get', { vm: before.id });
  printVm(vm, opts, `${vm.name} shut down: ${describeState(vm)}`);
}

async function cmdScreenshot(ref: string, file: string, opts: JsonOpt): Promise<void> {
  const res = await call(
    'vm.screenshot',
    { vm: ref, file: resolve(file) },
    { vm: 'NAME', file: 'FILE' },
  );
  if (opts.json) return printJson(res);
  writeOut(`Saved a ${res.width}x${res.height} screenshot to ${res.file}`);
}

interface DeleteOpts extends JsonOpt {
  keepDisks?: boolean;
}

async function cmdDelete(ref: string, opts: DeleteOpts): Promise<void> {
  const res = await call(
    'vm.delete',
    { vm: ref, keepDisks: Boolean(opts.keepDisks) },
    { vm: 'NAME' },
  );
  if (opts.json) return printJson(res);
  const lines = [`Deleted ${ref}`];
  for (const f of res.keptFiles) lines.push(`Kept: ${f}`);
  writeOut(lines.join('\n'));
}

/** `host`, `list`, `create`, `set`, `start`, `status`, `pause`, `resume`, `reset`, `stop`, `screenshot`. */
export function registerVmCommands(kit: CliKit): void {
  const { cmd, run } = kit;
  cmd('host', 'show QEMU, accelerators and firmware found on this computer').action(run(cmdHost));
  cmd('list', 'list the VMs').alias('ls').action(run(cmdList));

  cmd('create', 'create a VM')
    .argument('<name>', 'a name for the VM (any text)')
    .addOption(new Option('--iso <path>', 'boot this installer or live ISO').conflicts('kernel'))
    .option('--kernel <path>', 'boot this Linux kernel directly')
    .option('--initrd <path>', 'initrd for --kernel')
    .option('--append <text>', 'kernel command line for --kernel')
    .option('--memory <MiB>', 'memory in MiB (or a size like 2G)', parseMemory)
    .option('--cpus <n>', 'number of virtual CPUs', parseNumber('The CPU count'))
    .option('--disk <size>', 'size of a new thin disk, like 20G; 0 for none')
    .option('--os <id>', 'guest OS id from the catalogue (sets defaults)')
    .addOption(
      new Option(
        '--arch <arch>',
        "the guest's architecture (default x86_64); its preset picks machine, firmware and devices",
      ).choices(VM_ARCHES),
    )
    .addOption(new Option('--firmware <type>', 'firmware').choices(FIRMWARES))
    .addOption(new Option('--machine <type>', 'machine type').choices(MACHINE_TYPES))
    .addOption(new Option('--sound <model>', 'sound card the guest sees').choices(SOUND_MODELS))
    .option('--tpm', 'give it a TPM 2.0 (needs swtpm)')
    .option('--no-tpm', 'no TPM, even where the --os profile wants one')
    .option('--secure-boot', 'UEFI Secure Boot with Microsoft keys (needs --firmware uefi, q35)')
    .option('--no-secure-boot', 'no Secure Boot, even where the --os profile wants it')
    .option('--cloud <os>', "make it from the catalogue's cloud image of OS, ready to ssh into")
    .option('--cloud-version <version>', 'the version of --cloud OS (default: the newest)')
    .addOption(
      new Option('--cloud-image <file>', 'make it from this cloud image (qcow2 or raw)').conflicts(
        'iso',
      ),
    )
    .option('--user <name>', 'the login to create in a cloud guest (default: yours)')
    .option('--ssh-key <file.pub>', 'authorise this public key (repeat it)', collectKeyFile)
    .option('--password-stdin', "read the login's password from stdin")
    .option('--hostname <name>', "the cloud guest's host name (default: from the VM name)")
    .option('--copy', 'copy the cloud image instead of a thin overlay on it')
    .option(
      '--network <where>',
      'where its first card goes: nat (default), network:NAME, bridge:BRIDGE or none (no card); more cards: vivarium nic add',
    )
    .addOption(
      new Option('--nic-model <model>', 'the first card the guest sees').choices(NIC_MODELS),
    )
    .action(run((name: string, o: CreateOpts) => cmdCreate(kit, name, o)));

  cmd('set', "rename a VM or change a stopped VM's hardware")
    .argument('<name>')
    .option('--name <new>', 'a new name for the VM')
    .addOption(
      new Option(
        '--arch <arch>',
        'move a stopped VM without snapshots to another architecture (its preset picks machine and firmware)',
      ).choices(VM_ARCHES),
    )
    .option('--memory <MiB>', 'memory in MiB (or a size like 2G)', parseMemory)
    .option('--cpus <n>', 'number of virtual CPUs', parseNumber('The CPU count'))
    .addOption(new Option('--firmware <type>', 'firmware').choices(FIRMWARES))
    .addOption(new Option('--machine <type>', 'machine type').choices(MACHINE_TYPES))
    .addOption(new Option('--sound <model>', 'sound card the guest sees').choices(SOUND_MODELS))
    .option('--tpm', 'give it a TPM 2.0 (needs swtpm)')
    .option('--no-tpm', 'take its TPM away (its state is kept for when it comes back)')
    .option('--secure-boot', 'turn UEFI Secure Boot on (needs --firmware uefi, q35)')
    .option('--no-secure-boot', 'turn Secure Boot off')
    .option('--ask-first', 'the app asks before Power off, Reset and Revert (the default)')
    .option('--no-ask-first', 'the app powers off, resets and reverts this VM without asking')
    .option('--balloon', 'give it a memory balloon (its memory can then change while it runs)')
    .option('--no-balloon', 'take its memory balloon away')
    // Forwards moved to `forward add|rm`: these only say so.
    .addOption(new Option('--forward <rule>').hideHelp())
    .addOption(new Option('--no-forwards').hideHelp())
    .addOption(new Option('--public').hideHelp())
    .action(run(cmdSet));
  cmd('start', 'start a VM and wait until it runs').argument('<name>').action(run(cmdStart));
  cmd('status', 'show a VM and its state').argument('<name>').action(run(cmdStatus));
  cmd('pause', 'pause a running VM')
    .argument('<name>')
    .action(run((name: string, o: JsonOpt) => cmdSimple('vm.pause', name, o)));
  cmd('resume', 'resume a paused VM')
    .argument('<name>')
    .action(run((name: string, o: JsonOpt) => cmdSimple('vm.resume', name, o)));
  cmd('reset', 'hard-reset a VM (like the reset button)')
    .argument('<name>')
    .action(run((name: string, o: JsonOpt) => cmdSimple('vm.reset', name, o)));
  cmd('stop', 'shut a VM down with the ACPI power button and wait; --force powers it off')
    .argument('<name>')
    .option('--force', 'power off at once (like pulling the plug)')
    .option(
      '--timeout <seconds>',
      'how long to wait for the guest to power off (default 60)',
      parseNumber('The timeout'),
    )
    .action(run(cmdStop));
  cmd('screenshot', 'save a PNG of the VM display')
    .argument('<name>')
    .argument('<file>', 'the PNG file to write')
    .action(run(cmdScreenshot));
}

/** `delete` (registered after the console commands: `--help` lists it there). */
export function registerDeleteCommand(kit: CliKit): void {
  const { cmd, run } = kit;
  cmd('delete', 'delete a stopped VM and its files')
    .alias('rm')
    .argument('<name>')
    .option('--keep-disks', 'keep the disk images')
    .action(run(cmdDelete));
}
