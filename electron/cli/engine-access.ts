/**
 * The CLI's one engine per process: opened on first use as a short-lived 'oneshot' client (or as
 * the 'owner' of the VMs for `serve`), and every call validated against the contract first so a
 * bad value is reported with the flag that carried it.
 */
import { methods, type ApiResults, type Method, type Params } from '../../common/contract';
import { fieldErrors } from '../../common/validation';
import { openEngine, VivariumError, type Engine } from '../engine';

let enginePromise: Promise<Engine> | null = null;

/** A CLI command is a short-lived 'oneshot' client; `serve` owns the VMs like the app does. */
export function engine(role: 'oneshot' | 'owner' = 'oneshot'): Promise<Engine> {
  enginePromise ??= openEngine({ role });
  return enginePromise;
}

/** Lets go of the engine's connections (the VMs keep running); the next call opens it again. */
export async function closeEngine(): Promise<void> {
  const p = enginePromise;
  enginePromise = null;
  if (p) await (await p).close();
}

/** Which flag (or argument) the user typed for each request field, for error messages. */
export type FlagNames = Record<string, string>;

/**
 * Validates with the contract's own schema first, so a bad value gets the contract's words
 * plus the flag that carried it, then calls the engine (which validates again).
 */
export async function call<M extends Method>(
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
    throw new VivariumError(
      'INVALID_REQUEST',
      `${issue?.message ?? 'Invalid request'}${where}`,
      fieldErrors(parsed.error.issues),
    );
  }
  return (await engine()).call(method, params);
}
