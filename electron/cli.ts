/**
 * `vivarium`: the command line on the same engine as the app. Every command takes `--json`
 * (machine output on stdout and nothing else there); errors are one line on stderr
 * (`vivarium: <message>`), exit 1, or exit 2 for usage errors.
 */
import type { CliKit } from './cli/kit';
import { registerStorageCommands } from './cli/storage-commands';
import { registerCatalogCommands } from './cli/catalog-commands';
import { open, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  FIRMWARES,
  MACHINE_TYPES,
  SOUND_MODELS,
  methods,
  type ApiErrorBody,
  type ApiResults,
  type HostInfo,
  type Method,
  type Params,
  type VmSummary,
} from '../common/contract';
import pkg from '../package.json';
import { openEngine, toErrorBody, VivariumError, type Engine } from './engine';

const PROG = 'vivarium';

// ---------------------------------------------------------------------------------------------
// Output

const jsonMode = process.argv.slice(2).includes('--json');

function writeOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  writeOut(JSON.stringify(value, null, 2));
}

/** Collapses a message to the one line the CLI promises on stderr. */
function oneLine(message: string): string {
  return message.replace(/\s*\r?\n\s*/g, ' ').trim();
}

function reportError(body: ApiErrorBody): void {
  process.stderr.write(`${PROG}: ${oneLine(body.message)}\n`);
  if (jsonMode) printJson({ error: body });
}

/** Quotes a VM name for a command the user can paste into a POSIX shell. */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9._\-/:=@+]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function formatMiB(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

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
    os: config.os,
    cpus: config.cpu.count,
    memoryMiB: config.memoryMiB,
    dir: vm.dir,
    accelNotice: rt.accelNotice ?? null,
    lastError: rt.lastError ?? null,
    lastExit: rt.lastExit ?? null,
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

// ---------------------------------------------------------------------------------------------
// Engine access

let enginePromise: Promise<Engine> | null = null;

/** A CLI command is a short-lived 'oneshot' client; `serve` owns the VMs like the app does. */
function engine(role: 'oneshot' | 'owner' = 'oneshot'): Promise<Engine> {
  enginePromise ??= openEngine({ role });
  return enginePromise;
}

async function closeEngine(): Promise<void> {
  const p = enginePromise;
  enginePromise = null;
  if (p) await (await p).close();
}

/** Which flag (or argument) the user typed for each request field, for error messages. */
type FlagNames = Record<string, string>;

/**
 * Validates with the contract's own schema first, so a bad value gets the contract's words
 * plus the flag that carried it, then calls the engine (which validates again).
 */
async function call<M extends Method>(
  method: M,
  params: Params<M>,
  flags: FlagNames = {},
): Promise<ApiResults[M]> {
  const parsed = methods[method].safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue ? issue.path.map(String) : [];
    // The most specific name the flags know: 'patch.memoryMiB' before 'patch'.
    let depth = path.length;
    while (depth > 1 && flags[path.slice(0, depth).join('.')] === undefined) depth--;
    const key = path.slice(0, depth).join('.');
    const flag = flags[key];
    let raw: unknown = params;
    for (const k of path.slice(0, depth)) raw = (raw as Record<string, unknown> | undefined)?.[k];
    const shown = typeof raw === 'string' || typeof raw === 'number' ? ` ${raw}` : '';
    const where = flag ? ` (${flag}${flag.startsWith('-') ? shown : ''})` : '';
    const fields: Record<string, string> = {};
    for (const i of parsed.error.issues) fields[i.path.join('.') || '_'] = i.message;
    throw new VivariumError(
      'INVALID_REQUEST',
      `${issue?.message ?? 'Invalid request'}${where}`,
      fields,
    );
  }
  return (await engine()).call(method, params);
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Option parsers

const NUMBER_RE = /^[+-]?\d+(\.\d+)?$/;

function parseMemory(value: string): number {
  const v = value.trim();
  if (NUMBER_RE.test(v)) return Number(v);
  const m = /^(\d+(?:\.\d+)?)\s*([MGT])(?:i?B)?$/i.exec(v);
  if (m) {
    const factor = { M: 1, G: 1024, T: 1024 * 1024 }[m[2]!.toUpperCase() as 'M' | 'G' | 'T'];
    return Number(m[1]) * factor;
  }
  throw new InvalidArgumentError('Memory is a number of MiB, like 2048, or a size like 2G.');
}

function parseNumber(what: string) {
  return (value: string): number => {
    if (!NUMBER_RE.test(value.trim())) throw new InvalidArgumentError(`${what} is a number.`);
    return Number(value);
  };
}

// ---------------------------------------------------------------------------------------------
// Commands

interface JsonOpt {
  json?: boolean;
}

function printVm(vm: VmSummary, opts: JsonOpt, human: string): void {
  if (opts.json) printJson(vmJson(vm));
  else writeOut(human);
}

async function cmdHost(opts: JsonOpt): Promise<void> {
  const info: HostInfo = await call('host.info', { refresh: false });
  if (opts.json) return printJson(info);
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
  lines.push(`Data:         ${info.dataDir}`);
  const fw = info.firmware;
  lines.push(`BIOS:         ${fw.seabios ?? 'not found'}`);
  lines.push(`UEFI:         ${fw.ovmfCode ?? 'not found (install ovmf for UEFI guests)'}`);
  if (info.notices.length) {
    lines.push('Notices:');
    for (const n of info.notices) lines.push(`  - ${oneLine(n)}`);
  }
  writeOut(lines.join('\n'));
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
      ['NAME', 'STATE', 'CPUS', 'MEMORY', 'OS'],
      vms.map((vm) => [
        vm.name,
        vm.runtime.state,
        String(vm.config.cpu.count),
        formatMiB(vm.config.memoryMiB),
        vm.config.os,
      ]),
    ),
  );
}

interface CreateOpts extends JsonOpt {
  iso?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  memory?: number;
  cpus?: number;
  disk?: string;
  os?: string;
  firmware?: (typeof FIRMWARES)[number];
  machine?: (typeof MACHINE_TYPES)[number];
  sound?: (typeof SOUND_MODELS)[number];
  tpm?: boolean;
  secureBoot?: boolean;
}

async function cmdCreate(name: string, opts: CreateOpts): Promise<void> {
  if (!opts.iso && !opts.kernel) {
    throw new UsageError('Give the install media: --iso PATH, or --kernel PATH [--initrd PATH]');
  }
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
    ...(opts.firmware !== undefined && { firmware: opts.firmware }),
    ...(opts.machine !== undefined && { machine: opts.machine }),
    ...(opts.sound !== undefined && { sound: opts.sound }),
    ...(opts.tpm !== undefined && { tpm: opts.tpm }),
    ...(opts.secureBoot !== undefined && { secureBoot: opts.secureBoot }),
  };
  const vm = await call('vm.create', req, {
    name: 'NAME',
    os: '--os',
    iso: '--iso',
    kernel: '--kernel',
    initrd: '--initrd',
    append: '--append',
    memoryMiB: '--memory',
    cpus: '--cpus',
    diskSize: '--disk',
    firmware: '--firmware',
    machine: '--machine',
    sound: '--sound',
    tpm: '--tpm',
    secureBoot: '--secure-boot',
  });
  const c = vm.config;
  const cpus = `${c.cpu.count} CPU${c.cpu.count === 1 ? '' : 's'}`;
  const disks = c.disks.length ? `, ${c.disks.length} disk${c.disks.length === 1 ? '' : 's'}` : '';
  printVm(
    vm,
    opts,
    `Created ${vm.name} (${vm.id}): ${cpus}, ${formatMiB(c.memoryMiB)}${disks}, ${c.machine}/${c.firmware}.\n` +
      `Start it with: ${PROG} start ${shellQuote(vm.name)}`,
  );
}

/** "q35/uefi, Secure Boot, TPM 2.0, sound hda": the firmware and devices in one phrase. */
function describeHardware(c: VmSummary['config']): string {
  const bits = [`${c.machine}/${c.firmware}`];
  if (c.secureBoot) bits.push('Secure Boot');
  if (c.tpm) bits.push('TPM 2.0');
  if (c.sound !== 'none') bits.push(`sound ${c.sound}`);
  return bits.join(', ');
}

interface SetOpts extends JsonOpt {
  memory?: number;
  cpus?: number;
  firmware?: (typeof FIRMWARES)[number];
  machine?: (typeof MACHINE_TYPES)[number];
  sound?: (typeof SOUND_MODELS)[number];
  tpm?: boolean;
  secureBoot?: boolean;
}

async function cmdSet(ref: string, opts: SetOpts): Promise<void> {
  const patch: Params<'vm.update'>['patch'] = {
    ...(opts.memory !== undefined && { memoryMiB: opts.memory }),
    ...(opts.cpus !== undefined && { cpuCount: opts.cpus }),
    ...(opts.firmware !== undefined && { firmware: opts.firmware }),
    ...(opts.machine !== undefined && { machine: opts.machine }),
    ...(opts.sound !== undefined && { sound: opts.sound }),
    ...(opts.tpm !== undefined && { tpm: opts.tpm }),
    ...(opts.secureBoot !== undefined && { secureBoot: opts.secureBoot }),
  };
  if (Object.keys(patch).length === 0) {
    throw new UsageError(
      'Nothing to change: give --memory, --cpus, --firmware, --machine, --sound, --tpm/--no-tpm or --secure-boot/--no-secure-boot',
    );
  }
  const vm = await call(
    'vm.update',
    { vm: ref, patch },
    {
      vm: 'NAME',
      'patch.memoryMiB': '--memory',
      'patch.cpuCount': '--cpus',
      'patch.firmware': '--firmware',
      'patch.machine': '--machine',
      'patch.sound': '--sound',
      'patch.tpm': '--tpm',
      'patch.secureBoot': '--secure-boot',
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
  if (opts.json) return printJson(vmJson(vm));
  const rt = vm.runtime;
  const c = vm.config;
  const lines = [`Name:    ${vm.name}`, `Id:      ${vm.id}`, `State:   ${describeState(vm)}`];
  const up = rt.state === 'running' || rt.state === 'paused' ? formatUptime(rt.startedAt) : null;
  if (up) lines.push(`Uptime:  ${up}`);
  lines.push(
    `Machine: ${c.cpu.count} CPU${c.cpu.count === 1 ? '' : 's'}, ${formatMiB(c.memoryMiB)}, ${describeHardware(c)}, OS ${c.os}`,
  );
  if (c.cdrom) lines.push(`CD-ROM:  ${c.cdrom}`);
  if (c.kernelBoot) lines.push(`Kernel:  ${c.kernelBoot.kernel}`);
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

interface LogsOpts extends JsonOpt {
  serial?: boolean;
  follow?: boolean;
}

const LOG_TAIL_BYTES = 256 * 1024;

async function cmdLogs(ref: string, opts: LogsOpts): Promise<void> {
  const kind = opts.serial ? 'serial' : 'qemu';
  const res = await call('vm.log', { vm: ref, kind }, { vm: 'NAME' });
  if (!opts.follow) {
    if (opts.json) return printJson(res);
    if (res.truncated) {
      process.stderr.write(`${PROG}: showing the end of the log; the whole log is ${res.file}\n`);
    }
    if (res.text) process.stdout.write(res.text);
    return;
  }
  // Follow: read the file ourselves from a byte offset so nothing is printed twice or lost.
  await closeEngine();
  await followFile(res.file, Boolean(opts.json));
}

function emitChunk(text: string, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify({ text })}\n`);
  else process.stdout.write(text);
}

async function followFile(file: string, json: boolean): Promise<void> {
  let offset = 0;
  try {
    const size = (await stat(file)).size;
    offset = Math.max(0, size - LOG_TAIL_BYTES);
  } catch {
    // Not written yet (the VM never ran): print from the start once it appears.
  }
  let reading = false;
  const readMore = async () => {
    if (reading) return;
    reading = true;
    try {
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch {
        return;
      }
      if (size < offset) offset = 0; // truncated: QEMU restarted and began a new log
      if (size === offset) return;
      const fh = await open(file, 'r');
      try {
        while (offset < size) {
          const buf = Buffer.alloc(Math.min(size - offset, 1024 * 1024));
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          emitChunk(buf.subarray(0, bytesRead).toString('utf8'), json);
        }
      } finally {
        await fh.close();
      }
    } finally {
      reading = false;
    }
  };
  await readMore();
  const timer = setInterval(() => void readMore(), 250);
  await waitForSignal();
  clearInterval(timer);
  await readMore();
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    const done = (sig: NodeJS.Signals) => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      process.off('SIGHUP', done);
      res(sig);
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    process.on('SIGHUP', done);
  });
}

/** How long a console with piped (ended) stdin stays attached after the guest's last output. */
const PIPED_LINGER_MS = 2000;
const DETACH_BYTE = 0x1d; // Ctrl-]

async function cmdConsole(ref: string, kind: 'serial' | 'monitor'): Promise<void> {
  const eng = await engine();
  const vm = await call('vm.get', { vm: ref }, { vm: 'NAME' });
  const path = await eng.consoleSocket(vm.id, kind);
  // Let go of the engine (and its QMP connections) while attached: other commands need them.
  await closeEngine();

  const sock: Socket = await new Promise((res, rej) => {
    const s = connect(path);
    s.once('connect', () => res(s));
    s.once('error', (err) =>
      rej(
        new VivariumError(
          'QEMU_FAILED',
          `Could not attach to the ${kind} console of ${vm.name} (${err.message}). Check that it is running: ${PROG} status ${shellQuote(vm.name)}`,
        ),
      ),
    );
  });

  const stdin = process.stdin;
  const tty = stdin.isTTY;
  const what = kind === 'serial' ? 'serial console' : 'QEMU monitor';
  process.stderr.write(
    tty
      ? `Attached to the ${what} of ${vm.name}. Press Ctrl-] to detach.\n`
      : `Attached to the ${what} of ${vm.name} (stdin is not a terminal: detaching ${PIPED_LINGER_MS / 1000} s after input ends and output stops).\n`,
  );

  await new Promise<void>((done) => {
    let finished = false;
    let lingerTimer: NodeJS.Timeout | null = null;
    let stdinEnded = false;
    const finish = (note?: string) => {
      if (finished) return;
      finished = true;
      if (lingerTimer) clearTimeout(lingerTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      stdin.off('data', onInput);
      stdin.off('end', onInputEnd);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
      sock.off('close', onClose);
      sock.destroy();
      if (note) process.stderr.write(tty ? `\n${note}\n` : `${note}\n`);
      done();
    };
    const armLinger = () => {
      if (!stdinEnded) return;
      if (lingerTimer) clearTimeout(lingerTimer);
      lingerTimer = setTimeout(() => finish(), PIPED_LINGER_MS);
    };
    const onSignal = () => finish(tty ? 'Detached.' : undefined);
    const onClose = () => finish(`The ${what} of ${vm.name} closed.`);
    const onInput = (chunk: Buffer) => {
      if (tty) {
        const i = chunk.indexOf(DETACH_BYTE);
        if (i >= 0) {
          if (i > 0) sock.write(chunk.subarray(0, i));
          finish('Detached.');
          return;
        }
      }
      sock.write(chunk);
    };
    const onInputEnd = () => {
      stdinEnded = true;
      armLinger();
    };
    sock.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      armLinger();
    });
    sock.on('close', onClose);
    sock.on('error', () => {
      /* 'close' follows and reports it */
    });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    if (tty) stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.on('end', onInputEnd);
    stdin.resume();
  });
}

interface ServeOpts extends JsonOpt {
  host?: string;
  port?: number;
}

async function cmdServe(opts: ServeOpts): Promise<void> {
  const { startServer } = await import('./server');
  const eng = await engine('owner');
  // The built CLI is out/main/cli.js; the renderer is built to out/renderer.
  const staticDir = resolve(dirname(fileURLToPath(import.meta.url)), '../renderer');
  const server = await startServer({
    engine: eng,
    staticDir,
    ...(opts.host !== undefined && { host: opts.host }),
    ...(opts.port !== undefined && { port: opts.port }),
  });
  const url = server.url.includes('token=')
    ? server.url
    : `${server.url}${server.url.includes('?') ? '&' : '?'}token=${encodeURIComponent(server.token)}`;
  if (opts.json) writeOut(JSON.stringify({ url, port: server.port, token: server.token }));
  else writeOut(url);
  await waitForSignal();
  await server.close();
}

// ---------------------------------------------------------------------------------------------
// Program

function buildProgram(): Command {
  const program = new Command(PROG)
    .description('Virtual machines on QEMU, from the command line (the same engine as the app).')
    .version(pkg.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`${PROG}: ${oneLine(str.replace(/^error:\s*/i, ''))}\n`),
    })
    .showSuggestionAfterError();

  const cmd = (nameAndArgs: string, description: string) =>
    program
      .command(nameAndArgs)
      .description(description)
      .option('--json', 'machine-readable output on stdout');

  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    (...args: unknown[]) =>
      fn(...(args.slice(0, -1) as A));

  // Feature command modules in electron/cli/ register through this kit.
  const kit: CliKit = {
    cmd,
    program,
    run,
    call,
    engine: () => engine(),
    printJson,
    writeOut,
    table,
    formatBytes,
  };
  registerStorageCommands(kit);
  registerCatalogCommands(kit);

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
    .addOption(new Option('--firmware <type>', 'firmware').choices(FIRMWARES))
    .addOption(new Option('--machine <type>', 'machine type').choices(MACHINE_TYPES))
    .addOption(new Option('--sound <model>', 'sound card the guest sees').choices(SOUND_MODELS))
    .option('--tpm', 'give it a TPM 2.0 (needs swtpm)')
    .option('--no-tpm', 'no TPM, even where the --os profile wants one')
    .option('--secure-boot', 'UEFI Secure Boot with Microsoft keys (needs --firmware uefi, q35)')
    .option('--no-secure-boot', 'no Secure Boot, even where the --os profile wants it')
    .action(run(cmdCreate));

  cmd('set', "change a stopped VM's hardware")
    .argument('<name>')
    .option('--memory <MiB>', 'memory in MiB (or a size like 2G)', parseMemory)
    .option('--cpus <n>', 'number of virtual CPUs', parseNumber('The CPU count'))
    .addOption(new Option('--firmware <type>', 'firmware').choices(FIRMWARES))
    .addOption(new Option('--machine <type>', 'machine type').choices(MACHINE_TYPES))
    .addOption(new Option('--sound <model>', 'sound card the guest sees').choices(SOUND_MODELS))
    .option('--tpm', 'give it a TPM 2.0 (needs swtpm)')
    .option('--no-tpm', 'take its TPM away (its state is kept for when it comes back)')
    .option('--secure-boot', 'turn UEFI Secure Boot on (needs --firmware uefi, q35)')
    .option('--no-secure-boot', 'turn Secure Boot off')
    .action(run(cmdSet));
  cmd('start', 'start a VM and wait until it runs')
    .argument('<name>')
    .action(run((name: string, o: JsonOpt) => cmdSimple('vm.start', name, o)));
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
  cmd('serial', 'attach this terminal to the serial console (Ctrl-] detaches)')
    .argument('<name>')
    .action(run((name: string) => cmdConsole(name, 'serial')));
  cmd('monitor', 'attach this terminal to the QEMU monitor (Ctrl-] detaches)')
    .argument('<name>')
    .action(run((name: string) => cmdConsole(name, 'monitor')));
  cmd('logs', 'print the QEMU log (or, with --serial, what the guest printed on serial)')
    .argument('<name>')
    .option('--serial', 'the guest serial console log')
    .option(
      '-f, --follow',
      'keep printing what is appended until Ctrl-C (--json: one object a line)',
    )
    .action(run(cmdLogs));
  cmd('delete', 'delete a stopped VM and its files')
    .alias('rm')
    .argument('<name>')
    .option('--keep-disks', 'keep the disk images')
    .action(run(cmdDelete));
  cmd('serve', 'serve the app to a browser; prints the URL with its access token')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port (default: a free one)', parseNumber('The port'))
    .action(run(cmdServe));

  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command may fail without an error to print (`catalog check --json` with broken links).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
      // Commander already printed the one line (see configureOutput).
      if (jsonMode)
        printJson({
          error: {
            code: 'INVALID_REQUEST',
            message: oneLine(err.message.replace(/^error:\s*/i, '')),
          },
        });
      return 2;
    }
    if (err instanceof UsageError) {
      reportError({ code: 'INVALID_REQUEST', message: err.message });
      return 2;
    }
    const body = toErrorBody(err);
    if (body.code === 'INTERNAL' && process.env.VIVARIUM_DEBUG && err instanceof Error) {
      process.stderr.write(`${err.stack ?? err.message}\n`);
    }
    reportError(body);
    return 1;
  } finally {
    try {
      await closeEngine();
    } catch {
      // Closing only lets go of connections; the VMs keep running either way.
    }
  }
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((res) => {
    if (stream.writableLength === 0) return res();
    stream.write('', () => res());
  });
}

// A closed stdout (e.g. `vivarium list | head -1`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

let finished = false;
// If an awaited promise never settles and nothing else is pending, Node would exit 0 in silence:
// make that a visible failure instead.
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  reportError({
    code: 'INTERNAL',
    message:
      'The command ended without an answer from the engine (a bug): check the result with `vivarium list` and report it.',
  });
  process.exit(1);
});

void main(process.argv).then(async (code) => {
  finished = true;
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
});
