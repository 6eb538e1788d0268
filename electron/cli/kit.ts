import type { Command } from 'commander';
import type { ApiResults, Method, Params } from '../../common/contract';
import type { Engine } from '../engine';
import { call, engine } from './engine-access';
import { formatBytes, printJson, table, writeOut } from './output';

/** What the command modules in electron/cli/ register through (VMs, snapshots, catalog...). */
export interface CliKit {
  /** A subcommand with the shared `--json` option. */
  cmd: (nameAndArgs: string, description: string) => Command;
  /** The program itself, for command groups (`snapshot list|create|...`). */
  program: Command;
  /** Wraps an action so it receives only the positional arguments and options. */
  run: <A extends unknown[]>(
    fn: (...args: A) => Promise<void>,
  ) => (...args: unknown[]) => Promise<void>;
  /** Validates against the contract (naming the flag on error) and calls the engine. */
  call<M extends Method>(
    method: M,
    params: Params<M>,
    flags?: Record<string, string>,
  ): Promise<ApiResults[M]>;
  engine(): Promise<Engine>;
  printJson(value: unknown): void;
  writeOut(text: string): void;
  table(headers: string[], rows: string[][]): string;
  formatBytes(n: number): string;
}

export function createKit(program: Command): CliKit {
  return {
    program,
    cmd: (nameAndArgs, description) =>
      program
        .command(nameAndArgs)
        .description(description)
        .option('--json', 'machine-readable output on stdout'),
    run:
      <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
      (...args: unknown[]) =>
        fn(...(args.slice(0, -1) as A)),
    call,
    engine: () => engine(),
    printJson,
    writeOut,
    table,
    formatBytes,
  };
}
