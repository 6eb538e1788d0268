/**
 * How a failed schema check reaches a user: one message per field for forms (the engine's
 * ApiErrorBody.fields, the Settings and New-VM forms) and one sentence for a CLI or a toast.
 * Takes zod's issue shape without importing zod, so every layer can use it.
 */
export interface SchemaIssue {
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
}

/** Dotted field path -> the first message for it ('_' for the whole object). */
export function fieldErrors(issues: readonly SchemaIssue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || '_';
    out[key] ??= issue.message;
  }
  return out;
}

/** "memoryMiB: Give the VM at least 16 MiB of memory" (the first issue, where it is). */
export function firstIssueMessage(issues: readonly SchemaIssue[], fallback = 'invalid'): string {
  const first = issues[0];
  if (!first) return fallback;
  const where = first.path.length ? `${first.path.map(String).join('.')}: ` : '';
  return `${where}${first.message}`;
}
