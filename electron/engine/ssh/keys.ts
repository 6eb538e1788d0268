/**
 * SSH keys for cloud guests: OpenSSH public key lines parsed and checked (pure), the user's own
 * `~/.ssh/*.pub` offered, and a key pair made with the host's ssh-keygen for VMs the user did not
 * give a key to.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VivariumError } from '../errors';
import { linuxFamily, readOsRelease, type OsRelease } from '../host/install-hint';
import { runProgram } from '../host/run';

/** Key types a current sshd accepts in authorized_keys. */
export const PUBLIC_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type PublicKeyType = (typeof PUBLIC_KEY_TYPES)[number];

export interface PublicKey {
  type: PublicKeyType;
  /** The base64 blob as given. */
  data: string;
  /** Everything after the blob, trimmed; '' when none. */
  comment: string;
  /** `type data comment`, normalised to single spaces: what goes into authorized_keys. */
  line: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

export type ParsedPublicKey = { ok: true; key: PublicKey } | { ok: false; reason: string };

const MAX_LINE = 16 * 1024;

/** The first string of an SSH wire-format blob (its key type), or null. */
function blobType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return null;
  return blob.toString('latin1', 4, 4 + len);
}

/** Checks one OpenSSH public key line (`type base64 [comment]`). Pure. */
export function parsePublicKey(input: string): ParsedPublicKey {
  const line = input.trim();
  if (!line) return { ok: false, reason: 'The SSH key is empty.' };
  if (/PRIVATE KEY-----|^PuTTY-User-Key-File/m.test(line)) {
    return {
      ok: false,
      reason:
        'This is a private key: never share it. Give the public key instead, the .pub file ' +
        'beside it (for example ~/.ssh/id_ed25519.pub).',
    };
  }
  if (/^---- BEGIN SSH2 PUBLIC KEY ----/.test(line)) {
    return {
      ok: false,
      reason: 'This key is in the SSH2 (RFC 4716) format: convert it with ssh-keygen -i -f FILE.',
    };
  }
  if (/[\r\n]/.test(line)) return { ok: false, reason: 'Give one SSH key per line.' };
  if (line.length > MAX_LINE) return { ok: false, reason: 'The SSH key line is too long.' };
  const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
  const type = m?.[1] ?? line.split(/\s/)[0] ?? '';
  if (type === 'ssh-dss') {
    return {
      ok: false,
      reason:
        'DSA keys are refused by current OpenSSH: make an ed25519 key (ssh-keygen -t ed25519).',
    };
  }
  if (!(PUBLIC_KEY_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      reason:
        'This is not an OpenSSH public key: it should start with ssh-ed25519, ecdsa-sha2-..., ' +
        'ssh-rsa or sk-... (the contents of a .pub file).',
    };
  }
  const data = m?.[2];
  if (!data || !/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) {
    return { ok: false, reason: `The ${type} key's data is not valid base64: was it cut short?` };
  }
  const blob = Buffer.from(data, 'base64');
  if (blobType(blob) !== type) {
    return {
      ok: false,
      reason: `The key's data does not hold a ${type} key: was it cut short or edited?`,
    };
  }
  const comment = (m[3] ?? '').trim();
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return {
    ok: true,
    key: {
      type: type as PublicKeyType,
      data,
      comment,
      line: comment ? `${type} ${data} ${comment}` : `${type} ${data}`,
      fingerprint,
    },
  };
}

export interface UserPublicKey {
  file: string;
  type: PublicKeyType;
  comment: string;
  line: string;
  fingerprint: string;
}

/** The valid public keys in `home`/.ssh/*.pub, files in name order; [] when there is no ~/.ssh. */
export async function listUserPublicKeys(home = homedir()): Promise<UserPublicKey[]> {
  const dir = join(home, '.ssh');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.pub')).sort();
  } catch {
    return [];
  }
  const out: UserPublicKey[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      if (!(await stat(file)).isFile()) continue;
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const raw of text.split(/\r?\n/)) {
      if (!raw.trim() || raw.trim().startsWith('#')) continue;
      const parsed = parsePublicKey(raw);
      if (!parsed.ok) continue;
      const { type, comment, line, fingerprint } = parsed.key;
      out.push({ file, type, comment, line, fingerprint });
    }
  }
  return out;
}

/** What to install when ssh-keygen is missing, per OS. Pure. */
export function sshKeygenMissingMessage(
  platform: NodeJS.Platform,
  osRelease: OsRelease | null,
): string {
  const prefix = 'ssh-keygen was not found: ';
  switch (platform) {
    case 'win32':
      return `${prefix}install OpenSSH (Settings > System > Optional features > OpenSSH Client).`;
    case 'darwin':
      return `${prefix}install OpenSSH (it comes with macOS; or brew install openssh).`;
    case 'freebsd':
    case 'openbsd':
      return `${prefix}install OpenSSH (it is part of the base system).`;
    default:
      switch (linuxFamily(osRelease)) {
        case 'debian':
          return `${prefix}sudo apt install openssh-client`;
        case 'fedora':
          return `${prefix}sudo dnf install openssh-clients`;
        case 'arch':
          return `${prefix}sudo pacman -S openssh`;
        case 'suse':
          return `${prefix}sudo zypper install openssh-clients`;
        case 'alpine':
          return `${prefix}sudo apk add openssh-client`;
        default:
          return `${prefix}install OpenSSH's client tools (openssh-client).`;
      }
  }
}

export interface GeneratedKeyPair {
  privateKeyFile: string;
  /** The public key line (also in `${privateKeyFile}.pub`). */
  publicKey: string;
}

/**
 * Makes an ed25519 key pair without a passphrase in `dir` (created 0700) as `id_ed25519` and
 * `id_ed25519.pub`, both 0600. Refuses to replace an existing key.
 */
export async function generateKeyPair(
  dir: string,
  comment: string,
  opts: { sshKeygen?: string; timeoutMs?: number } = {},
): Promise<GeneratedKeyPair> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const privateKeyFile = join(dir, 'id_ed25519');
  const exists = await stat(privateKeyFile).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new VivariumError(
      'BAD_STATE',
      `${privateKeyFile} already exists: remove it first, or use the key that is there.`,
    );
  }
  const result = await runProgram(
    opts.sshKeygen ?? 'ssh-keygen',
    ['-t', 'ed25519', '-N', '', '-q', '-C', comment, '-f', privateKeyFile],
    { timeoutMs: opts.timeoutMs ?? 30_000 },
  );
  if (result.spawnError) {
    if (result.spawnError.code === 'ENOENT') {
      throw new VivariumError(
        'FILE_NOT_FOUND',
        sshKeygenMissingMessage(process.platform, await readOsRelease()),
      );
    }
    throw new VivariumError(
      'INTERNAL',
      `ssh-keygen could not be started: ${result.spawnError.message}`,
    );
  }
  if (result.timedOut) throw new VivariumError('TIMEOUT', 'ssh-keygen did not finish in time.');
  if (result.code !== 0) {
    const detail = result.stderr.trim() || `exit code ${String(result.code)}`;
    throw new VivariumError('INTERNAL', `ssh-keygen failed making a key in ${dir}: ${detail}`);
  }
  await chmod(privateKeyFile, 0o600);
  await chmod(`${privateKeyFile}.pub`, 0o600);
  const parsed = parsePublicKey(await readFile(`${privateKeyFile}.pub`, 'utf8'));
  if (!parsed.ok)
    throw new VivariumError('INTERNAL', `ssh-keygen wrote an unreadable key: ${parsed.reason}`);
  return { privateKeyFile, publicKey: parsed.key.line };
}
