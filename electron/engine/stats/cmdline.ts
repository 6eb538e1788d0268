/** A command line as a person pastes it into a POSIX shell: one word per argument, quoted. */

/** Quotes one argument when the shell would read anything in it specially. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The whole command, one argument per continued line from the second option on (readable). */
export function shellCommand(argv: readonly string[]): string {
  const [binary = '', ...rest] = argv;
  const lines: string[] = [shellQuote(binary)];
  for (const arg of rest) {
    const quoted = shellQuote(arg);
    // Each option starts a new line; its value stays beside it.
    const last = lines.length - 1;
    if (arg.startsWith('-') || last === 0) lines.push(quoted);
    else lines[last] = `${lines[last] ?? ''} ${quoted}`;
  }
  return lines.join(' \\\n  ');
}
