import { toApiError } from '../bridge';

/** An engine call's answer for a form: the value, or the engine's message to show inline. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; message: string };

export async function outcome<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, message: toApiError(err).message };
  }
}
