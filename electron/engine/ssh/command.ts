/** The ssh command that reaches a guest through its host port forward. Pure. */

export interface SshTarget {
  user: string;
  port: number;
  host?: string;
  /** A private key made for this VM; `IdentitiesOnly` keeps the agent's other keys out. */
  keyFile?: string;
  /** A known_hosts file of the VM's own: a guest's host key changes when it is recreated. */
  knownHostsFile?: string;
}

export interface SshCommandLine {
  /** Complete argv, `ssh` first: what `vivarium ssh` runs (a remote command may follow). */
  argv: string[];
  /** What a person reads and copies: `ssh -p 2222 user@127.0.0.1` (no options). */
  display: string;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function sshCommandLine(target: SshTarget): SshCommandLine {
  const host = target.host ?? '127.0.0.1';
  const dest = `${target.user}@${host}`;
  const port = String(target.port);
  const options: string[] = [];
  if (target.keyFile) options.push('-i', target.keyFile, '-o', 'IdentitiesOnly=yes');
  if (target.knownHostsFile) {
    options.push(
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      `UserKnownHostsFile=${target.knownHostsFile}`,
    );
  }
  return {
    argv: ['ssh', '-p', port, ...options, dest],
    display: ['ssh', '-p', port, dest].map(shellQuote).join(' '),
  };
}
