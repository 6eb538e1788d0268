/**
 * Ready-to-use guests from the command line: the `create` options that make a VM from a cloud
 * image (a local file, or the catalogue's, downloaded first), and `ssh`, which waits until the
 * guest answers and runs ssh with the VM's key.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CloudCreate, VmArch, VmSummary } from '../../common/contract';
import { VivariumError } from '../engine';
import { cloudMediaOf } from '../engine/catalog/catalog';
import { runDownload } from './catalog-commands';
import type { CliKit } from './kit';
import { PROG, shellQuote, UsageError } from './output';

export interface CloudOpts {
  json?: boolean;
  cloudImage?: string;
  cloud?: string;
  cloudVersion?: string;
  /** The VM's architecture: the catalogue's cloud image for it. */
  arch?: VmArch;
  user?: string;
  sshKey?: string[];
  passwordStdin?: boolean;
  hostname?: string;
  copy?: boolean;
}

/** Whether `create`'s options ask for a ready-to-use guest. */
export function wantsCloud(opts: CloudOpts): boolean {
  return opts.cloudImage !== undefined || opts.cloud !== undefined;
}

export function collectKeyFile(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The password from stdin (one line, as `passwd --stdin` and `docker login` read it). */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError('--password-stdin reads the password from a pipe: echo PASS | ...');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!password) throw new UsageError('--password-stdin got an empty password');
  return password;
}

/** `--cloud OS`: downloads (or finds in the cache) the catalogue's cloud image. */
async function catalogueImage(kit: CliKit, os: string, opts: CloudOpts): Promise<string> {
  const entry = await kit.call('catalog.get', { id: os }, { id: '--cloud' });
  const found = cloudMediaOf(entry, opts.cloudVersion, opts.arch)[0];
  if (!found) {
    const which =
      (opts.cloudVersion ? `${entry.name} ${opts.cloudVersion}` : entry.name) +
      (opts.arch ? ` for ${opts.arch}` : '');
    throw new VivariumError(
      'NOT_FOUND',
      `The catalogue has no cloud image for ${which}: install it from an ISO (--os ${entry.id} --iso PATH), or give an image with --cloud-image FILE.`,
    );
  }
  const result = await runDownload(
    kit,
    { os: entry.id, version: found.version.id, media: found.media.id },
    { json: Boolean(opts.json), flags: { os: '--cloud', version: '--cloud-version' } },
  );
  return result.file;
}

/** The `cloud` part of the create request, and the OS it implies. */
export async function cloudRequest(
  kit: CliKit,
  opts: CloudOpts,
): Promise<{ cloud: CloudCreate; os?: string }> {
  if (opts.cloudImage !== undefined && opts.cloud !== undefined) {
    throw new UsageError('Give either --cloud OS (from the catalogue) or --cloud-image FILE');
  }
  const defaults = await kit.call('host.guestDefaults', {});
  const keys: string[] = [];
  for (const file of opts.sshKey ?? []) {
    const text = await readFile(resolve(file), 'utf8').catch((err: unknown) => {
      const why = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new UsageError(`Cannot read the SSH key ${file}: ${why}`);
    });
    keys.push(
      ...text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  const image =
    opts.cloud !== undefined
      ? await catalogueImage(kit, opts.cloud, opts)
      : resolve(opts.cloudImage ?? '');
  const cloud: CloudCreate = {
    image,
    user: opts.user ?? defaults.user,
    sshKeys: keys,
    ...(opts.passwordStdin ? { password: await readPasswordFromStdin() } : {}),
    ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
    diskMode: opts.copy ? 'copy' : 'overlay',
  };
  return { cloud, ...(opts.cloud !== undefined ? { os: opts.cloud } : {}) };
}

/** Field names of the cloud request, for error messages that name the flag. */
export const CLOUD_FLAGS: Record<string, string> = {
  cloud: '--cloud-image',
  'cloud.image': '--cloud-image',
  'cloud.user': '--user',
  'cloud.sshKeys': '--ssh-key',
  'cloud.password': '--password-stdin',
  'cloud.hostname': '--hostname',
};

/** What `create` adds to its answer for a ready-to-use guest. */
export function cloudCreatedHint(vm: VmSummary): string {
  const forward = vm.guest?.ssh;
  const name = shellQuote(vm.name);
  return (
    `Start it with: ${PROG} start ${name}\n` +
    `Then log in with: ${PROG} ssh ${name}` +
    (forward ? `   (or: ${forward.command})` : '')
  );
}

interface SshOpts {
  timeout?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until the guest answers over SSH (first boot takes a while), then runs ssh. */
async function cmdSsh(kit: CliKit, ref: string, command: string[], opts: SshOpts): Promise<void> {
  const deadline = Date.now() + (opts.timeout ?? 300) * 1000;
  let vm = await kit.call('vm.get', { vm: ref }, { vm: 'NAME' });
  if (!vm.guest?.ssh) {
    throw new VivariumError(
      'BAD_STATE',
      `"${vm.name}" has no SSH forward to port 22: add one (${PROG} forward ssh ${shellQuote(vm.name)}) or use its console (${PROG} console ${shellQuote(vm.name)}).`,
    );
  }
  let told = false;
  while (!vm.guest?.ready) {
    if (vm.runtime.state !== 'running' && vm.runtime.state !== 'starting') {
      throw new VivariumError(
        'BAD_STATE',
        `"${vm.name}" is ${vm.runtime.state}: start it first (${PROG} start ${shellQuote(vm.name)}).`,
      );
    }
    if (Date.now() > deadline) {
      throw new VivariumError(
        'TIMEOUT',
        `"${vm.name}" did not answer over SSH in ${opts.timeout ?? 300} s: look at its console (${PROG} console ${shellQuote(vm.name)}).`,
      );
    }
    if (!told) {
      process.stderr.write(`Waiting for ${vm.name} to answer over SSH...\n`);
      told = true;
    }
    await sleep(1000);
    vm = await kit.call('vm.get', { vm: vm.id });
  }
  const ssh = vm.guest.ssh;
  if (!ssh) throw new VivariumError('INTERNAL', 'The SSH forward went away');
  const code = await new Promise<number>((done, fail) => {
    const child = spawn('ssh', [...ssh.argv, ...command], { stdio: 'inherit' });
    child.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ENOENT'
          ? new VivariumError(
              'NOT_FOUND',
              'ssh not found: install OpenSSH (Debian/Ubuntu: sudo apt install openssh-client)',
            )
          : err,
      ),
    );
    child.once('exit', (c, signal) => done(c ?? (signal ? 128 : 1)));
  });
  process.exitCode = code;
}

/** `ssh NAME [-- COMMAND...]`. */
export function registerCloudCommands(kit: CliKit): void {
  kit.program
    .command('ssh')
    .description('log in to a VM over SSH (waits for its first boot), or run COMMAND there')
    .argument('<name>')
    .argument('[command...]', 'a command to run in the guest (after --)')
    .option(
      '--timeout <seconds>',
      'how long to wait for the guest to answer (default 300)',
      (v: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0)
          throw new UsageError('The timeout is a number of seconds');
        return n;
      },
    )
    .action(
      kit.run((name: string, command: string[], opts: SshOpts) => cmdSsh(kit, name, command, opts)),
    );
}
