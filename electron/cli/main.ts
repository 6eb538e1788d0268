/**
 * `vivarium`: the command line on the same engine as the app. Every command takes `--json`
 * (machine output on stdout and nothing else there); errors are one line on stderr
 * (`vivarium: <message>`), exit 1, or exit 2 for usage errors.
 */
import { Command, CommanderError } from 'commander';
import pkg from '../../package.json';
import { keepFilesPrivate, toErrorBody } from '../engine';
import { registerInteropCommands } from './interop-commands';
import { registerCatalogCommands } from './catalog-commands';
import { registerCloudCommands } from './cloud-commands';
import { registerConsoleCommands } from './console-commands';
import { closeEngine } from './engine-access';
import { createKit } from './kit';
import { registerMigrateCommand } from './migrate-command';
import { registerNetworkCommands } from './network-commands';
import { registerNicCommands } from './nic-commands';
import { registerRemovableCommands } from './removable-commands';
import { flush, jsonMode, oneLine, printJson, PROG, reportError, UsageError } from './output';
import { registerSaveStateCommands } from './savestate-commands';
import { registerServeCommand } from './serve-command';
import { registerShareCommands } from './share-commands';
import { registerStatsCommands } from './stats-commands';
import { registerStorageCommands } from './storage-commands';
import { registerDeleteCommand, registerVmCommands } from './vm-commands';

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

  // In the order `--help` lists them.
  const kit = createKit(program);
  registerStorageCommands(kit);
  registerCatalogCommands(kit);
  registerVmCommands(kit);
  registerSaveStateCommands(kit);
  registerNicCommands(kit);
  registerRemovableCommands(kit);
  registerShareCommands(kit);
  registerNetworkCommands(kit);
  registerConsoleCommands(kit);
  registerStatsCommands(kit);
  registerCloudCommands(kit);
  registerDeleteCommand(kit);
  registerMigrateCommand(kit);
  registerInteropCommands(kit);
  registerServeCommand(kit);
  return program;
}

async function main(argv: string[]): Promise<number> {
  keepFilesPrivate();
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
