// PLACEHOLDER until the ssh helper's branch merges (same signature).
export interface SshCommandOptions {
  user: string;
  port: number;
  host?: string;
  keyFile?: string;
  knownHostsFile?: string;
}
export function sshCommandLine(o: SshCommandOptions): { argv: string[]; display: string } {
  const host = o.host ?? '127.0.0.1';
  const argv = ['-p', String(o.port)];
  if (o.keyFile) argv.push('-i', o.keyFile, '-o', 'IdentitiesOnly=yes');
  if (o.knownHostsFile)
    argv.push(
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      `UserKnownHostsFile=${o.knownHostsFile}`,
    );
  argv.push(`${o.user}@${host}`);
  return { argv, display: `ssh -p ${o.port} ${o.user}@${host}` };
}
