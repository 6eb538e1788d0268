/**
 * The commands that stay attached: `serial` and `monitor` join this terminal to a VM's console
 * socket (Ctrl-] detaches), `logs` prints (and with --follow keeps printing) the QEMU or serial log.
 */
import { open, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { VivariumError } from '../engine';
import { call, closeEngine, engine } from './engine-access';
import type { CliKit } from './kit';
import { printJson, PROG, shellQuote, type JsonOpt } from './output';
import { waitForSignal } from './signals';

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

/** `serial`, `monitor`, `logs`. */
export function registerConsoleCommands(kit: CliKit): void {
  const { cmd, run } = kit;
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
}
